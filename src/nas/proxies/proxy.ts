// What every architecture proxy is: a named, fully described scorer of cells. Higher scores are better.
import type { Cell } from '../../models/index.js';

/** What a training proxy can rank by: accuracy or loss on validation images, or the loss on its own training data. */
export const SCORE_KINDS = ['val-acc', 'val-loss', 'train-loss'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

export interface StepScore {
  /** Training steps behind this score. */
  steps: number;
  /** Seconds to get here from scratch: training up to `steps` plus one scoring. */
  seconds: number;
  /** Every score kind measured at this point (losses negated: higher is better). */
  scores: Partial<Record<ScoreKind, number>>;
}

export interface ProxyResult {
  score: number;
  seconds: number;
  /** Training proxies: the scores after each requested step count (the last one is `score`). */
  bySteps?: StepScore[];
  /**
   * A vote of proxies: each member's score, in the vote's order. A vote ranks a cell against the other cells
   * scored with it (`meanRanks`), so its `score` alone means nothing and is NaN.
   */
  parts?: number[];
}

export interface Proxy {
  /** 'gtn', 'real', 'params', 'synflow', 'nwot', 'meco'. */
  readonly kind: string;
  /** Everything that determines a score besides the cell (a job id or a record is keyed on it). */
  readonly settings: Record<string, unknown>;
  score(cell: Cell): ProxyResult;
}
