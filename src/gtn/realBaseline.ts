// The optimized real-data learner a teacher is measured against: the same architecture trained with SGD +
// momentum on real augmented batches, its constant lr and momentum grid-tuned on the validation split for each
// step budget, optionally against a `--teacher real` run's meta-learned schedule (whichever scores better on
// validation is used). Tuning sees train and validation only; the test split is scored once, at the end.
import type { Split } from '../data/splits.js';
import type { TrainConfig } from './config.js';
import { meanStd, splitAccuracy, trainFresh } from './evaluate.js';
import { constantSchedule } from './metaParams.js';
import type { MetaParams } from './unroll.js';

export interface RealCandidate {
  /** 'grid lr=0.1 m=0.9' or 'meta-learned (RUN)'. */
  name: string;
  meta: MetaParams;
  /** The longest budget this schedule can run (a meta-learned schedule has the T steps it was learned for). */
  maxSteps: number;
}

export const DEFAULT_LR_GRID = [0.01, 0.03, 0.1, 0.3];
export const DEFAULT_MOMENTUM_GRID = [0.5, 0.9];

export function gridCandidates(maxSteps: number, lrs = DEFAULT_LR_GRID, momenta = DEFAULT_MOMENTUM_GRID): RealCandidate[] {
  return lrs.flatMap((lr) => momenta.map((m) => ({ name: `grid lr=${lr} m=${m}`, meta: constantSchedule(maxSteps, lr, m), maxSteps })));
}

/** The real-data learner's config: the teacher's, with real batches of the same size B and `steps` steps. */
export function realConfig(cfg: TrainConfig, steps: number): TrainConfig {
  return { ...cfg, teacher: 'real', steps };
}

/**
 * Accuracy on `split` after each budget (sorted ascending) of each seed's run of one candidate: one training
 * run per seed, scored when it passes each budget.
 */
export function realCurve(cfg: TrainConfig, c: RealCandidate, budgets: readonly number[], train: Split, split: Split, seeds: readonly number[], limit?: number): number[][] {
  const usable = budgets.filter((b) => b <= c.maxSteps);
  if (!usable.length) return seeds.map(() => budgets.map(() => Number.NaN));
  const steps = Math.max(...usable);
  const rc = realConfig(cfg, steps);
  return seeds.map((seed) => {
    const acc = new Map<number, number>();
    trainFresh(rc, c.meta, seed, {
      train,
      onStep: (t, params, stats) => {
        if (usable.includes(t + 1)) acc.set(t + 1, splitAccuracy(rc.learner, params, stats, split, limit));
      },
    });
    return budgets.map((b) => acc.get(b) ?? Number.NaN);
  });
}

export interface TunedBudget {
  steps: number;
  candidate: RealCandidate;
  validation: number;
}

/** For each budget, the candidate with the best validation accuracy (tuning seeds averaged). */
export function tuneReal(
  cfg: TrainConfig,
  candidates: readonly RealCandidate[],
  budgets: readonly number[],
  splits: { train: Split; validation: Split },
  o: { seeds: readonly number[]; images: number; onCandidate?: (c: RealCandidate, acc: number[]) => void },
): TunedBudget[] {
  const best: TunedBudget[] = budgets.map((steps) => ({ steps, candidate: candidates[0], validation: -1 }));
  for (const c of candidates) {
    const runs = realCurve(cfg, c, budgets, splits.train, splits.validation, o.seeds, o.images);
    const acc = budgets.map((_, k) => meanStd(runs.map((r) => r[k])).mean);
    o.onCandidate?.(c, acc);
    acc.forEach((a, k) => {
      if (Number.isFinite(a) && a > best[k].validation) best[k] = { steps: budgets[k], candidate: c, validation: a };
    });
  }
  return best;
}

/** Test accuracy (mean ± std over seeds) of each tuned budget; runs shared where budgets chose the same candidate. */
export function scoreTuned(cfg: TrainConfig, tuned: readonly TunedBudget[], train: Split, test: Split, seeds: readonly number[]): { steps: number; accuracy: number; std: number; schedule: string }[] {
  const out = new Map<number, { accuracy: number; std: number; schedule: string }>();
  for (const c of new Set(tuned.map((t) => t.candidate))) {
    const budgets = tuned.filter((t) => t.candidate === c).map((t) => t.steps);
    const runs = realCurve(cfg, c, budgets, train, test, seeds);
    budgets.forEach((b, k) => {
      const { mean, std } = meanStd(runs.map((r) => r[k]));
      out.set(b, { accuracy: mean, std, schedule: c.name });
    });
  }
  return tuned.map((t) => ({ steps: t.steps, ...out.get(t.steps)! }));
}

export interface Match {
  /** Real-data steps needed to reach the teacher's accuracy, interpolated on log steps; null beyond the curve. */
  steps: number | null;
  /** 'interpolated', 'at-or-below' (real data already match at the first budget) or 'beyond' (never in the curve). */
  how: 'interpolated' | 'at-or-below' | 'beyond';
}

/** Where the real curve (ascending steps) first reaches `target`. */
export function stepsToMatch(curve: readonly [number, number][], target: number): Match {
  if (curve[0][1] >= target) return { steps: curve[0][0], how: 'at-or-below' };
  for (let k = 1; k < curve.length; k++) {
    const [s1, a1] = curve[k - 1];
    const [s2, a2] = curve[k];
    if (a2 >= target) {
      const f = a2 > a1 ? (target - a1) / (a2 - a1) : 1;
      return { steps: Math.exp(Math.log(s1) + f * (Math.log(s2) - Math.log(s1))), how: 'interpolated' };
    }
  }
  return { steps: null, how: 'beyond' };
}
