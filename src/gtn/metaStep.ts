// One outer iteration: unroll a fresh learner on the teacher, differentiate the meta-loss into every
// meta-parameter (exact second order), and take one meta-optimiser step. A non-finite loss or gradient
// skips the update and says so. A weight scales the meta-gradient (rank-aware meta-training weighs each
// learner's loss); the reported loss is the unweighted one.
import { Rng, Tensor, treeLeaves, treeUnflatten, valueAndGrad } from '../tensor/index.js';
import type { LearnerParams } from '../models/index.js';
import { adamStep, globalNorm, type AdamConfig, type AdamState } from './metaOptim.js';
import { unroll, type MetaParams, type UnrollConfig, type UnrollData } from './unroll.js';

export interface MetaStepResult {
  meta: MetaParams;
  metaLoss: number;
  gradNorm: number;
  /** True when the loss or gradient was NaN/inf and the update was skipped. */
  skipped: boolean;
}

export function metaStep(cfg: UnrollConfig, adamCfg: AdamConfig, adam: AdamState, meta: MetaParams, learner0: LearnerParams, data: UnrollData, rng: Rng, weight = 1): MetaStepResult {
  const [loss, grads] = valueAndGrad((m: MetaParams) => unroll(cfg, m, learner0, data, rng).metaLoss)(meta);
  const leaves = treeLeaves(meta);
  const g = weight === 1 ? treeLeaves(grads) : treeLeaves(grads).map((t) => new Tensor(t.data.map((x) => x * weight), t.shape));
  const metaLoss = loss.item();
  const gradNorm = globalNorm(g);
  if (!Number.isFinite(metaLoss) || !Number.isFinite(gradNorm)) return { meta, metaLoss, gradNorm, skipped: true };
  const updated = adamStep(adamCfg, adam, leaves, g);
  return { meta: treeUnflatten(meta, updated), metaLoss, gradNorm, skipped: false };
}

