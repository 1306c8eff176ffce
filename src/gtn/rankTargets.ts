// Rank-aware meta-training (beyond the paper). The paper's meta-loss asks a teacher to make every learner good
// after T steps; a NAS proxy needs the learners' order after T steps to be their order after long training.
// Given scores of a pool of cells from a long, trusted proxy (e.g. 1,200 real-data steps), each outer iteration
// trains a learner on a pool cell and weighs its meta-loss by 1 + lambda * z, z the cell's standardised rank in
// the pool: in expectation the meta-loss becomes mean loss + lambda * cov(z, loss), so the teacher is pushed to
// lower the loss of the cells that end up good more than that of the cells that end up bad (and, where
// lambda * z < -1, to raise the latter's). The pairwise form (`rankLoss: 'pairwise'`, src/gtn/metaStep.ts)
// trains two pool cells of different scores per iteration and adds a logistic loss on their order under the
// GTN proxy's own score. No ground truth enters: the scores come from our own training.
import type { Rng } from '../tensor/index.js';
import { GtnError } from '../errors.js';
import { readJsonl } from '../io/jsonl.js';
import { canonicalArch, formatCell, parseCell } from '../models/index.js';

export interface RankTarget {
  /** An NB201 cell string. */
  cell: string;
  /** Its score under the trusted proxy: higher is better. */
  score: number;
}

/**
 * The meta-loss weight of each target cell, 1 + lambda * z, z its standardised rank in the pool (ties share
 * their mean rank). Ranks, not raw scores: a few outliers (cells whose output is cut off from the input all
 * score chance) would otherwise set the scale for every other cell.
 */
export function rankTargetWeights(targets: readonly RankTarget[], lambda: number): number[] {
  const n = targets.length;
  const order = targets.map((t, i) => ({ s: t.score, i })).sort((a, b) => a.s - b.s);
  const rank = new Array<number>(n);
  for (let a = 0; a < n; ) {
    let b = a;
    while (b + 1 < n && order[b + 1].s === order[a].s) b++;
    for (let k = a; k <= b; k++) rank[order[k].i] = (a + b) / 2;
    a = b + 1;
  }
  const mean = (n - 1) / 2;
  const std = Math.sqrt(rank.reduce((s, r) => s + (r - mean) ** 2, 0) / n);
  return rank.map((r) => 1 + (lambda * (r - mean)) / std);
}

/**
 * Two pool cells for a pairwise iteration: a uniformly among the best `topFraction` of the pool by score (all of
 * it by default), then b uniformly among the cells whose score differs from a's (a tie says nothing about order).
 * A fraction below 1 spends the order loss on where a search needs it: the order between the best cells and the
 * rest. checkRankTargets guarantees that such a b exists.
 */
export function samplePair(targets: readonly RankTarget[], rng: Rng, topFraction = 1): { a: number; b: number } {
  let a = 0;
  if (topFraction >= 1) a = rng.int(targets.length);
  else {
    const best = targets.map((_, i) => i).sort((i, j) => targets[j].score - targets[i].score).slice(0, Math.max(1, Math.round(topFraction * targets.length)));
    a = best[rng.int(best.length)];
  }
  const others = targets.flatMap((t, i) => (t.score !== targets[a].score ? [i] : []));
  return { a, b: others[rng.int(others.length)] };
}

/** The targets whose networks (canonical forms) are not among `heldOutCells`, in their order. */
export function withoutHeldOut(targets: readonly RankTarget[], heldOutCells: readonly string[]): RankTarget[] {
  const held = new Set(heldOutCells.map(canonicalArch));
  return targets.filter((t) => !held.has(canonicalArch(t.cell)));
}

/**
 * Checks a pool against the rest of the config: an NB201 learner, finite scores, at least two distinct ones, and
 * no cell that the run holds out (those are the cells a proxy will be evaluated on: their scores must not teach
 * the teacher).
 */
