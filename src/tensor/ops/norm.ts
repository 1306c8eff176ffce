// Batch normalisation as one fused op (two passes over the activations instead of a dozen), with a fused vjp.
// The vjp is itself an op whose own vjp comes from the composite formula (compositeVjp), so batch norm has
// gradients of every order while first-order training runs on the fused kernels only.
import { compositeVjp, record } from '../autograd.js';
import { ShapeError, Tensor, assertFloat, shapeStr } from '../tensor.js';
import { addScalar, mul, mulScalar, reciprocal, sqrt, sub, add } from './elementwise.js';
import { sum } from './reduce.js';
import { reshape } from './shape.js';
import { B, f32 } from './util.js';

/** [1, C, 1, ...] for x [N, C, ...]: the shape of per-channel statistics kept against x. */
function statShape(x: Tensor): number[] {
  return x.shape.map((d, i) => (i === 1 ? d : 1));
}

function statAxes(x: Tensor): number[] {
  return x.shape.map((_, i) => i).filter((i) => i !== 1);
}

function check(x: Tensor, gamma: Tensor, beta?: Tensor): void {
  assertFloat('batchNorm', x, gamma, ...(beta ? [beta] : []));
  if (x.rank < 2) throw new ShapeError(`batchNorm: input must be [N, C, ...], got ${shapeStr(x.shape)}`);
  const c = x.shape[1];
  for (const [name, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t && t.size !== c) throw new ShapeError(`batchNorm: ${name} must hold ${c} values (one per channel of ${shapeStr(x.shape)}), got ${shapeStr(t.shape)}`);
  }
}

/**
 * Training-mode batch norm: y = (x - mean) * gamma / sqrt(var + eps) + beta with the batch's per-channel mean
 * and biased variance over every axis but 1. Returns y and the statistics (shaped [1, C, 1, ...]); gradients
 * flow through all three.
 */
export function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): { y: Tensor; mean: Tensor; variance: Tensor } {
  check(x, gamma, beta);
  const r = B().batchNorm(f32(x), x.shape, f32(gamma), f32(beta), eps);
  const st = statShape(x);
  const outs = [new Tensor(r.y, x.shape), new Tensor(r.mean, st), new Tensor(r.variance, st)];
  const [y, mean, variance] = record('batchNorm', [x, gamma, beta], outs, batchNormVjp(x, gamma, outs[1], outs[2], beta.shape, eps));
  return { y, mean, variance };
}

// Its own function so that the vjp holds x, gamma and the statistics but not the output y.
function batchNormVjp(x: Tensor, gamma: Tensor, mean: Tensor, variance: Tensor, betaShape: readonly number[], eps: number) {
  return (gs: readonly (Tensor | null)[], needs: readonly boolean[]): (Tensor | null)[] => {
    const [dx, dgamma, dbeta] = batchNormBackward(x, gamma, mean, variance, eps, gs[0], gs[1], gs[2]);
    return [needs[0] ? dx : null, needs[1] ? reshape(dgamma, gamma.shape) : null, needs[2] ? reshape(dbeta, betaShape) : null];
  };
}

/** The vjp of batchNormTrain as an op: -> [dx, dgamma [C], dbeta [C]]. */
function batchNormBackward(x: Tensor, gamma: Tensor, mean: Tensor, variance: Tensor, eps: number, gy: Tensor | null, gmean: Tensor | null, gvar: Tensor | null): Tensor[] {
  const c = x.shape[1];
  const r = B().batchNormBackward(f32(x), x.shape, f32(gamma), f32(mean), f32(variance), eps, gy ? f32(gy) : null, gmean ? f32(gmean) : null, gvar ? f32(gvar) : null);
  const outs = [new Tensor(r.dx, x.shape), new Tensor(r.dgamma, [c]), new Tensor(r.dbeta, [c])];
  const present = [gy, gmean, gvar];
  const inputs = [x, gamma, mean, variance, ...present.filter((t): t is Tensor => t !== null)];
  const composite = (...ins: Tensor[]): Tensor[] => {
    let k = 4;
    const [gyC, gmC, gvC] = present.map((t) => (t ? ins[k++] : null));
    return batchNormBackwardComposite(ins[0], ins[1], ins[2], ins[3], eps, gyC, gmC, gvC);
  };
  return record('batchNormBackward', inputs, outs, (gs, needs) => compositeVjp(composite, inputs, gs, needs));
}

/** The same vjp written in differentiable ops (what the second and higher orders differentiate). */
function batchNormBackwardComposite(x: Tensor, gamma: Tensor, mean: Tensor, variance: Tensor, eps: number, gy: Tensor | null, gmean: Tensor | null, gvar: Tensor | null): Tensor[] {
  const st = statShape(x);
  const axes = statAxes(x);
  const m = x.size / x.shape[1];
  const c = x.shape[1];
  const invstd = reciprocal(sqrt(addScalar(variance, eps)));
  const centered = sub(x, mean);
  let dx: Tensor;
  let dgamma: Tensor;
  let dbeta: Tensor;
  if (gy) {
    const sgy = sum(gy, axes, true);
    const sgyc = sum(mul(gy, centered), axes, true);
    dbeta = reshape(sgy, [c]);
    dgamma = reshape(mul(sgyc, invstd), [c]);
    const inner = sub(sub(gy, mulScalar(sgy, 1 / m)), mul(centered, mulScalar(mul(sgyc, mul(invstd, invstd)), 1 / m)));
    dx = mul(mul(reshape(gamma, st), invstd), inner);
  } else {
    dbeta = mulScalar(reshape(gamma, [c]), 0);
    dgamma = dbeta;
    dx = mulScalar(x, 0);
  }
  if (gmean) dx = add(dx, mulScalar(gmean, 1 / m));
  if (gvar) dx = add(dx, mul(centered, mulScalar(gvar, 2 / m)));
  return [dx, dgamma, dbeta];
}
