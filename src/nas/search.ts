// Architecture search: random search and regularised evolution (Real et al. 2019: a population of the most
// recent candidates, tournament selection of a parent, a one-edge mutation as the child, the oldest removed),
// asynchronous when the evaluator runs several candidates at once (a new child is proposed whenever one
// finishes). A strategy proposes cells and is told their scores. The search log records every proposal and
// every result in the order they happened; replaying it drives the strategy through the same states, so a
// stopped search resumes exactly where it was, scoring nothing twice (proposals left unscored are re-run).
// A cell's fitness is its score, or for a vote of proxies its mean rank among every cell scored so far.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GtnError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { appendJsonl, readJsonl } from '../io/jsonl.js';
import { formatCell, parseCell, type Cell } from '../models/index.js';
import { Rng } from '../tensor/index.js';
import type { ProxyResult } from './proxies/index.js';
import { recordScores } from './rank.js';
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

/** A scored proposal. */
export interface SearchRecord {
  /** 0-based proposal number. */
  n: number;
  arch: string;
  score: number;
  /** Seconds the proxy took (0 when the score was reused for an isomorphic cell already scored). */
  seconds: number;
  /** Wall seconds of the search when this result arrived. */
  elapsed: number;
  reused: boolean;
  /** A vote of proxies: each member's score (`score` is then the cell's vote among the cells scored so far). */
  parts?: number[];
}

/** What a strategy is told of a scored cell. */
type Scored = Pick<ProxyResult, 'score' | 'parts'>;

/** A line of the search log: a proposal, or a result. */
type LogEvent = { event: 'propose'; n: number; arch: string } | ({ event: 'result' } & SearchRecord);

interface Proposer {
  propose(): Cell;
  report(cell: Cell, result: Scored): void;
}

