// Fully connected layer over explicit parameters, weight-normalised by default.
import { Rng, Tensor, add, matmul, zeros } from '../tensor/index.js';
import { kaimingNormal } from './init.js';
import { initialGain, scaleUnits, scaleWeight, weightNormScale } from './weightNorm.js';

/** Weight-normalised: {v, g, b}; plain: {w, b}. Weights are [out, in]. */
export type LinearParams = { v: Tensor; g: Tensor; b?: Tensor } | { w: Tensor; b?: Tensor };

export interface LinearInit {
  weightNorm?: boolean;
  bias?: boolean;
  /** LeakyReLU slope of the activation that follows, for the Kaiming gain. */
  slope?: number;
}

export function initLinear(inF: number, outF: number, rng: Rng, o: LinearInit = {}): LinearParams {
  const w = kaimingNormal([outF, inF], inF, rng, o.slope ?? 0);
  const b = o.bias === false ? undefined : zeros([outF]);
  const p: LinearParams = o.weightNorm === false ? { w } : { v: w, g: initialGain(w) };
  if (b) p.b = b;
  return p;
}

/** x [N, in] -> [N, out]. */
export function linear(p: LinearParams, x: Tensor): Tensor {
  let y: Tensor;
  if ('v' in p) {
    const scale = weightNormScale(p.v, p.g);
    y = p.v.size <= x.shape[0] * p.v.shape[0] ? matmul(x, scaleWeight(p.v, scale), { transB: true }) : scaleUnits(matmul(x, p.v, { transB: true }), scale);
  } else y = matmul(x, p.w, { transB: true });
  return p.b ? add(y, p.b) : y;
}
