// `gtn nas` end to end: rank with a ground-truth report (in-process and with worker processes), search with its
// JSON result and resumption, subsets, and clear errors for bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { canonicalArch, enumerateCells } from '../../src/nas/space.js';
import { seenCells } from '../../src/nas/proxies/index.js';
import { meanRanks, spearman } from '../../src/nas/rankStats.js';
import { formatCell } from '../../src/models/index.js';

const root = new URL('../../../', import.meta.url).pathname;
const bin = join(root, 'bin', 'gtn.js');
const work = mkdtempSync(join(tmpdir(), 'gtn-nas-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const env = { ...process.env, GTN_THREADS: '1' };
const gtn = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
const jsonLines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

// A made-up ground truth over 60 cells: accuracy grows with the number of conv3x3 edges (params ranks it well).
const cells = enumerateCells().filter((_, i) => i % 260 === 7).map(formatCell);
const truth = join(work, 'truth.csv');
writeFileSync(truth, `index,arch_str,valid_accuracy_200ep,test_accuracy_200ep,test_accuracy_12ep\n${cells.map((c, i) => `${i},${c},${50 + 5 * (c.split('nor_conv_3x3').length - 1) + i / 100},${50 + 5 * (c.split('nor_conv_3x3').length - 1) + i / 100},40`).join('\n')}\n`);
const archs = join(work, 'archs.txt');
writeFileSync(archs, `${cells.join('\n')}\n`);

describe('gtn nas', () => {
  it('rank --json: a line per cell and the rank statistics last', () => {
    const r = gtn('nas', 'rank', '--archs', truth, '--proxy', 'params', '--truth', truth, '--json');
    assert.equal(r.status, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    assert.equal(lines.length, cells.length + 1);
    for (const l of lines.slice(0, -1)) assert.deepEqual(Object.keys(l).slice(0, 3), ['arch', 'score', 'seconds']);
    const last = lines[lines.length - 1];
    assert.equal(last.n, cells.length);
    assert.ok((last.spearman as number) > 0.6, `params should rank this truth well: ${last.spearman}`);
    for (const k of ['kendall', 'top10_precision']) assert.equal(typeof last[k], 'number');
  });

  it('rank with a vote: the members\' scores per cell, the statistics of their mean rank; no queue', () => {
    const r = gtn('nas', 'rank', '--archs', archs, '--proxy', 'params+synflow,cells=2', '--channels', '2', '--truth', truth, '--json');
    assert.equal(r.status, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    const rows = lines.slice(0, -1) as { arch: string; parts: number[] }[];
    assert.equal(rows.length, cells.length);
    for (const l of rows) assert.equal(l.parts.length, 2);
    const acc = rows.map((l) => 50 + 5 * (l.arch.split('nor_conv_3x3').length - 1) + cells.indexOf(l.arch) / 100);
    const expected = spearman(meanRanks([0, 1].map((j) => rows.map((l) => l.parts[j]))), acc);
    assert.ok(Math.abs((lines.at(-1)!.spearman as number) - expected) < 1e-12, `${lines.at(-1)!.spearman} vs ${expected}`);
    assert.equal(lines.at(-1)!.proxy, 'params+synflow');
    const q = gtn('nas', 'rank', '--archs', archs, '--proxy', 'params+nwot', '--queue', 'redis://127.0.0.1:1');
    assert.notEqual(q.status, 0);
    assert.match(q.stderr, /--queue scores single proxies/);
  });

  it('train --hold-out keeps those networks out of random-cell sampling, and needs random-cell sampling', () => {
    const first = join(work, 'teacher-all');
    const a = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '4', '--eval-every', '100', '--out', first, '--quiet');
    assert.equal(a.status, 0, a.stderr);
    const drawn = [...seenCells(first)];
    assert.ok(drawn.length >= 3, `the first run drew ${drawn.length} cells`);
    const held = join(work, 'held.txt');
    writeFileSync(held, `${drawn.join('\n')}\n`);
    const second = join(work, 'teacher-held');
    const b = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '4', '--eval-every', '100', '--hold-out', held, '--out', second, '--quiet');
    assert.equal(b.status, 0, b.stderr);
    const heldForms = new Set(drawn.map(canonicalArch));
    const again = [...seenCells(second)];
    assert.equal(again.length, drawn.length);
    for (const c of again) assert.ok(!heldForms.has(canonicalArch(c)), `${c} is a held-out network`);
    assert.deepEqual(JSON.parse(readFileSync(join(second, 'config.json'), 'utf8')).heldOutCells, drawn.map((c) => c));
    const fixed = gtn('train', '--dataset', 'cifar10', '--preset', 'tiny', '--iterations', '1', '--hold-out', held, '--out', join(work, 'x'), '--quiet');
    assert.equal(fixed.status, 2, fixed.stderr);
    assert.match(fixed.stderr, /--hold-out needs random-cell sampling/);
    const bad = join(work, 'bad.txt');
    writeFileSync(bad, '|conv~0|\n');
    const b2 = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--hold-out', bad, '--out', join(work, 'y'), '--quiet');
    assert.equal(b2.status, 2);
    assert.match(b2.stderr, /bad\.txt:1/);
  });

  it('train --init-from: a longer teacher from a trained one; the cells both drew count as seen', () => {
    const first = join(work, 'teacher-all');
    const longer = join(work, 'teacher-longer');
    const r = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--steps', '8', '--iterations', '2', '--seed', '7', '--eval-every', '100', '--init-from', first, '--out', longer, '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(longer, 'config.json'), 'utf8')).initFrom, first);
    const seen = seenCells(longer);
    for (const c of seenCells(first)) assert.ok(seen.has(c), `${c} (drawn by the run it started from) counts as seen`);
    const odd = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--steps', '6', '--init-from', first, '--out', join(work, 'odd'), '--quiet');
    assert.equal(odd.status, 2);
    assert.match(odd.stderr, /--init-from .*teacher-all: this run's 6 inner steps are not a multiple of its 4/);
    const mnist = gtn('train', '--preset', 'tiny', '--init-from', first, '--out', join(work, 'mnist'), '--quiet');
    assert.equal(mnist.status, 2);
    assert.match(mnist.stderr, /--init-from .*teacher-all: that run is a gtn teacher for cifar10; this one is a gtn teacher for mnist/);
    const none = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--init-from', join(work, 'nowhere'), '--out', join(work, 'z'), '--quiet');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /nowhere is not a run folder/);
  });

  it('train --reduction pool: every learner drawn has parameter-free reductions; resnet leaves the spec as it was', () => {
    const run = join(work, 'teacher-pool');
    const r = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '2', '--eval-every', '100', '--reduction', 'pool', '--out', run, '--quiet');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).learner.reduction, 'pool');
    const iterations = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'iteration');
    assert.equal(iterations.length, 2);
    for (const l of iterations) assert.equal(l.learner.reduction, 'pool', JSON.stringify(l.learner));
    const plain = join(work, 'teacher-resnet');
    const p = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '1', '--eval-every', '100', '--reduction', 'resnet', '--out', plain, '--quiet');
    assert.equal(p.status, 0, p.stderr);
    assert.ok(!('reduction' in JSON.parse(readFileSync(join(plain, 'config.json'), 'utf8')).learner), 'resnet is the default: no field');
    const bad = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--reduction', 'max', '--out', join(work, 'r1'), '--quiet');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--reduction must be one of resnet, pool; got 'max'/);
    const conv = gtn('train', '--dataset', 'cifar10', '--preset', 'tiny', '--reduction', 'pool', '--out', join(work, 'r2'), '--quiet');
    assert.equal(conv.status, 2);
    assert.match(conv.stderr, /--reduction needs an nb201 learner/);
  });

  it('train --rank-targets: learners come from the scored pool, weighted; the pool counts as seen', () => {
    const log = join(work, 'pool.jsonl');
    const r = gtn('nas', 'rank', '--archs', archs, '--proxy', 'params', '--out', log);
    assert.equal(r.status, 0, r.stderr);
    const scored = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { arch: string; score: number });
    const run = join(work, 'teacher-ranked');
    const t = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '3', '--eval-every', '100', '--rank-targets', log, '--rank-weight', '0.5', '--out', run, '--quiet');
    assert.equal(t.status, 0, t.stderr);
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    assert.equal(cfg.rankWeight, 0.5);
    assert.deepEqual(cfg.rankTargets.map((p: { cell: string }) => p.cell), scored.map((s) => s.arch));
    const pool = new Set(scored.map((s) => s.arch));
    const iterations = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'iteration');
    assert.equal(iterations.length, 3);
    for (const l of iterations) {
      assert.ok(pool.has(l.learner.cell), `${l.learner.cell} is a pool cell`);
      assert.equal(typeof l.weight, 'number');
    }
    assert.equal(seenCells(run).size, pool.size, 'every pool cell counts as seen, drawn or not');
    // Held-out networks leave the pool (said on stderr); a pool of held-out networks only is refused.
    const held = join(work, 'held-pool.txt');
    writeFileSync(held, `${scored.slice(0, 10).map((s) => s.arch).join('\n')}\n`);
    const part = join(work, 'teacher-part');
    const p = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '1', '--eval-every', '100', '--rank-targets', log, '--hold-out', held, '--out', part, '--quiet');
    assert.equal(p.status, 0, p.stderr);
    const heldNets = new Set(scored.slice(0, 10).map((s) => canonicalArch(s.arch)));
    const kept = JSON.parse(readFileSync(join(part, 'config.json'), 'utf8')).rankTargets as { cell: string }[];
    assert.equal(kept.length, scored.filter((s) => !heldNets.has(canonicalArch(s.arch))).length);
    for (const k of kept) assert.ok(!heldNets.has(canonicalArch(k.cell)), `${k.cell} is held out`);
    assert.match(p.stderr, new RegExp(`--rank-targets: ${scored.length - kept.length} of ${scored.length} cells are networks held out`));
    const leak = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--rank-targets', log, '--hold-out', archs, '--out', join(work, 'leak'), '--quiet');
    assert.equal(leak.status, 2);
    assert.match(leak.stderr, /every one of its \d+ cells is a network held out by --hold-out/);
    const lone = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--rank-weight', '2', '--out', join(work, 'lone'), '--quiet');
    assert.equal(lone.status, 2);
    assert.match(lone.stderr, /--rank-weight needs --rank-targets/);
    // Pairwise: two pool cells of different scores per iteration, the better one said, the order loss logged.
    const paired = join(work, 'teacher-paired');
    const q = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '3', '--eval-every', '100', '--rank-targets', log, '--rank-loss', 'pairwise', '--rank-temperature', '0.2', '--out', paired, '--quiet');
    assert.equal(q.status, 0, q.stderr);
    const pcfg = JSON.parse(readFileSync(join(paired, 'config.json'), 'utf8'));
    assert.equal(pcfg.rankLoss, 'pairwise');
    assert.equal(pcfg.rankTemperature, 0.2);
    const score = new Map(scored.map((s) => [s.arch, s.score]));
    const pairs = readFileSync(join(paired, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.kind === 'iteration');
    assert.equal(pairs.length, 3);
    for (const l of pairs) {
      const [sa, sb] = [score.get(l.learner.cell), score.get(l.learnerB.cell)];
      assert.ok(sa !== undefined && sb !== undefined && sa !== sb, `${l.learner.cell} / ${l.learnerB.cell}: two pool cells of different scores`);
      assert.equal(l.aBetter, sa! > sb!);
      assert.ok(Number.isFinite(l.rankLoss) && l.rankLoss > 0);
      assert.equal(typeof l.ordered, 'boolean');
    }
    const bad = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--rank-loss', 'pairwise', '--out', join(work, 'bad-pair'), '--quiet');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--rank-loss needs --rank-targets/);
    // --rank-top: one cell of every pair (the first) is among the pool's best quarter.
    const topped = join(work, 'teacher-top');
    const qt = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '3', '--eval-every', '100', '--rank-targets', log, '--rank-loss', 'pairwise', '--rank-top', '0.25', '--out', topped, '--quiet');
    assert.equal(qt.status, 0, qt.stderr);
    const tcfg = JSON.parse(readFileSync(join(topped, 'config.json'), 'utf8'));
    assert.equal(tcfg.rankTopFraction, 0.25);
    const poolScores = (tcfg.rankTargets as { score: number }[]).map((t) => t.score).sort((x, y) => y - x);
    const cut = poolScores[Math.round(0.25 * poolScores.length) - 1];
    for (const l of readFileSync(join(topped, 'metrics.jsonl'), 'utf8').trim().split('\n').map((x) => JSON.parse(x)).filter((x) => x.kind === 'iteration'))
      assert.ok(score.get(l.learner.cell)! >= cut, `${l.learner.cell} is not among the best quarter of the pool`);
    const weightedTop = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--rank-targets', log, '--rank-top', '0.5', '--out', join(work, 'bad-top'), '--quiet');
    assert.equal(weightedTop.status, 2);
    assert.match(weightedTop.stderr, /rankTopFraction applies to rankLoss 'pairwise' only/);
    const badTop = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--rank-targets', log, '--rank-loss', 'pairwise', '--rank-top', '1.5', '--out', join(work, 'bad-top2'), '--quiet');
    assert.equal(badTop.status, 2);
    assert.match(badTop.stderr, /rankTopFraction/);
  });

  it('rank with a GTN teacher in two worker processes, logged and resumable', () => {
    const teacher = join(work, 'teacher');
    const t = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '2', '--out', teacher, '--quiet');
    assert.equal(t.status, 0, t.stderr);
    const few = join(work, 'few.txt');
    writeFileSync(few, `${cells.slice(0, 5).join('\n')}\n`);
    const log = join(work, 'rank.jsonl');
    const args = ['nas', 'rank', '--archs', few, '--proxy', `gtn:${teacher}`, '--steps', '2,4', '--val-images', '100', '--out', log, '--workers', '2', '--include-seen', '--json'];
    const r = gtn(...args);
    assert.equal(r.status, 0, r.stderr);
    const lines = jsonLines(r.stdout);
    assert.equal(lines.length, 5);
    for (const l of lines) assert.deepEqual((l.by_steps as { steps: number }[]).map((s) => s.steps), [2, 4]);
    assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 5);
    const again = gtn(...args);
    assert.deepEqual(jsonLines(again.stdout).map((l) => [l.arch, l.score]).sort(), lines.map((l) => [l.arch, l.score]).sort());
    assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, 5, 'nothing re-scored');
  });

  it('search --json ends with the result; rerunning resumes from the log', () => {
    const out = join(work, 'search');
    const args = ['nas', 'search', '--strategy', 'evolution', '--proxy', 'params', '--budget-evals', '25', '--population', '5', '--tournament', '2', '--pool', archs, '--out', out, '--truth', truth, '--json'];
    const r = gtn(...args);
    assert.equal(r.status, 0, r.stderr);
    const res = jsonLines(r.stdout).pop()!;
    for (const k of ['best_arch', 'best_score', 'evaluations', 'seconds', 'best_test_accuracy']) assert.ok(k in res, `missing ${k}`);
    assert.equal(res.evaluations, 25);
    const more = gtn(...args.map((a) => (a === '25' ? '30' : a)));
    const lines = jsonLines(more.stdout);
    assert.equal(lines.filter((l) => l.replayed === true).length, 25);
    assert.equal(lines.pop()!.evaluations, 30);
  });

  it('subset writes cell strings only, stratified over accuracy', () => {
    const out = join(work, 'subset.txt');
    const r = gtn('nas', 'subset', '--from', truth, '--n', '10', '--seed', '1', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, 10);
    for (const l of lines) assert.ok(cells.includes(l));
  });

  it('subset --min-accuracy draws from the top of the ground truth only', () => {
    const out = join(work, 'subset-top.txt');
    const acc = new Map(readFileSync(truth, 'utf8').trim().split('\n').slice(1).map((l) => [l.split(',')[1], Number(l.split(',')[3])] as const));
    const top = [...acc.values()].filter((a) => a >= 60).length;
    assert.ok(top >= 5 && top < cells.length, `${top} cells at or above 60`);
    const r = gtn('nas', 'subset', '--from', truth, '--n', String(top), '--min-accuracy', '60', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(new Set(lines).size, top);
    for (const l of lines) assert.ok(acc.get(l)! >= 60, `${l} is under the floor`);
    assert.match(gtn('nas', 'subset', '--from', truth, '--n', String(top + 1), '--min-accuracy', '60', '--out', out).stderr, new RegExp(`cannot draw ${top + 1} cells from ${top}`));
    assert.match(gtn('nas', 'subset', '--n', '3', '--min-accuracy', '60', '--out', out).stderr, /--min-accuracy needs --from/);
    assert.match(gtn('nas', 'subset', '--from', truth, '--n', '3', '--min-accuracy', 'high', '--out', out).stderr, /--min-accuracy/);
  });

  it('subset --exclude leaves out networks, not only strings', () => {
    // Another spelling of each of the first cells that has one (same network, different string).
    const all = enumerateCells().map(formatCell);
    const twins = cells.slice(0, 20).map((c) => all.find((a) => a !== c && canonicalArch(a) === canonicalArch(c))).filter((a): a is string => !!a);
    assert.ok(twins.length >= 5, `${twins.length} twins`);
    const ex = join(work, 'twins.txt');
    writeFileSync(ex, `${twins.join('\n')}\n`);
    const gone = new Set(twins.map(canonicalArch));
    const left = cells.filter((c) => !gone.has(canonicalArch(c))).length;
    const out = join(work, 'subset-ex.txt');
    const r = gtn('nas', 'subset', '--from', truth, '--n', String(left), '--exclude', ex, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, left);
    for (const l of lines) assert.ok(!gone.has(canonicalArch(l)), `${l} is the network of an excluded cell`);
    assert.match(gtn('nas', 'subset', '--from', truth, '--n', String(left + 1), '--exclude', ex, '--out', out).stderr, new RegExp(`cannot draw ${left + 1} cells from ${left}`));
  });

  it('subset without --from: random networks of the whole space, the --sample stream less the excluded networks', () => {
    const sampled = join(work, 'sampled.jsonl');
    assert.equal(gtn('nas', 'rank', '--sample', '40', '--seed', '5', '--proxy', 'params', '--out', sampled).status, 0);
    const stream = readFileSync(sampled, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { arch: string }).arch);
    const ex1 = join(work, 'ex1.txt');
    const ex2 = join(work, 'ex2.txt');
    writeFileSync(ex1, `${stream.filter((_, i) => i % 3 === 0).join('\n')}\n`);
    writeFileSync(ex2, `${cells.join('\n')}\n`);
    const gone = new Set([...stream.filter((_, i) => i % 3 === 0), ...cells].map(canonicalArch));
    const out = join(work, 'pool.txt');
    const r = gtn('nas', 'subset', '--n', '20', '--seed', '5', '--exclude', ex1, '--exclude', ex2, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const pool = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(pool.length, 20);
    assert.equal(new Set(pool.map(canonicalArch)).size, 20, 'distinct networks');
    for (const c of pool) assert.ok(!gone.has(canonicalArch(c)), `${c} is an excluded network`);
    // The kept cells of the --sample stream come first, in its order.
    const kept = stream.filter((c) => !gone.has(canonicalArch(c)));
    assert.deepEqual(pool.slice(0, Math.min(20, kept.length)), kept.slice(0, 20));
    assert.match(gtn('nas', 'subset', '--n', '4930', '--exclude', ex2, '--out', out).stderr, /--n 4930: the space has \d+ distinct networks outside the excluded ones/);
  });

  it('bad input: file and line, option names, no stack traces', () => {
    const bad = join(work, 'bad.txt');
    writeFileSync(bad, `${cells[0]}\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|conv~2|\n`);
    const r = gtn('nas', 'rank', '--archs', bad, '--proxy', 'params');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.txt:2: cell .* edge 2->3 has unknown op 'conv'/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
    assert.match(gtn('nas', 'search', '--strategy', 'greedy', '--proxy', 'params', '--budget-evals', '1').stderr, /--strategy must be one of random, evolution/);
    assert.match(gtn('nas', 'search', '--strategy', 'random', '--proxy', 'params').stderr, /give a budget/);
    assert.match(gtn('nas', 'rank', '--sample', '3', '--proxy', 'gtn:/no/such/run').stderr, /is not a run folder/);
    assert.match(gtn('nas', 'rank', '--space', 'darts', '--sample', '3', '--proxy', 'params').stderr, /--space must be nb201/);
  });
});
