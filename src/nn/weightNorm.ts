// Weight normalisation (Salimans & Kingma 2016): w = g * v / ||v||, the norm taken per output unit. GTN's
// meta-training is far more stable with it on every layer. The per-unit scale can multiply either the weight
// or the layer's output (the same function); layers pick whichever tensor is smaller, since every pass over
// it is repeated in the forward, inner-backward and outer-backward passes.
import { Tensor, div, mul, reshape, sqrt, square, sum, noGrad } from '../tensor/index.js';

/** g / ||v|| per output unit (axis 0 of v), shape [out]. */
export function weightNormScale(v: Tensor, g: Tensor): Tensor {
  const axes = [...v.shape.keys()].slice(1);
  return div(g, sqrt(sum(square(v), axes)));
}

/** The initial gain: ||v|| per output unit, so that the layer starts as if it were not normalised. */
export function initialGain(v: Tensor): Tensor {
  return noGrad(() => sqrt(sum(square(v), [...v.shape.keys()].slice(1))));
}

/** Multiplies a weight [out, ...] by a per-unit scale [out]. */
export function scaleWeight(v: Tensor, scale: Tensor): Tensor {
  return mul(v, reshape(scale, [scale.shape[0], ...v.shape.slice(1).map(() => 1)]));
}

/** Multiplies y [N, out, ...] by a per-unit scale [out] along axis 1. */
export function scaleUnits(y: Tensor, scale: Tensor): Tensor {
  return mul(y, reshape(scale, [scale.shape[0], ...y.shape.slice(2).map(() => 1)]));
}
