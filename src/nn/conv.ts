// 2-D convolution layer over explicit parameters, weight-normalised by default.
import { Rng, Tensor, add, conv2d, reshape, zeros, type Conv2dOptions } from '../tensor/index.js';
import { kaimingNormal } from './init.js';
import { initialGain, scaleWeight, weightNormScale } from './weightNorm.js';
import type { LinearInit } from './linear.js';

/** Weight-normalised: {v, g, b}; plain: {w, b}. Weights are [out, in/groups, kh, kw]. */
export type ConvParams = { v: Tensor; g: Tensor; b?: Tensor } | { w: Tensor; b?: Tensor };

export function initConv(inC: number, outC: number, kernel: number | readonly [number, number], rng: Rng, o: LinearInit & { groups?: number } = {}): ConvParams {
  const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
  const groups = o.groups ?? 1;
  const fanIn = (inC / groups) * kh * kw;
  const w = kaimingNormal([outC, inC / groups, kh, kw], fanIn, rng, o.slope ?? 0);
  const p: ConvParams = o.weightNorm === false ? { w } : { v: w, g: initialGain(w) };
  if (o.bias !== false) p.b = zeros([outC]);
  return p;
}

export function conv(p: ConvParams, x: Tensor, opts: Conv2dOptions = {}): Tensor {
  let y: Tensor;
  // The weight is nearly always far smaller than the output, so the scale goes on the weight.
  if ('v' in p) y = conv2d(x, scaleWeight(p.v, weightNormScale(p.v, p.g)), opts);
  else y = conv2d(x, p.w, opts);
  return p.b ? add(y, reshape(p.b, [p.b.shape[0], 1, 1])) : y;
}
