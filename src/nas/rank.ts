// Ranking a list of cells with a proxy, with results logged as they arrive (a stopped run resumes without
// re-scoring), and the report of how well the scores rank the cells' true accuracies.
import { createHash } from 'node:crypto';
import { appendJsonl, readJsonl } from '../io/jsonl.js';
import { formatCell, type Cell } from '../models/index.js';
import type { Evaluator } from './evaluator.js';
import { SCORE_KINDS, type ProxyResult, type ProxySpec, type ScoreKind } from './proxies/index.js';
import { kendall, meanRanks, spearman, topPrecision } from './rankStats.js';
import type { TrueAccuracy } from './truth.js';

export interface RankRecord extends ProxyResult {
  arch: string;
  /** Hash of the proxy description the score came from (records of other settings are not reused). */
  proxyKey: string;
}

export const proxyKey = (p: ProxySpec): string => createHash('sha256').update(JSON.stringify(p)).digest('hex').slice(0, 16);

/**
 * Scores every cell not already in `log` (when given) and returns the records in the order of `cells`. Cells
 * that could not be scored (a worker's unrecoverable error) are left out and the error is in `failure`.
 */
export async function rankCells(
  cells: readonly Cell[],
  spec: ProxySpec,
  evaluator: Evaluator,
  o: { log?: string; onRecord?: (r: RankRecord, fresh: boolean) => void } = {},
): Promise<{ records: RankRecord[]; failure: Error | null }> {
  const key = proxyKey(spec);
  const done = new Map<string, RankRecord>();
  for (const r of o.log ? readJsonl<RankRecord>(o.log) : []) if (r.proxyKey === key) done.set(r.arch, r);
  const archs = cells.map(formatCell);
  for (const a of archs) if (done.has(a)) o.onRecord?.(done.get(a)!, false);
  const todo = [...new Set(archs.filter((a) => !done.has(a)))];
  let failure: Error | null = null;
  await evaluator
    .scoreAll(
      todo.map((a) => cells[archs.indexOf(a)]),
      (cell, result) => {
        const r: RankRecord = { arch: formatCell(cell), proxyKey: key, ...result };
        done.set(r.arch, r);
        if (o.log) appendJsonl(o.log, r);
        o.onRecord?.(r, true);
      },
    )
    .catch((err: Error) => {
      failure = err;
    });
  return { records: archs.map((a) => done.get(a)).filter((r): r is RankRecord => r !== undefined), failure };
}

export interface Correlation {
  steps?: number;
  score: ScoreKind | 'score';
  spearman: number;
  kendall: number;
  top10_precision: number;
  n: number;
  /** Mean seconds per cell for this step count. */
  seconds: number;
}

/**
 * Each record's score; for a vote, each cell's mean rank over the members among `records` (a vote's score is
 * relative to the cells scored with it; a member's missing or non-finite score ranks lowest, as in meanRanks).
 */
export function recordScores(records: readonly Pick<ProxyResult, 'score' | 'parts'>[]): number[] {
  if (!records.some((r) => r.parts)) return records.map((r) => r.score);
  const k = records[0].parts?.length ?? 0;
  if (records.some((r) => r.parts?.length !== k)) throw new RangeError('records of a vote and of a single proxy (or of votes of other sizes) cannot be ranked together');
  return meanRanks(Array.from({ length: k }, (_, j) => records.map((r) => r.parts![j])));
}

/** Correlations with the 200-epoch test accuracy: of the proxy's score, and of every (steps, score kind). */
export function correlations(records: readonly RankRecord[], truth: ReadonlyMap<string, TrueAccuracy>): { main: Correlation; bySteps: Correlation[] } {
  const known = records.filter((r) => truth.has(r.arch));
  const acc = known.map((r) => truth.get(r.arch)!.test200);
  const corr = (xs: number[], seconds: number, score: Correlation['score'], steps?: number): Correlation => ({
    steps,
    score,
    spearman: spearman(xs, acc),
    kendall: kendall(xs, acc),
    top10_precision: topPrecision(xs, acc),
    n: xs.length,
    seconds,
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const main = corr(recordScores(known), mean(known.map((r) => r.seconds)), 'score');
  const bySteps: Correlation[] = [];
  const stepCounts = known[0]?.bySteps?.map((s) => s.steps) ?? [];
  for (const [k, steps] of stepCounts.entries()) {
    for (const kind of SCORE_KINDS) {
      const xs = known.map((r) => r.bySteps?.[k]?.scores[kind]);
      if (xs.some((x) => x === undefined)) continue;
      bySteps.push(corr(xs as number[], mean(known.map((r) => r.bySteps![k].seconds)), kind, steps));
    }
  }
  return { main, bySteps };
}
