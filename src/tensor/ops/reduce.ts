// Reductions over axes, with keepdims.
import { record1 } from '../autograd.js';
import { Tensor, assertFloat, normAxis, sizeOf } from '../tensor.js';
import { div, eq, mul, mulScalar } from './elementwise.js';
import { broadcastTo, reshape } from './shape.js';
import { B, f32, normAxes } from './util.js';

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function resultShape(shape: readonly number[], axes: readonly number[], keepdims: boolean): number[] {
  return keepdims ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  assertFloat('sum', x);
  const ax = normAxes('sum', axes, x.rank);
  const out = new Tensor(B().reduceSum(f32(x), x.shape, ax), resultShape(x.shape, ax, keepdims));
  // The cotangent stays at the kept shape: autograd broadcasts it (BROADCAST_COTANGENT) only where needed;
  // the vjp holds that shape, not x.
  const kept = keptShape(x.shape, ax);
  return record1('sum', [x], out, (g) => [reshape(g, kept)]);
}

export function mean(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const ax = normAxes('mean', axes, x.rank);
  const n = sizeOf(ax.map((a) => x.shape[a]));
  return mulScalar(sum(x, ax, keepdims), 1 / n);
}

/** Max over `axes`; the gradient is shared evenly among tied maxima. */
export function max(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  assertFloat('max', x);
  const ax = normAxes('max', axes, x.rank);
  const kept = keptShape(x.shape, ax);
  const out = new Tensor(B().reduceMax(f32(x), x.shape, ax), resultShape(x.shape, ax, keepdims));
  return record1('max', [x], out, (g) => {
    // The mask of maxima is a constant of the backward graph.
    const mask = eq(x, new Tensor(out.data, kept));
    const count = new Tensor(B().reduceSum(f32(mask), mask.shape, ax), kept);
    return [mul(broadcastTo(reshape(g, kept), x.shape), div(mask, count))];
  });
}

/** Index of the (first) maximum along one axis, as int32; no gradient. */
export function argmax(x: Tensor, axis = -1): Tensor {
  assertFloat('argmax', x);
  const a = normAxis('argmax', axis, x.rank);
  return new Tensor(B().argMax(f32(x), x.shape, a), x.shape.filter((_, i) => i !== a));
}
