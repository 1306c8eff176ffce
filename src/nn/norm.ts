// Batch normalisation in the two forms GTN uses.
import { Tensor, add, batchNormTrain, div, mean, mul, reshape, sqrt, sub, addScalar, ShapeError } from '../tensor/index.js';

/** Axes to take statistics over: the batch, and the spatial axes of [N, C, H, W]. */
function statAxes(x: Tensor): number[] {
  if (x.rank === 2) return [0];
  if (x.rank === 4) return [0, 2, 3];
  throw new ShapeError(`batchNorm: expected [N, C] or [N, C, H, W], got [${x.shape.join(', ')}]`);
}

/**
 * Mean-only batch norm (Salimans & Kingma 2016), used by GTN learners: x - mean(x) + beta, no variance and no
 * gamma. `center`, when given, replaces the batch mean (evaluation with statistics gathered in training).
 * Returns the output and the batch mean it used.
 */
export function meanOnlyBatchNorm(x: Tensor, beta: Tensor, center?: Tensor): { y: Tensor; mean: Tensor } {
  const m = center ?? mean(x, statAxes(x), true);
  // x - (m - beta): the shift is combined on the small per-channel tensors, one pass over x.
  return { y: sub(x, sub(m, reshape(beta, m.shape))), mean: m };
}

export interface BatchNormStats {
  mean: Tensor;
  variance: Tensor;
}

/**
 * Standard batch norm (gamma, beta). Training mode uses the batch's statistics (the fused op) and returns them;
 * with `stats` (e.g. saved from the last training batch) it uses those instead: evaluation mode.
 */
export function batchNormWithStats(x: Tensor, gamma: Tensor, beta: Tensor, stats?: BatchNormStats, eps = 1e-5): { y: Tensor } & BatchNormStats {
  statAxes(x);
  if (!stats) return batchNormTrain(x, gamma, beta, eps);
  // gamma / sqrt(var + eps) is formed on the per-channel statistics: two passes over x instead of three.
  const scale = div(reshape(gamma, stats.variance.shape), sqrt(addScalar(stats.variance, eps)));
  return { y: add(mul(sub(x, stats.mean), scale), reshape(beta, stats.variance.shape)), ...stats };
}

/** Standard batch norm with training-mode batch statistics (as the generator uses). */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  return batchNormWithStats(x, gamma, beta, undefined, eps).y;
}
