// Batch normalisation in the two forms GTN uses.
import { Tensor, add, div, mean, mul, reshape, sqrt, square, sub, addScalar, ShapeError } from '../tensor/index.js';

/** Axes to take statistics over: the batch, and the spatial axes of [N, C, H, W]. */
function statAxes(x: Tensor): number[] {
  if (x.rank === 2) return [0];
  if (x.rank === 4) return [0, 2, 3];
  throw new ShapeError(`batchNorm: expected [N, C] or [N, C, H, W], got [${x.shape.join(', ')}]`);
}

function perChannel(t: Tensor, x: Tensor): Tensor {
  return x.rank === 4 ? reshape(t, [t.shape[0], 1, 1]) : t;
}

/**
 * Mean-only batch norm (Salimans & Kingma 2016), used by GTN learners: x - mean(x) + beta, no variance and no
 * gamma. `center`, when given, replaces the batch mean (evaluation with statistics gathered in training).
 * Returns the output and the batch mean it used.
 */
export function meanOnlyBatchNorm(x: Tensor, beta: Tensor, center?: Tensor): { y: Tensor; mean: Tensor } {
  const m = center ?? mean(x, statAxes(x), true);
  return { y: add(sub(x, m), perChannel(beta, x)), mean: m };
}

/** Standard batch norm with training-mode batch statistics (as the generator uses). */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const axes = statAxes(x);
  const m = mean(x, axes, true);
  const centered = sub(x, m);
  const variance = mean(square(centered), axes, true);
  const normed = div(centered, sqrt(addScalar(variance, eps)));
  return add(mul(normed, perChannel(gamma, x)), perChannel(beta, x));
}