export function checkRankTargets(
  cfg: { rankTargets: readonly RankTarget[]; rankLoss?: string; rankTopFraction?: number; heldOutCells: readonly string[]; learner: { kind: string } },
  source: string,
): void {
  const targets = cfg.rankTargets;
  if ((cfg.rankTopFraction ?? 1) < 1 && cfg.rankLoss !== 'pairwise') throw new GtnError(`${source}: rankTopFraction applies to rankLoss 'pairwise' only`);
  if (!targets.length) {
    if (cfg.rankLoss === 'pairwise') throw new GtnError(`${source}: rankLoss 'pairwise' needs rank targets`);
    return;
  }
  if (cfg.learner.kind !== 'nb201') throw new GtnError(`${source}: rank targets need an nb201 learner, not '${cfg.learner.kind}'`);
  const bad = targets.find((t) => !Number.isFinite(t.score));
  if (bad) throw new GtnError(`${source}: the score of ${bad.cell} is not a finite number`);
  if (new Set(targets.map((t) => t.score)).size < 2) throw new GtnError(`${source}: rank targets need at least two different scores (${targets.length} cells given)`);
  const kept = new Set(withoutHeldOut(targets, cfg.heldOutCells));
  const leak = targets.find((t) => !kept.has(t));
  if (leak) throw new GtnError(`${source}: rank-target cell ${leak.cell} is held out of meta-training (--hold-out); a teacher must not learn from the cells it is evaluated on`);
}

/** A log record as `readRankTargets` reads it: a vote's records carry their members' scores in `parts`. */
export interface RankLogRecord {
  score: number;
  parts?: number[];
}

/**
 * The pool of a `gtn nas rank --out` log: each line's cell and score. A log that holds the records of more than
 * one proxy setting is refused (its scores are not on one scale). A vote's log (records with `parts`, whose own
 * score is null) needs `voteScores`, which turns the records into one score each (the caller passes the NAS
 * layer's mean-rank vote; this layer does not import it).
 */
export function readRankTargets(file: string, voteScores?: (records: readonly RankLogRecord[]) => number[]): RankTarget[] {
  let rows: { arch?: unknown; score?: unknown; proxyKey?: unknown; parts?: unknown }[];
  try {
    rows = readJsonl(file);
  } catch (err) {
    throw new GtnError(`--rank-targets ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!rows.length) throw new GtnError(`--rank-targets ${file}: no records (expected the --out log of \`gtn nas rank\`)`);
  const keys = new Set(rows.map((r) => r.proxyKey));
  if (keys.size > 1) throw new GtnError(`--rank-targets ${file}: records of ${keys.size} proxy settings; give the log of one`);
  const vote = rows.some((r) => r.parts !== undefined);
  if (vote && !voteScores) throw new GtnError(`--rank-targets ${file}: the log of a vote, and no vote scorer was given`);
  const cells = rows.map((r, i) => {
    const ok = vote ? Array.isArray(r.parts) && r.parts.every((x) => x === null || typeof x === 'number') : typeof r.score === 'number';
    if (typeof r.arch !== 'string' || !ok)
      throw new GtnError(`--rank-targets ${file}:${i + 1}: expected {"arch": string, ${vote ? '"parts": number[]' : '"score": number'}}`);
    try {
      return formatCell(parseCell(r.arch));
    } catch (err) {
      throw new GtnError(`--rank-targets ${file}:${i + 1}: ${(err as Error).message}`);
    }
  });
  let scores: number[];
  try {
    // A member that failed on a cell logs null: it ranks that cell lowest, as the vote itself does.
    scores = vote ? voteScores!(rows.map((r) => ({ score: Number.NaN, parts: (r.parts as (number | null)[]).map((x) => x ?? Number.NaN) }))) : rows.map((r) => r.score as number);
  } catch (err) {
    throw new GtnError(`--rank-targets ${file}: ${(err as Error).message}`);
  }
  const byCell = new Map<string, RankTarget>();
  cells.forEach((cell, i) => byCell.set(cell, { cell, score: scores[i] }));
  return [...byCell.values()];
}
