// `gtn nas`: architecture search on the NAS-Bench-201 space — rank cells with a proxy, search, and set up
// measurement subsets from a ground-truth file.
import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GtnError } from '../../errors.js';
import { formatCell, parseCell, type Cell } from '../../models/index.js';
import { readArchs } from '../../nas/archFile.js';
import { makeEvaluator, type Evaluator } from '../../nas/evaluator.js';
import { buildProxy, parseProxy, proxyLabel, proxyRuns, seenCells, type ProxyResult, type ProxySpec, type ScoreKind } from '../../nas/proxies/index.js';
import { correlations, proxyKey, rankCells } from '../../nas/rank.js';
import { recordRankLog, recordSearch } from '../../records/index.js';
import { STRATEGIES, runSearch, type SearchSettings, type Strategy } from '../../nas/search.js';
import { SPACE_SIZE, canonicalArch, canonicalCell, enumerateCells, sampleCell } from '../../nas/space.js';
import { readTruth, stratifiedSample } from '../../nas/truth.js';
import { Rng } from '../../tensor/index.js';
import { parseIntOption, parseNumberOption } from '../options.js';

interface ProxyFlags {
  proxy: string;
  steps?: string;
  score?: string;
  channels?: number;
  cells?: number;
  reduction?: string;
  valImages?: number;
  proxySeed?: number;
  lr?: number;
  momentum?: number;
  batch?: number;
  bnCalibration?: number;
  pastTeacher?: string;
}

function proxyOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--proxy <name>', "gtn:RUN (a teacher run folder; RUN1:RUN2 their curricula in turn) | real | params | synflow | nwot | meco | a vote P1+P2[+...] (a member's own options after it: 'gtn:RUN,channels=4,cells=5+nwot')")
    .option('--steps <list>', 'training proxies: steps k, or a list (16,32,64,128) scored in one training run; the last is the score')
    .option('--score <kind>', 'training proxies: val-acc | val-loss | train-loss (default val-acc)')
    .option('--channels <n>', 'network channels C of the scored network (default: the teacher\'s, else 8)', parseIntOption('--channels'))
    .option('--cells <n>', 'cells per stage N of the scored network (default: the teacher\'s, else 1)', parseIntOption('--cells'))
    .option('--reduction <kind>', "blocks between the scored network's stages: resnet (NAS-Bench-201's residual block; the default, or the teacher's) | pool (parameter-free: every trainable layer between stem and head is in the cells)")
    .option('--val-images <n>', 'training proxies: validation images per score (default 1000)', parseIntOption('--val-images'))
    .option('--proxy-seed <n>', 'seed of the scored networks\' initialisation (default 0)', parseIntOption('--proxy-seed'))
    .option('--lr <x>', 'real proxy: SGD learning rate (default 0.1)', parseNumberOption('--lr'))
    .option('--momentum <x>', 'real proxy: SGD momentum (default 0.9)', parseNumberOption('--momentum'))
    .option('--batch <n>', 'real proxy: batch size (default 64)', parseIntOption('--batch'))
    .option('--bn-calibration <n>', 'training proxies: score with BN statistics of n real training images (default 0: the last training batch\'s)', parseIntOption('--bn-calibration'))
    .option('--past-teacher <mode>', "gtn proxy, steps past the teacher's T: replay (its curriculum again, the default) | fresh (its generator on fresh noise) | flip (the curriculum again, images mirrored at random) | augment (again, randomly shifted and mirrored as CIFAR's augmentation)");
}

/** Where candidates are scored besides this machine: a BullMQ queue and how many of its jobs to keep in flight. */
function queueOptions(cmd: Command, parallel: number, what: string): Command {
  return cmd
    .option('--queue <url>', 'score on `gtn worker` processes through this queue (redis://HOST:PORT) instead of here')
    .option('--parallel <n>', `with --queue: ${what}`, parseIntOption('--parallel'), parallel);
}

function proxySpec(f: ProxyFlags): ProxySpec {
  const steps = f.steps?.split(',').map(Number);
  return parseProxy(f.proxy, {
    steps,
    score: f.score as ScoreKind | undefined,
    channels: f.channels,
    cells: f.cells,
    reduction: f.reduction as ProxySpec['reduction'],
    valImages: f.valImages,
    seed: f.proxySeed,
    lr: f.lr,
    momentum: f.momentum,
    batch: f.batch,
    bnCalibration: f.bnCalibration,
    pastTeacher: f.pastTeacher as ProxySpec['pastTeacher'],
  });
}

