// Architecture search: random search and regularised evolution (Real et al. 2019: a population of the most
// recent candidates, tournament selection of a parent, a one-edge mutation as the child, the oldest removed).
// A strategy is a generator that proposes cells and is told their scores; given the same seed and scores it
// proposes the same cells, so a stopped search resumes from its log by replaying it, scoring nothing twice.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GtnError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { appendJsonl, readJsonl } from '../io/jsonl.js';
import { formatCell, parseCell, type Cell } from '../models/index.js';
import { Rng } from '../tensor/index.js';
import type { Proxy } from './proxies/index.js';
import { canonicalCell, cellDistance, mutateCell, sampleCell } from './space.js';

export const STRATEGIES = ['random', 'evolution'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface SearchSettings {
  space: 'nb201';
  strategy: Strategy;
  seed: number;
  /** Evolution: population size and tournament size. */
  population: number;
  tournament: number;
  /** Candidates are restricted to these cells (e.g. those whose true accuracy is known), when given. */
  pool?: string[];
  proxy: { kind: string; settings: Record<string, unknown> };
}

export interface SearchRecord {
  /** 0-based proposal number. */
  n: number;
  arch: string;
  score: number;
  /** Seconds the proxy took (0 when the score was reused for an isomorphic cell already scored). */
  seconds: number;
  /** Wall seconds of the search so far, this proposal included. */
  elapsed: number;
  reused: boolean;
}

type Proposer = Generator<Cell, never, number>;

/** Random search: uniform cells (or a shuffled pool), never a cell isomorphic to one already proposed while new ones remain. */
function* randomSearch(rng: Rng, pool: Cell[] | null): Proposer {
  const seen = new Set<string>();
  if (pool) {
    const order = rng.permutation(pool.length);
    const fresh = [...order].filter((i) => {
      const key = canonicalCell(pool[i]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    for (let i = 0; ; i++) yield pool[fresh[i % fresh.length]];
  }
  for (;;) {
    let c = sampleCell(rng);
    for (let tries = 0; tries < 1000 && seen.has(canonicalCell(c)); tries++) c = sampleCell(rng);
    seen.add(canonicalCell(c));
    yield c;
  }
}

/**
 * A child of `parent` whose network was not proposed before (when one can be found): one edge changed, or
 * within a pool, a nearest unproposed pool member (ties at random).
 */
function mutate(parent: Cell, rng: Rng, pool: Cell[] | null, seen: ReadonlySet<string>): Cell {
  if (!pool) {
    let child = mutateCell(parent, rng);
    for (let tries = 0; tries < 100 && seen.has(canonicalCell(child)); tries++) child = mutateCell(tries < 50 ? parent : child, rng);
    return child;
  }
  let best = Number.POSITIVE_INFINITY;
  let near: Cell[] = [];
  for (const c of pool) {
    const d = cellDistance(parent, c);
    if (d === 0 || d > best || seen.has(canonicalCell(c))) continue;
    if (d < best) {
      best = d;
      near = [];
    }
    near.push(c);
  }
  return near.length ? near[rng.int(near.length)] : mutateCell(parent, rng);
}

function* evolution(rng: Rng, pool: Cell[] | null, population: number, tournament: number): Proposer {
  const init = randomSearch(rng.fork('init'), pool);
  const alive: { cell: Cell; score: number }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < population; i++) {
    const cell = init.next().value;
    seen.add(canonicalCell(cell));
    const score: number = yield cell;
    alive.push({ cell, score });
  }
  const r = rng.fork('evolve');
  for (;;) {
    let parent = alive[r.int(alive.length)];
    for (let i = 1; i < tournament; i++) {
      const c = alive[r.int(alive.length)];
      if (c.score > parent.score) parent = c;
    }
    const cell = mutate(parent.cell, r, pool, seen);
    seen.add(canonicalCell(cell));
    const score: number = yield cell;
    alive.push({ cell, score });
    alive.shift();
  }
}

export interface Budget {
  evaluations?: number;
  minutes?: number;
}

export interface SearchResult {
  best_arch: string;
  best_score: number;
  /** Proxy calls made (reused scores of isomorphic cells do not count). */
  evaluations: number;
  seconds: number;
  records: SearchRecord[];
}

const files = (dir: string) => ({ settings: join(dir, 'search.json'), log: join(dir, 'evaluations.jsonl') });

/**
 * Runs (or resumes) the search whose records live in `dir`. A folder holding another search's settings is
 * refused. Stops when the budget is spent; the budget counts proxy calls and wall time across resumptions.
 */
export function runSearch(dir: string, settings: SearchSettings, proxy: Proxy, budget: Budget, onRecord?: (r: SearchRecord, replayed: boolean) => void): SearchResult {
  const f = files(dir);
  if (existsSync(f.settings)) {
    const prev = readFileSync(f.settings, 'utf8');
    if (prev.trim() !== JSON.stringify(settings, null, 2).trim()) {
      throw new GtnError(`${dir} holds a different search (${f.settings}); choose another --out or repeat its settings to resume it`);
    }
  } else writeFileAtomic(f.settings, `${JSON.stringify(settings, null, 2)}\n`);
  const log = readJsonl<SearchRecord>(f.log);
  const pool = settings.pool ? settings.pool.map(parseCell) : null;
  const rng = Rng.seeded(settings.seed).fork(`search-${settings.strategy}`);
  const gen = settings.strategy === 'random' ? randomSearch(rng, pool) : evolution(rng, pool, settings.population, settings.tournament);
  const scored = new Map<string, number>();
  const records: SearchRecord[] = [];
  let evaluations = 0;
  // Wall time: the replayed records' own, then this process's from the end of the replay.
  let base = 0;
  let since = performance.now();
  let cell = gen.next().value;
  for (let n = 0; ; n++) {
    const prev = log[n];
    if (!prev) {
      const spent = base + (performance.now() - since) / 1000;
      if ((budget.evaluations !== undefined && evaluations >= budget.evaluations) || (budget.minutes !== undefined && spent >= budget.minutes * 60)) break;
    }
    const arch = formatCell(cell);
    let rec: SearchRecord;
    if (prev) {
      if (prev.arch !== arch) throw new GtnError(`${f.log}: record ${n} is ${prev.arch} but the search proposes ${arch} (a log of other settings?)`);
      rec = prev;
      base = prev.elapsed;
      since = performance.now();
    } else {
      const known = scored.get(canonicalCell(cell));
      const res = known === undefined ? proxy.score(cell) : { score: known, seconds: 0 };
      const score = Number.isFinite(res.score) ? res.score : Number.NEGATIVE_INFINITY;
      rec = { n, arch, score, seconds: res.seconds, elapsed: base + (performance.now() - since) / 1000, reused: known !== undefined };
      appendJsonl(f.log, rec);
    }
    if (!rec.reused) evaluations++;
    scored.set(canonicalCell(cell), rec.score);
    records.push(rec);
    onRecord?.(rec, rec === prev);
    cell = gen.next(rec.score).value;
  }
  const best = records.reduce((a, b) => (b.score > a.score ? b : a), records[0]);
  if (!best) throw new GtnError('the search ended before scoring any cell: raise --budget-evals or --budget-minutes');
  return { best_arch: best.arch, best_score: best.score, evaluations, seconds: records[records.length - 1].elapsed, records };
}