/** Proposals of random search: uniform cells (or a shuffled pool), each a network not proposed before while any is left. */
function randomStream(rng: Rng, pool: Cell[] | null): () => Cell {
  const seen = new Set<string>();
  if (pool) {
    const order = [...rng.permutation(pool.length)].filter((i) => {
      const key = canonicalCell(pool[i]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    let i = 0;
    return () => pool[order[i++ % order.length]];
  }
  return () => {
    let c = sampleCell(rng);
    for (let tries = 0; tries < 1000 && seen.has(canonicalCell(c)); tries++) c = sampleCell(rng);
    seen.add(canonicalCell(c));
    return c;
  };
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

function randomSearch(rng: Rng, pool: Cell[] | null): Proposer {
  const next = randomStream(rng, pool);
  return { propose: next, report: () => {} };
}

/** Regularised evolution; with results arriving one at a time after each proposal it is the sequential algorithm. */
function evolution(rng: Rng, pool: Cell[] | null, population: number, tournament: number): Proposer {
  const init = randomStream(rng.fork('init'), pool);
  const r = rng.fork('evolve');
  const history: Scored[] = [];
  const alive: { cell: Cell; i: number }[] = [];
  const seen = new Set<string>();
  let initial = 0;
  return {
    propose() {
      let cell: Cell;
      if (initial < population || alive.length === 0) {
        initial++;
        cell = init();
      } else {
        // Fitness now: a vote's members' ranks move as cells are added.
        const fit = recordScores(history);
        let parent = alive[r.int(alive.length)];
        for (let i = 1; i < tournament; i++) {
          const c = alive[r.int(alive.length)];
          if (fit[c.i] > fit[parent.i]) parent = c;
        }
        cell = mutate(parent.cell, r, pool, seen);
      }
      seen.add(canonicalCell(cell));
      return cell;
    },
    report(cell, result) {
      history.push(result);
      alive.push({ cell, i: history.length - 1 });
      if (alive.length > population) alive.shift();
    },
  };
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

/** A logged result as it was recorded: JSON writes -Infinity as null. */
function fromLog(r: SearchRecord): SearchRecord {
  const inf = (x: number | null) => x ?? Number.NEGATIVE_INFINITY;
  return { ...r, score: inf(r.score), ...(r.parts ? { parts: r.parts.map(inf) } : {}) };
}

const files = (dir: string) => ({ settings: join(dir, 'search.json'), log: join(dir, 'evaluations.jsonl') });

/** The scored proposals of a search folder, in the order their results arrived. */
export function readSearchRecords(dir: string): SearchRecord[] {
  return readJsonl<LogEvent>(files(dir).log)
    .filter((e): e is { event: 'result' } & SearchRecord => e.event === 'result')
    .map(({ event: _e, ...r }) => fromLog(r));
}

export interface SearchOptions {
  /** Scores a cell; several calls may be in flight (up to `parallel`). */
  score: (cell: Cell) => Promise<ProxyResult>;
  parallel?: number;
  onRecord?: (r: SearchRecord, replayed: boolean) => void;
}

/**
 * Runs (or resumes) the search whose log lives in `dir`. A folder holding another search's settings is refused.
 * Stops proposing when the budget is spent (proxy calls, or wall time across resumptions) and waits for the
 * evaluations in flight.
 */
export async function runSearch(dir: string, settings: SearchSettings, budget: Budget, o: SearchOptions): Promise<SearchResult> {
  const f = files(dir);
  if (existsSync(f.settings)) {
    const prev = readFileSync(f.settings, 'utf8');
    if (prev.trim() !== JSON.stringify(settings, null, 2).trim()) {
      throw new GtnError(`${dir} holds a different search (${f.settings}); choose another --out or repeat its settings to resume it`);
    }
  } else writeFileAtomic(f.settings, `${JSON.stringify(settings, null, 2)}\n`);
  const pool = settings.pool ? settings.pool.map(parseCell) : null;
  const rng = Rng.seeded(settings.seed).fork(`search-${settings.strategy}`);
  const strategy = settings.strategy === 'random' ? randomSearch(rng, pool) : evolution(rng, pool, settings.population, settings.tournament);

  const scored = new Map<string, Scored>(); // canonical form -> result
  const records: SearchRecord[] = [];
  const proposed: Cell[] = [];
  let evaluations = 0;
  // Replay the log: the same proposals in the same order, told the same results.
  let base = 0;
  for (const e of readJsonl<LogEvent>(f.log)) {
    if (e.event === 'propose') {
      const cell = strategy.propose();
      if (e.n !== proposed.length || formatCell(cell) !== e.arch) throw new GtnError(`${f.log}: proposal ${e.n} is ${e.arch} but the search proposes ${formatCell(cell)} (a log of other settings?)`);
      proposed.push(cell);
    } else {
      const { event: _e, ...logged } = e;
      const rec = fromLog(logged);
      strategy.report(proposed[rec.n], rec);
      scored.set(canonicalCell(proposed[rec.n]), rec);
      if (!rec.reused) evaluations++;
      records.push(rec);
      base = Math.max(base, rec.elapsed);
      o.onRecord?.(rec, true);
    }
  }
  const since = performance.now();
  const elapsed = () => base + (performance.now() - since) / 1000;
  const finish = (n: number, res: ProxyResult, reused: boolean) => {
    const parts = res.parts?.map((x) => (Number.isFinite(x) ? x : Number.NEGATIVE_INFINITY));
    let score = Number.isFinite(res.score) ? res.score : Number.NEGATIVE_INFINITY;
    if (parts) score = recordScores([...records, { score, parts }]).at(-1)!;
    const rec: SearchRecord = { n, arch: formatCell(proposed[n]), score, seconds: res.seconds, elapsed: elapsed(), reused, ...(parts ? { parts } : {}) };
    appendJsonl(f.log, { event: 'result', ...rec });
    strategy.report(proposed[n], rec);
    scored.set(canonicalCell(proposed[n]), rec);
    records.push(rec);
    o.onRecord?.(rec, false);
  };

  const parallel = Math.max(1, o.parallel ?? 1);
  const done = new Set(records.map((r) => r.n));
  // Proposals of the log that never got a result (the run was stopped while they were scored) go first.
  const queue = proposed.map((_, n) => n).filter((n) => !done.has(n));
  const inFlight = new Set<Promise<void>>();
  const spent = () => (budget.evaluations !== undefined && evaluations >= budget.evaluations) || (budget.minutes !== undefined && elapsed() >= budget.minutes * 60);
  let failure: unknown = null;
  let reusedInRow = 0;
  // Every proposal a network already scored (a small pool, exhausted): stop rather than spin.
  const exhausted = () => reusedInRow >= 10000;
  for (;;) {
    while (inFlight.size < parallel && !failure && !spent() && !exhausted()) {
      let n = queue.shift();
      if (n === undefined) {
        n = proposed.length;
        const cell = strategy.propose();
        proposed.push(cell);
        appendJsonl(f.log, { event: 'propose', n, arch: formatCell(cell) });
        const known = scored.get(canonicalCell(cell));
        if (known !== undefined) {
          finish(n, { score: known.score, parts: known.parts, seconds: 0 }, true);
          reusedInRow++;
          continue;
        }
      }
      reusedInRow = 0;
      evaluations++;
      const id = n;
      const p: Promise<void> = o
        .score(proposed[id])
        .then((res) => finish(id, res, false))
        .catch((err) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (!inFlight.size) break;
    await Promise.race(inFlight);
  }
  if (failure) throw failure;
  if (!records.length) throw new GtnError('the search ended before scoring any cell: raise --budget-evals or --budget-minutes');
  // The best by fitness over everything scored (for a vote: the final ranks, not those each cell had on arrival).
  const fit = recordScores(records);
  const bestAt = fit.reduce((a, x, i) => (x > fit[a] ? i : a), 0);
  const best = records[bestAt];
  return { best_arch: best.arch, best_score: fit[bestAt], evaluations, seconds: Math.max(...records.map((r) => r.elapsed)), records };
}