function checkSpace(space: string): void {
  if (space !== 'nb201') throw new GtnError(`--space must be nb201 (the NAS-Bench-201 cell space), got '${space}'`);
}

/** The number of distinct networks of the space (isomorphic cells merged). */
let distinct: number | undefined;
const distinctNetworks = (): number => (distinct ??= new Set(enumerateCells().map(canonicalCell)).size);

/**
 * `n` random cells of distinct canonical forms, none of them a network in `exclude` (canonical forms). Excluding
 * networks while drawing keeps the draws of the rest: the list is the unexcluded networks of the same stream.
 */
function sampleCells(n: number, seed: number, exclude: ReadonlySet<string> = new Set(), what = '--sample'): Cell[] {
  const available = distinctNetworks() - exclude.size;
  if (n > available) throw new GtnError(`${what} ${n}: the space has ${available} distinct networks${exclude.size ? ' outside the excluded ones' : ''}`);
  const rng = Rng.seeded(seed).fork('sample');
  const seen = new Set<string>(exclude);
  const out: Cell[] = [];
  while (out.length < n) {
    const c = sampleCell(rng);
    const key = canonicalCell(c);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(c);
  }
  return out;
}

/** The BullMQ client, loaded only when --queue is given (it is not needed otherwise). */
async function queueEvaluator(spec: ProxySpec, url: string, parallel: number): Promise<Evaluator> {
  if (spec.kind === 'vote') throw new GtnError('--queue scores single proxies: run a vote (P1+P2) without --queue, with --workers for local processes');
  const { makeQueueEvaluator } = await import('../../queue/index.js');
  return makeQueueEvaluator(spec, url, { parallel });
}

const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : String(x));

/** A result's score as printed: a vote's members' scores (its own score is relative to other cells). */
const shownScore = (r: Pick<ProxyResult, 'score' | 'parts'>) => (r.parts ? r.parts.map((x) => f3(x ?? Number.NEGATIVE_INFINITY)).join(' ') : f3(r.score));

