// Search strategies with a cheap, known objective: evolution beats random search at equal budget, budgets
// hold, pools are respected, isomorphic cells are never scored twice, and a stopped search resumes exactly,
// also when several evaluations were in flight.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatCell, parseCell, type Cell } from '../../src/models/index.js';
import type { Proxy } from '../../src/nas/proxies/index.js';
import { meanRanks } from '../../src/nas/rankStats.js';
import { runSearch as run, type Budget, type SearchRecord, type SearchSettings } from '../../src/nas/search.js';
import { canonicalCell, enumerateCells } from '../../src/nas/space.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-search-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** Score: conv3x3 edges count 3, conv1x1 1, skip 0.5; a fixed per-network jitter breaks ties. */
function objective(): Proxy & { calls: string[] } {
  const calls: string[] = [];
  const weight: Record<string, number> = { nor_conv_3x3: 3, nor_conv_1x1: 1, skip_connect: 0.5, avg_pool_3x3: 0.2, none: 0 };
  return {
    kind: 'test',
    settings: { objective: 'ops' },
    calls,
    score(cell: Cell) {
      const key = canonicalCell(cell);
      calls.push(key);
      let h = 0;
      for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) % 1000;
      return { score: cell.reduce((s, op) => s + weight[op], 0) + h / 1e4, seconds: 0 };
    },
  };
}

/** A vote of the objective and of a second scorer that prefers conv1x1 (on a scale a thousand times larger). */
function vote(): Proxy & { calls: string[] } {
  const o = objective();
  return {
    kind: 'vote',
    settings: { objective: 'vote' },
    calls: o.calls,
    score(cell: Cell) {
      const a = o.score(cell).score;
      const b = 1000 * cell.filter((op) => op === 'nor_conv_1x1').length + (a % 1);
      return { score: Number.NaN, seconds: 0, parts: [a, b] };
    },
  };
}

const settings = (strategy: 'random' | 'evolution', seed: number, pool?: string[]): SearchSettings => ({
  space: 'nb201',
  strategy,
  seed,
  population: 10,
  tournament: 3,
  pool,
  proxy: { kind: 'test', settings: { objective: 'ops' } },
});

/** The search, scored in this process one candidate at a time (or `parallel` at once, finishing out of order). */
const runSearch = (dir: string, s: SearchSettings, p: Proxy, budget: Budget, parallel = 1) =>
  run(dir, s, budget, {
    parallel,
    score: async (c) => {
      const r = p.score(c);
      if (parallel > 1) await new Promise((resolve) => setTimeout(resolve, (formatCell(c).length * 7) % 5));
      return r;
    },
  });

const strip = (rs: SearchRecord[]) => rs.map(({ n, arch, score, reused }) => ({ n, arch, score, reused }));

