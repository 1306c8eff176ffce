// Search strategies with a cheap, known objective: evolution beats random search at equal budget, budgets
// hold, pools are respected, isomorphic cells are never scored twice, and a stopped search resumes exactly.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { formatCell, type Cell } from '../../src/models/index.js';
import type { Proxy } from '../../src/nas/proxies/index.js';
import { runSearch, type SearchRecord, type SearchSettings } from '../../src/nas/search.js';
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
      calls.push(canonicalCell(cell));
      const key = canonicalCell(cell);
      let h = 0;
      for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) % 1000;
      return { score: cell.reduce((s, op) => s + weight[op], 0) + h / 1e4, seconds: 0 };
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

const strip = (rs: SearchRecord[]) => rs.map(({ n, arch, score, reused }) => ({ n, arch, score, reused }));

describe('architecture search', () => {
  it('regularised evolution beats random search at an equal budget', () => {
    let evo = 0;
    let rnd = 0;
    for (let seed = 0; seed < 5; seed++) {
      evo += runSearch(join(work, `evo${seed}`), settings('evolution', seed), objective(), { evaluations: 80 }).best_score;
      rnd += runSearch(join(work, `rnd${seed}`), settings('random', seed), objective(), { evaluations: 80 }).best_score;
    }
    assert.ok(evo > rnd, `evolution ${evo / 5} vs random ${rnd / 5}`);
  });

  it('scores each distinct network once and stops at the budget', () => {
    const p = objective();
    const r = runSearch(join(work, 'once'), settings('evolution', 1), p, { evaluations: 60 });
    assert.equal(r.evaluations, 60);
    assert.equal(p.calls.length, 60);
    assert.equal(new Set(p.calls).size, 60);
  });

  it('stays inside a pool', () => {
    const pool = enumerateCells().filter((_, i) => i % 37 === 0).map(formatCell);
    const inPool = new Set(pool);
    for (const s of ['random', 'evolution'] as const) {
      const r = runSearch(join(work, `pool-${s}`), settings(s, 2, pool), objective(), { evaluations: 50 });
      for (const rec of r.records) assert.ok(inPool.has(rec.arch), `${s} proposed ${rec.arch} outside the pool`);
    }
  });

  it('resumes a stopped search (even with a torn last record) to the same records as an uninterrupted one', () => {
    const full = runSearch(join(work, 'full'), settings('evolution', 3), objective(), { evaluations: 50 });
    const dir = join(work, 'stopped');
    runSearch(dir, settings('evolution', 3), objective(), { evaluations: 20 });
    appendFileSync(join(dir, 'evaluations.jsonl'), '{"n":20,"arch":"|nor_con'); // killed mid-write
    const p = objective();
    const resumed = runSearch(dir, settings('evolution', 3), p, { evaluations: 50 });
    assert.deepEqual(strip(resumed.records), strip(full.records));
    assert.equal(p.calls.length, 30, 'only the missing evaluations are scored');
    assert.equal(resumed.best_arch, full.best_arch);
  });

  it('refuses a folder that holds another search', () => {
    const dir = join(work, 'other');
    runSearch(dir, settings('random', 4), objective(), { evaluations: 3 });
    assert.throws(() => runSearch(dir, settings('evolution', 4), objective(), { evaluations: 3 }), /holds a different search/);
  });
});
