// One outer iteration: unroll a fresh learner on the teacher, differentiate the meta-loss into every
// meta-parameter (exact second order), and take one meta-optimiser step. A non-finite loss or gradient, or
// one whose norm exceeds the optimiser's skipNorm, skips the update and says so. A weight scales the
// meta-gradient (rank-aware meta-training weighs each learner's loss); the reported loss is the unweighted one.
import { Rng, Tensor, abs, add, addScalar, exp, log, mulScalar, neg, relu, sub, treeLeaves, treeUnflatten, valueAndGrad } from '../tensor/index.js';
import type { LearnerParams } from '../models/index.js';
import { adamStep, globalNorm, type AdamConfig, type AdamState } from './metaOptim.js';
import { unroll, windowedTrainLoss, type MetaParams, type UnrollConfig, type UnrollData } from './unroll.js';

export interface MetaStepResult {
  meta: MetaParams;
  metaLoss: number;
  gradNorm: number;
  /** True when the loss or gradient was NaN/inf, or the gradient's norm over skipNorm, and the update was skipped. */
  skipped: boolean;
}

export function metaStep(cfg: UnrollConfig, adamCfg: AdamConfig, adam: AdamState, meta: MetaParams, learner0: LearnerParams, data: UnrollData, rng: Rng, weight = 1): MetaStepResult {
  const [loss, grads] = valueAndGrad((m: MetaParams) => unroll(cfg, m, learner0, data, rng).metaLoss)(meta);
  const g = weight === 1 ? treeLeaves(grads) : treeLeaves(grads).map((t) => new Tensor(t.data.map((x) => x * weight), t.shape));
  const metaLoss = loss.item();
  return { ...applyGradient(adamCfg, adam, meta, g, [metaLoss]), metaLoss };
}

/** One Adam step along g, unless a loss in `losses` or g's norm is not finite, or g's norm is over skipNorm (then the parameters stay). */
function applyGradient(adamCfg: AdamConfig, adam: AdamState, meta: MetaParams, g: Tensor[], losses: number[]): { meta: MetaParams; gradNorm: number; skipped: boolean } {
  const gradNorm = globalNorm(g);
  const tooLarge = (adamCfg.skipNorm ?? 0) > 0 && gradNorm > adamCfg.skipNorm!;
  if (!losses.every(Number.isFinite) || !Number.isFinite(gradNorm) || tooLarge) return { meta, gradNorm, skipped: true };
  return { meta: treeUnflatten(meta, adamStep(adamCfg, adam, treeLeaves(meta), g)), gradNorm, skipped: false };
}

/** log(1 + e^x), stable for large |x|: relu(x) + log(1 + e^-|x|). */
const softplus = (x: Tensor): Tensor => add(relu(x), log(addScalar(exp(neg(abs(x))), 1)));

/** One learner of a pair: its unroll config and fresh parameters. */
export interface PairLearner {
  cfg: UnrollConfig;
  learner0: LearnerParams;
}

export interface PairOptions {
  /** True when the trusted proxy ranks learner a above learner b. */
  aBetter: boolean;
  /** Weight of the rank loss against the pair's mean meta-loss. */
  weight: number;
  /** Scale of training-loss differences at which the rank loss saturates. */
  temperature: number;
}

export interface PairMetaStepResult extends MetaStepResult {
  /** softplus(+-(Sa - Sb) / temperature), S a learner's 'train-loss' score (its windowed training loss). */
  rankLoss: number;
  /** Whether the pair came out in the trusted order (the better cell fit the teacher's data better). */
  ordered: boolean;
}

export interface PairGradient {
  grads: MetaParams;
  /** The pair's mean meta-loss. */
  metaLoss: number;
  rankLoss: number;
  /** Sa - Sb. */
  trainLossDiff: number;
}

/**
 * The objective of a pairwise rank-aware meta-step (beyond the paper; src/gtn/rankTargets.ts) and its gradient.
 * Two learners train on the same teacher data and are scored on the same real batches; the objective is their
 * mean meta-loss plus weight * softplus(s * (Sa - Sb) / temperature), s = +1 when a is the better cell and -1
 * otherwise, and S the windowed training loss that the GTN proxy scores cells by: a logistic loss on the order
 * the proxy would give the pair. `curriculumRng` is called once per learner and must return the same stream.
 */
export function pairMetaGradient(a: PairLearner, b: PairLearner, meta: MetaParams, data: UnrollData, curriculumRng: () => Rng, o: PairOptions): PairGradient {
  let metaLoss = 0;
  let rankLoss = 0;
  let trainLossDiff = 0;
  const [, grads] = valueAndGrad((m: MetaParams) => {
    const ra = unroll(a.cfg, m, a.learner0, data, curriculumRng());
    const rb = unroll(b.cfg, m, b.learner0, data, curriculumRng());
    const mean = mulScalar(add(ra.metaLoss, rb.metaLoss), 0.5);
    const d = sub(windowedTrainLoss(ra.trainLosses), windowedTrainLoss(rb.trainLosses));
    const r = softplus(mulScalar(d, (o.aBetter ? 1 : -1) / o.temperature));
    metaLoss = mean.item();
    rankLoss = r.item();
    trainLossDiff = d.item();
    return add(mean, mulScalar(r, o.weight));
  })(meta);
  return { grads, metaLoss, rankLoss, trainLossDiff };
}

/** pairMetaGradient, then one meta-optimiser step (skipped, and said so, when anything is not finite or the norm is over skipNorm). */
export function pairMetaStep(
  a: PairLearner,
  b: PairLearner,
  adamCfg: AdamConfig,
  adam: AdamState,
  meta: MetaParams,
  data: UnrollData,
  curriculumRng: () => Rng,
  o: PairOptions,
): PairMetaStepResult {
  const { grads, metaLoss, rankLoss, trainLossDiff } = pairMetaGradient(a, b, meta, data, curriculumRng, o);
  const ordered = o.aBetter ? trainLossDiff < 0 : trainLossDiff > 0;
  return { ...applyGradient(adamCfg, adam, meta, treeLeaves(grads), [metaLoss, rankLoss]), metaLoss, rankLoss, ordered };
}
