// One outer iteration: unroll a fresh learner on the teacher, differentiate the meta-loss into every
// meta-parameter (exact second order), and take one meta-optimiser step. A non-finite loss or gradient
// skips the update and says so.
import { Rng, treeLeaves, treeUnflatten, valueAndGrad } from '../tensor/index.js';
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

export function metaStep(cfg: UnrollConfig, adamCfg: AdamConfig, adam: AdamState, meta: MetaParams, learner0: LearnerParams, data: UnrollData, rng: Rng): MetaStepResult {
  const [loss, grads] = valueAndGrad((m: MetaParams) => unroll(cfg, m, learner0, data, rng).metaLoss)(meta);
  const leaves = treeLeaves(meta);
  const g = treeLeaves(grads);
  const metaLoss = loss.item();
  const gradNorm = globalNorm(g);
  if (!Number.isFinite(metaLoss) || !Number.isFinite(gradNorm)) return { meta, metaLoss, gradNorm, skipped: true };
  const updated = adamStep(adamCfg, adam, leaves, g);
  return { meta: treeUnflatten(meta, updated), metaLoss, gradNorm, skipped: false };
}

