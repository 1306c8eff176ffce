// Few-step evaluation: fresh learners trained T steps on the teacher's data without gradient tracking of the
// teacher, then scored on a real split with the BN statistics gathered in training (never the scored
// batch's own).
import { Rng, Tensor, noGrad, accuracy } from '../tensor/index.js';
import type { Split } from '../data/splits.js';
import type { TrainConfig } from './config.js';
import { freshLearner, realTeacherBatches, sliceBatch, unrollConfig } from './experiment.js';
import { learnerForward, type LearnerParams, type LearnerSpec } from './learner.js';
import { unroll, type MetaParams } from './unroll.js';

const EVAL_CHUNK = 1000;

/** Accuracy of a trained learner on the first `limit` images of a split. */
export function splitAccuracy(spec: LearnerSpec, params: LearnerParams, centers: readonly Tensor[], split: Split, limit = split.count): number {
  return noGrad(() => {
    let right = 0;
    const n = Math.min(limit, split.count);
    for (let s = 0; s < n; s += EVAL_CHUNK) {
      const b = sliceBatch(split, s, Math.min(EVAL_CHUNK, n - s));
      right += accuracy(learnerForward(spec, params, b.x, centers).logits, b.y) * b.y.size;
    }
    return right / n;
  });
}

export interface EvalOptions {
  seeds: readonly number[];
  learner?: LearnerSpec;
  /** Score after these inner steps too (1-based), for the accuracy curve. */
  curveSteps?: readonly number[];
  limit?: number;
  /** Training split, needed only by the 'real' teacher (its data are real batches). */
  train?: Split;
}

export interface EvalResult {
  accuracies: number[];
  mean: number;
  std: number;
  /** curve[k] = mean accuracy after curveSteps[k] inner steps. */
  curve: { step: number; accuracy: number }[];
}

export function evaluateTeacher(cfg: TrainConfig, meta: MetaParams, split: Split, o: EvalOptions): EvalResult {
  const spec = o.learner ?? cfg.learner;
  const ucfg = { ...unrollConfig(cfg, spec), checkpoint: false };
  const curveSteps = o.curveSteps ?? [];
  const curveSums = curveSteps.map(() => 0);
  const accuracies = o.seeds.map((seed) => {
    const rng = Rng.seeded(seed).fork('eval');
    const learner0 = freshLearner(cfg, spec, rng.fork('learner'));
    const data = { intermediate: [], final: null, teacherBatches: cfg.teacher === 'real' ? realTeacherBatches(cfg, o.train!, rng) : undefined };
    const r = noGrad(() =>
      unroll(ucfg, meta, learner0, data, rng.fork('curriculum'), (t, params, centers) => {
        const k = curveSteps.indexOf(t + 1);
        if (k >= 0) curveSums[k] += splitAccuracy(spec, params, centers, split, o.limit);
      }),
    );
    return splitAccuracy(spec, r.params, r.centers, split, o.limit);
  });
  const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
  const std = Math.sqrt(accuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accuracies.length - 1));
  return { accuracies, mean, std, curve: curveSteps.map((step, k) => ({ step, accuracy: curveSums[k] / o.seeds.length })) };
}