describe('architecture search', () => {
  it('regularised evolution beats random search at an equal budget', async () => {
    let evo = 0;
    let rnd = 0;
    for (let seed = 0; seed < 5; seed++) {
      evo += (await runSearch(join(work, `evo${seed}`), settings('evolution', seed), objective(), { evaluations: 80 })).best_score;
      rnd += (await runSearch(join(work, `rnd${seed}`), settings('random', seed), objective(), { evaluations: 80 })).best_score;
    }
    assert.ok(evo > rnd, `evolution ${evo / 5} vs random ${rnd / 5}`);
  });

  it('scores each distinct network once and stops at the budget', async () => {
    const p = objective();
    const r = await runSearch(join(work, 'once'), settings('evolution', 1), p, { evaluations: 60 });
    assert.equal(r.evaluations, 60);
    assert.equal(p.calls.length, 60);
    assert.equal(new Set(p.calls).size, 60);
  });

  it('stays inside a pool', async () => {
    const pool = enumerateCells().filter((_, i) => i % 37 === 0).map(formatCell);
    const inPool = new Set(pool);
    for (const s of ['random', 'evolution'] as const) {
      const r = await runSearch(join(work, `pool-${s}`), settings(s, 2, pool), objective(), { evaluations: 50 });
      for (const rec of r.records) assert.ok(inPool.has(rec.arch), `${s} proposed ${rec.arch} outside the pool`);
    }
  });

  it('resumes a stopped search (even with a torn last record) to the same records as an uninterrupted one', async () => {
    const full = await runSearch(join(work, 'full'), settings('evolution', 3), objective(), { evaluations: 50 });
    const dir = join(work, 'stopped');
    await runSearch(dir, settings('evolution', 3), objective(), { evaluations: 20 });
    appendFileSync(join(dir, 'evaluations.jsonl'), '{"event":"result","n":20,"arch":"|nor_con'); // killed mid-write
    const p = objective();
    const resumed = await runSearch(dir, settings('evolution', 3), p, { evaluations: 50 });
    assert.deepEqual(strip(resumed.records), strip(full.records));
    assert.equal(p.calls.length, 30, 'only the missing evaluations are scored');
    assert.equal(resumed.best_arch, full.best_arch);
  });

  it('refuses a folder that holds another search', async () => {
    const dir = join(work, 'other');
    await runSearch(dir, settings('random', 4), objective(), { evaluations: 3 });
    await assert.rejects(runSearch(dir, settings('evolution', 4), objective(), { evaluations: 3 }), /holds a different search/);
  });

  it('asynchronous evolution (several evaluations in flight) keeps the budget and resumes from its log, even with a proposal left unscored', async () => {
    const p = objective();
    const dir = join(work, 'async');
    const r = await runSearch(dir, settings('evolution', 5), p, { evaluations: 40 }, 3);
    assert.equal(r.evaluations, 40);
    assert.equal(new Set(p.calls).size, p.calls.length, 'no network scored twice');
    // Stopped while a proposal was being scored: its proposal is in the log, its result is not.
    const log = join(dir, 'evaluations.jsonl');
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const lastResult = lines.map((l) => (JSON.parse(l) as { event: string }).event).lastIndexOf('result');
    writeFileSync(log, `${lines.filter((_, i) => i !== lastResult).join('\n')}\n`);
    const q = objective();
    const more = await runSearch(dir, settings('evolution', 5), q, { evaluations: 45 }, 3);
    assert.equal(more.evaluations, 45);
    assert.equal(q.calls.length, 6, 'the unscored proposal again, and five new ones');
    assert.equal(q.calls[0], canonicalCell(parseCell(r.records[r.records.length - 1].arch)));
    assert.deepEqual(strip(more.records.slice(0, 39)), strip(r.records.slice(0, 39)));
  });

  it('a vote of proxies: cells compared by their mean rank among the cells scored so far; resumes exactly', async () => {
    const full = await runSearch(join(work, 'vote-full'), settings('evolution', 6), vote(), { evaluations: 40 });
    const final = meanRanks([0, 1].map((j) => full.records.map((r) => r.parts![j])));
    const best = final.indexOf(Math.max(...final));
    assert.equal(full.best_arch, full.records[best].arch, 'the best by the final vote');
    assert.equal(full.best_score, final[best]);
    // Each record's score is its vote among the records up to it.
    for (const k of [0, 10, 39]) {
      const upTo = full.records.slice(0, k + 1);
      assert.equal(full.records[k].score, meanRanks([0, 1].map((j) => upTo.map((r) => r.parts![j]))).at(-1));
    }
    const dir = join(work, 'vote-stopped');
    await runSearch(dir, settings('evolution', 6), vote(), { evaluations: 25 });
    const p = vote();
    const resumed = await runSearch(dir, settings('evolution', 6), p, { evaluations: 40 });
    assert.deepEqual(strip(resumed.records), strip(full.records));
    assert.equal(p.calls.length, 15);
    assert.equal(resumed.best_arch, full.best_arch);
  });

  it('a cell scored -Infinity (logged as null) replays as -Infinity, not as 0', async () => {
    // Scores all negative, so that a replayed null read as 0 would win every tournament it entered.
    const failing = (): Proxy & { calls: string[] } => {
      const o = objective();
      return { ...o, score: (c: Cell) => ({ score: c.filter((op) => op === 'none').length >= 2 ? Number.NEGATIVE_INFINITY : o.score(c).score - 100, seconds: 0 }) };
    };
    const full = await runSearch(join(work, 'inf-full'), settings('evolution', 7), failing(), { evaluations: 40 });
    assert.ok(full.records.some((r) => r.score === Number.NEGATIVE_INFINITY), 'the objective fails on some cells');
    const dir = join(work, 'inf-stopped');
    await runSearch(dir, settings('evolution', 7), failing(), { evaluations: 15 });
    const resumed = await runSearch(dir, settings('evolution', 7), failing(), { evaluations: 40 });
    assert.deepEqual(strip(resumed.records), strip(full.records));
  });
});
