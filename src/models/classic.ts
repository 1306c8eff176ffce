// The GTN paper's learners: small classifiers as pure functions of explicit parameters, weight-normalised,
// with mean-only batch norm and LeakyReLU(0.1) (shared/reference/GTN.md).
import { Rng, Tensor, flatten, leakyRelu, maxPool2d, mean, zeros } from '../tensor/index.js';
import { conv, initConv, initLinear, linear, meanOnlyBatchNorm, type ConvParams, type LinearParams } from '../nn/index.js';
import { GtnError } from '../errors.js';

export type ClassicSpec =
  /** MNIST learner: conv3x3 c1 -> maxpool(3,2,1) -> mBN -> LReLU -> conv3x3 c2 -> maxpool -> mBN -> LReLU -> fc -> mBN -> LReLU -> fc classes. */
  | { kind: 'conv'; widths: readonly [number, number, number] }
  /** MLP: in -> hidden... -> classes, mBN + LReLU after each hidden layer. */
  | { kind: 'mlp'; hidden: readonly number[] }
  /** CIFAR-10 learner: conv widths (stride 2 at the 2nd and 4th), each with mBN + LReLU, global average pool, fc. */
  | { kind: 'cifar'; widths: readonly number[] };

export type ClassicParams = {
  layers: { p: ConvParams | LinearParams; beta?: Tensor }[];
};

const SLOPE = 0.1;

/** The layer plan of a spec for an input [C, H, W]. */
function plan(spec: ClassicSpec, inShape: readonly number[], classes: number) {
  const [c, h, w] = inShape;
  const out: { kind: 'conv' | 'fc'; inF: number; outF: number; stride: number; pool: boolean; bn: boolean }[] = [];
  if (spec.kind === 'conv') {
    const [c1, c2, f] = spec.widths;
    const pooled = (n: number) => Math.floor((n + 2 - 3) / 2) + 1;
    const h2 = pooled(pooled(h));
    const w2 = pooled(pooled(w));
    out.push({ kind: 'conv', inF: c, outF: c1, stride: 1, pool: true, bn: true });
    out.push({ kind: 'conv', inF: c1, outF: c2, stride: 1, pool: true, bn: true });
    out.push({ kind: 'fc', inF: c2 * h2 * w2, outF: f, stride: 1, pool: false, bn: true });
    out.push({ kind: 'fc', inF: f, outF: classes, stride: 1, pool: false, bn: false });
  } else if (spec.kind === 'mlp') {
    let inF = c * h * w;
    for (const n of spec.hidden) {
      out.push({ kind: 'fc', inF, outF: n, stride: 1, pool: false, bn: true });
      inF = n;
    }
    out.push({ kind: 'fc', inF, outF: classes, stride: 1, pool: false, bn: false });
  } else {
    let inC = c;
    spec.widths.forEach((n, i) => {
      out.push({ kind: 'conv', inF: inC, outF: n, stride: i === 1 || i === 3 ? 2 : 1, pool: false, bn: true });
      inC = n;
    });
    out.push({ kind: 'fc', inF: inC, outF: classes, stride: 1, pool: false, bn: false });
  }
  if (out.some((l) => !Number.isInteger(l.inF) || l.inF < 1 || l.outF < 1)) throw new GtnError(`learner: widths ${JSON.stringify(spec)} do not fit input [${inShape.join(', ')}]`);
  return out;
}

export function initClassic(spec: ClassicSpec, inShape: readonly number[], classes: number, rng: Rng, weightNorm = true): ClassicParams {
  return {
    layers: plan(spec, inShape, classes).map((l, i) => {
      const r = rng.fork(i);
      const o = { weightNorm, slope: l.bn ? SLOPE : 0 };
      const p = l.kind === 'conv' ? initConv(l.inF, l.outF, 3, r, o) : initLinear(l.inF, l.outF, r, o);
      // With mean-only BN after a layer its bias is redundant (the BN shift plays its part).
      if (l.bn) delete p.b;
      return l.bn ? { p, beta: zeros([l.outF]) } : { p };
    }),
  };
}

/**
 * Forward pass; returns the logits and the batch means each mean-only BN layer subtracted (its statistics).
 * With `centers` (one per BN layer, e.g. saved from training), BN subtracts them instead of the batch's own
 * means: that is evaluation mode.
 */
export function classicForward(spec: ClassicSpec, params: ClassicParams, x: Tensor, centers?: readonly Tensor[]): { logits: Tensor; stats: Tensor[] } {
  const last = params.layers[params.layers.length - 1].p;
  const classes = ('v' in last ? last.v : last.w).shape[0];
  const layers = plan(spec, x.shape.slice(1), classes);
  if (layers.length !== params.layers.length) throw new GtnError(`learner: parameters do not match spec ${JSON.stringify(spec)}`);
  const means: Tensor[] = [];
  let h = x;
  layers.forEach((l, i) => {
    const { p, beta } = params.layers[i];
    if (l.kind === 'conv') {
      h = conv(p as ConvParams, h, { padding: 1, stride: l.stride });
      if (l.pool) h = maxPool2d(h, { kernel: 3, stride: 2, padding: 1 });
    } else {
      if (h.rank === 4) h = spec.kind === 'cifar' ? mean(h, [2, 3]) : flatten(h);
      h = linear(p as LinearParams, h);
    }
    if (beta) {
      const bn = meanOnlyBatchNorm(h, beta, centers?.[means.length]);
      means.push(bn.mean);
      h = leakyRelu(bn.y, SLOPE);
    }
  });
  return { logits: h, stats: means };
}