export function registerNasCommand(program: Command): void {
  const nas = program.command('nas').description('architecture search on the NAS-Bench-201 cell space');

  nas
    .command('space')
    .description('the size of the space and its number of distinct networks')
    .option('--space <name>', 'nb201', 'nb201')
    .option('--json', 'one JSON object')
    .action((f: { space: string; json?: boolean }) => {
      checkSpace(f.space);
      const distinct = distinctNetworks();
      if (f.json) console.log(JSON.stringify({ space: f.space, cells: SPACE_SIZE, distinct }));
      else console.log(`nb201: ${SPACE_SIZE} cells, ${distinct} distinct networks (isomorphic cells merged)`);
    });

  queueOptions(proxyOptions(
    nas
      .command('rank')
      .description('score cells with a proxy; with --truth, the rank correlation with their true accuracy')
      .option('--space <name>', 'nb201', 'nb201')
      .option('--archs <file>', 'one cell string per line, or a CSV with an arch_str column')
      .option('--sample <n>', 'or: n random cells (distinct networks)', parseIntOption('--sample'))
      .option('--seed <n>', 'seed of --sample', parseIntOption('--seed'), 0),
  ), 64, 'evaluations kept in flight')
    .option('--truth <csv>', 'ground truth (arch_str, valid/test_accuracy_200ep): read for the report only')
    .option('--out <file>', 'log of scored cells (JSON lines); a rerun skips the cells already in it')
    .option('--workers <n>', 'scoring processes (default 1: in this process)', parseIntOption('--workers'), 1)
    .option('--include-seen', 'gtn proxy: also score cells the teacher was meta-trained with (skipped by default)')
    .option('--json', 'a JSON line per cell, and with --truth a last line of rank statistics')
    .action(async (f: ProxyFlags & { space: string; archs?: string; sample?: number; seed: number; truth?: string; out?: string; workers: number; queue?: string; parallel: number; includeSeen?: boolean; json?: boolean }) => {
      checkSpace(f.space);
      if (!f.archs === (f.sample === undefined)) throw new GtnError('give either --archs FILE or --sample N');
      const spec = proxySpec(f);
      let cells = f.archs ? readArchs(f.archs) : sampleCells(f.sample!, f.seed);
      const runs = proxyRuns(spec);
      if (runs.length && !f.includeSeen) {
        const seen = new Set(runs.flatMap((run) => [...seenCells(run)]).map((a) => canonicalCell(parseCell(a))));
        const before = cells.length;
        cells = cells.filter((c) => !seen.has(canonicalCell(c)));
        if (cells.length < before) console.error(`skipping ${before - cells.length} cell(s) the teacher was meta-trained with (--include-seen scores them)`);
      }
      const truth = f.truth ? readTruth(f.truth) : null;
      const evaluator = f.queue ? await queueEvaluator(spec, f.queue, f.parallel) : await makeEvaluator(spec, f.workers);
      let done = 0;
      const { records, failure } = await rankCells(cells, spec, evaluator, {
        log: f.out,
        onRecord: (r, fresh) => {
          done++;
          if (f.json) console.log(JSON.stringify({ arch: r.arch, score: r.score, seconds: r.seconds, ...(r.bySteps ? { by_steps: r.bySteps } : {}), ...(r.parts ? { parts: r.parts } : {}) }));
          else console.log(`${String(done).padStart(5)}/${cells.length} ${shownScore(r).padStart(10)} ${r.seconds.toFixed(2).padStart(7)}s ${fresh ? '' : '(logged) '}${r.arch}`);
        },
      }).finally(() => evaluator.close());
      if (f.out) recordRankLog(null, f.out, { proxyKey: proxyKey(spec), proxy: spec, truth: f.truth });
      // Cells that could not be scored are reported after the statistics of those that were.
      const reportFailure = () => {
        if (failure) throw new GtnError(`${cells.length - records.length} of ${cells.length} cell(s) could not be scored: ${(failure as Error).message}`);
      };
      if (!truth) return reportFailure();
      const { main, bySteps } = correlations(records, truth);
      if (main.n < records.length) console.error(`${records.length - main.n} cell(s) are not in ${f.truth} and are left out of the statistics`);
      for (const c of bySteps) console.error(`${proxyLabel(spec)}@${c.steps} ${c.score.padEnd(10)} spearman ${f3(c.spearman)} kendall ${f3(c.kendall)} top10 ${f3(c.top10_precision)} (${c.seconds.toFixed(2)} s/cell, n=${c.n})`);
      const line = { spearman: main.spearman, kendall: main.kendall, top10_precision: main.top10_precision, n: main.n, seconds_per_cell: main.seconds, proxy: proxyLabel(spec), by_steps: bySteps };
      if (f.json) console.log(JSON.stringify(line));
      else console.log(`spearman ${f3(main.spearman)}  kendall ${f3(main.kendall)}  top-10% precision ${f3(main.top10_precision)}  n=${main.n}  ${main.seconds.toFixed(2)} s/cell`);
      reportFailure();
    });

  queueOptions(proxyOptions(
    nas
      .command('search')
      .description('search the space with a proxy (random search or regularised evolution); resumable')
      .option('--space <name>', 'nb201', 'nb201')
      .requiredOption('--strategy <name>', STRATEGIES.join(' | '))
      .option('--budget-evals <n>', 'stop after this many proxy evaluations', parseIntOption('--budget-evals'))
      .option('--budget-minutes <m>', 'stop after this much wall time', parseNumberOption('--budget-minutes'))
      .option('--seed <n>', 'search seed', parseIntOption('--seed'), 0),
  ), 4, 'candidates in flight, about the number of workers')
    .option('--population <n>', 'evolution: population size', parseIntOption('--population'), 20)
    .option('--tournament <n>', 'evolution: tournament size', parseIntOption('--tournament'), 5)
    .option('--pool <file>', 'restrict candidates to these cells (e.g. those with known true accuracy)')
    .option('--out <dir>', 'search folder (settings + evaluation log); rerunning with it resumes the search')
    .option('--workers <n>', 'scoring processes: evolution becomes asynchronous (a child per finished evaluation)', parseIntOption('--workers'), 1)
    .option('--truth <csv>', 'ground truth: the true accuracy of the found cell, for the report only')
    .option('--json', 'JSON lines: one per evaluation, then the result')
    .action(async (f: ProxyFlags & { space: string; strategy: string; budgetEvals?: number; budgetMinutes?: number; seed: number; population: number; tournament: number; pool?: string; out?: string; truth?: string; workers: number; queue?: string; parallel: number; json?: boolean }) => {
      checkSpace(f.space);
      if (!(STRATEGIES as readonly string[]).includes(f.strategy)) throw new GtnError(`--strategy must be one of ${STRATEGIES.join(', ')}; got '${f.strategy}'`);
      if (f.budgetEvals === undefined && f.budgetMinutes === undefined) throw new GtnError('give a budget: --budget-evals N or --budget-minutes M');
      if (f.population < 1 || f.tournament < 1) throw new GtnError('--population and --tournament must be at least 1');
      const spec = proxySpec(f);
      const proxy = await buildProxy(spec);
      const evaluator = f.queue ? await queueEvaluator(spec, f.queue, f.parallel) : f.workers > 1 ? await makeEvaluator(spec, f.workers) : null;
      const settings: SearchSettings = {
        space: 'nb201',
        strategy: f.strategy as Strategy,
        seed: f.seed,
        population: f.population,
        tournament: f.tournament,
        pool: f.pool ? readArchs(f.pool).map(formatCell) : undefined,
        proxy: { kind: proxy.kind, settings: proxy.settings },
      };
      const dir = f.out ?? join('runs', `search-${f.strategy}-${spec.kind}-seed${f.seed}`);
      const truth = f.truth ? readTruth(f.truth) : null;
      const res = await runSearch(dir, settings, { evaluations: f.budgetEvals, minutes: f.budgetMinutes }, {
        score: evaluator ? (c) => evaluator.score(c) : async (c) => proxy.score(c),
        parallel: evaluator?.parallel ?? 1,
        onRecord: (r, replayed) => {
          if (f.json) console.log(JSON.stringify({ ...r, replayed }));
          else if (!replayed) console.error(`${String(r.n).padStart(5)} ${shownScore(r).padStart(10)} ${r.seconds.toFixed(2).padStart(6)}s ${Math.round(r.elapsed)}s ${r.reused ? '(isomorphic: score reused) ' : ''}${r.arch}`);
        },
      }).finally(() => evaluator?.close());
      recordSearch(null, dir, { truth: f.truth });
      const t = truth?.get(res.best_arch);
      const out = {
        best_arch: res.best_arch,
        best_score: res.best_score,
        evaluations: res.evaluations,
        seconds: res.seconds,
        search: dir,
        ...(truth ? { best_test_accuracy: t?.test200 ?? null, best_valid_accuracy: t?.valid200 ?? null } : {}),
      };
      console.log(f.json ? JSON.stringify(out) : `best ${out.best_arch} score ${f3(out.best_score)} after ${out.evaluations} evaluations, ${Math.round(out.seconds)} s${t ? `; true test accuracy ${t.test200.toFixed(2)}%` : ''}`);
    });

  nas
    .command('subset')
    .description('a measurement subset of a ground-truth file (cell strings only, stratified over accuracy), or without --from random cells of the whole space (distinct networks, no ground truth: e.g. a pool of rank targets)')
    .option('--from <csv>', 'ground-truth CSV (without it: uniform over the networks of the space)')
    .requiredOption('--n <n>', 'cells', parseIntOption('--n'))
    .option('--seed <n>', 'seed', parseIntOption('--seed'), 0)
    .option('--exclude <file>', 'leave out every cell isomorphic to one of these (e.g. another subset); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--exclude-teacher <run>', "leave out every cell isomorphic to one this teacher's meta-training used")
    .option('--min-accuracy <pct>', 'with --from: only cells of at least this 200-epoch test accuracy (the top of the space, where a search decides)', parseNumberOption('--min-accuracy'))
    .requiredOption('--out <file>', 'where to write the cell strings')
    .action((f: { from?: string; n: number; seed: number; exclude: string[]; excludeTeacher?: string; minAccuracy?: number; out: string }) => {
      // Both exclusions are by network (canonical form), not by string: two subsets that share no string can
      // still share networks, and a measurement on one would then be partly a measurement on the other.
      const networks = new Set(f.exclude.flatMap((file) => readArchs(file).map(canonicalCell)));
      if (f.excludeTeacher) for (const a of seenCells(f.excludeTeacher)) networks.add(canonicalArch(a));
      let cells: string[];
      if (f.from) {
        const truth = readTruth(f.from);
        const floor = f.minAccuracy ?? Number.NEGATIVE_INFINITY;
        const exclude = new Set([...truth.entries()].filter(([a, t]) => t.test200 < floor || networks.has(canonicalArch(a))).map(([a]) => a));
        cells = stratifiedSample(truth, f.n, Rng.seeded(f.seed).fork('subset'), exclude);
      } else {
        if (f.minAccuracy !== undefined) throw new GtnError('--min-accuracy needs --from (a ground-truth CSV)');
        // The same stream as `rank --sample N --seed S`, less the excluded networks.
        cells = sampleCells(f.n, f.seed, networks, '--n').map(formatCell);
      }
      writeFileSync(f.out, `${cells.join('\n')}\n`);
      console.log(`${cells.length} cells written to ${f.out}`);
    });
}
