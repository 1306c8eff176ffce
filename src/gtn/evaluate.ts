// Few-step evaluation: fresh learners trained T steps on the teacher's data without gradient tracking of the
// teacher, then scored on a real split with the BN statistics gathered in training (never the scored
// batch's own).
import { Rng, Tensor, noGrad, accuracy, crossEntropy } from '../tensor/index.js';
import type { Split } from '../data/splits.js';
import type { TrainConfig } from './config.js';
import { freshLearner, realAugment, realTeacherBatches, sliceBatch, unrollConfig } from './experiment.js';
import { learnerForward, type LearnerParams, type LearnerSpec } from '../models/index.js';
import { unroll, type MetaParams, type StepObserver, type UnrollData, type UnrollResult } from './unroll.js';

const EVAL_CHUNK = 1000;

export interface SplitScore {
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
}

/** Accuracy and mean loss of a trained learner on the first `limit` images of a split. */
export function splitScore(spec: LearnerSpec, params: LearnerParams, stats: readonly Tensor[], split: Split, limit = split.count): SplitScore {
  return noGrad(() => {
    let right = 0;
    let loss = 0;
    const n = Math.min(limit, split.count);
    for (let s = 0; s < n; s += EVAL_CHUNK) {
      const b = sliceBatch(split, s, Math.min(EVAL_CHUNK, n - s));
      const logits = learnerForward(spec, params, b.x, stats).logits;
      right += accuracy(logits, b.y) * b.y.size;
      loss += crossEntropy(logits, b.y).item() * b.y.size;
    }
    return { accuracy: right / n, loss: loss / n };
  });
}

/** Accuracy of a trained learner on the first `limit` images of a split. */
export function splitAccuracy(spec: LearnerSpec, params: LearnerParams, stats: readonly Tensor[], split: Split, limit = split.count): number {
  return splitScore(spec, params, stats, split, limit).accuracy;
}

export interface TrainFreshOptions {
  /** The learner (default: the config's). */
  learner?: LearnerSpec;
  /** Training split: the 'real' teacher's data come from it. */
  train?: Split;
  /** Replaces the teacher's data with these batches (e.g. a frozen teacher's batches made once). */
  teacherBatch?: (t: number) => ReturnType<NonNullable<UnrollData['teacherBatch']>>;
  onStep?: StepObserver;
}

/**
 * A fresh learner (seeded) trained cfg.steps inner steps on the teacher, with no graph kept: the inner loop of
 * meta-training run forward only. Every few-step evaluation and every training proxy goes through here.
 */
export function trainFresh(cfg: TrainConfig, meta: MetaParams, seed: number, o: TrainFreshOptions = {}): UnrollResult {
  const spec = o.learner ?? cfg.learner;
  const ucfg = { ...unrollConfig(cfg, spec), checkpoint: false, ...(o.teacherBatch ? { teacher: 'real' as const } : {}) };
  const rng = Rng.seeded(seed).fork('eval');
  const learner0 = freshLearner(cfg, spec, rng.fork('learner'));
  let teacherBatch = o.teacherBatch;
  if (!teacherBatch && cfg.teacher === 'real') {
    if (!o.train) throw new Error('trainFresh: the real-data teacher needs the training split');
    teacherBatch = realTeacherBatches(o.train, cfg.batch, rng, realAugment(cfg, o.train));
  }
  return noGrad(() => unroll(ucfg, meta, learner0, { intermediate: [], final: null, teacherBatch }, rng.fork('curriculum'), o.onStep));
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

export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, std };
}

export function evaluateTeacher(cfg: TrainConfig, meta: MetaParams, split: Split, o: EvalOptions): EvalResult {
  const spec = o.learner ?? cfg.learner;
  const curveSteps = o.curveSteps ?? [];
  const curveSums = curveSteps.map(() => 0);
  const accuracies = o.seeds.map((seed) => {
    const r = trainFresh(cfg, meta, seed, {
      learner: spec,
      train: o.train,
      onStep: (t, params, stats) => {
        const k = curveSteps.indexOf(t + 1);
        if (k >= 0) curveSums[k] += splitAccuracy(spec, params, stats, split, o.limit);
      },
    });
    return splitAccuracy(spec, r.params, r.stats, split, o.limit);
  });
  return { accuracies, ...meanStd(accuracies), curve: curveSteps.map((step, k) => ({ step, accuracy: curveSums[k] / o.seeds.length })) };
}
