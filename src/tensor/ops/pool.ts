// Max and average pooling over [N, C, H, W].
import type { Window2d } from '../backends/backend.js';
import { windowOut } from '../backends/backend.js';
import { record1 } from '../autograd.js';
import { ShapeError, Tensor, assertFloat, shapeStr } from '../tensor.js';
import { pair, samePadding, sides, type Padding2d } from './conv.js';
import { gatherFlat } from './shape.js';
import { B, f32 } from './util.js';

export interface Pool2dOptions {
  kernel: number | readonly [number, number];
  /** Default: the kernel size. */
  stride?: number | readonly [number, number];
  /** A number, [ph, pw], [top, bottom, left, right], or 'same' (keeps H and W at stride 1). Default 0. */
  padding?: Padding2d | 'same';
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Padded positions count in the divisor (kh * kw), as PyTorch's count_include_pad. Default true. */
  countIncludePad?: boolean;
}

function window(op: string, x: Tensor, o: Pool2dOptions): Window2d {
  if (x.rank !== 4) throw new ShapeError(`${op}: input must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  const kernel = pair(o.kernel);
  const stride = pair(o.stride ?? o.kernel);
  const pad = o.padding === 'same' ? samePadding(kernel[0], kernel[1]) : sides(o.padding ?? 0);
  const [, , H, W] = x.shape;
  if ([...kernel, ...stride].some((v) => !Number.isInteger(v) || v < 1) || pad.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ShapeError(`${op}: invalid kernel ${shapeStr(kernel)}, stride ${shapeStr(stride)} or padding ${shapeStr(pad)}`);
  }
  if (pad[0] >= kernel[0] || pad[1] >= kernel[0] || pad[2] >= kernel[1] || pad[3] >= kernel[1]) {
    throw new ShapeError(`${op}: padding ${shapeStr(pad)} must be smaller than the kernel ${shapeStr(kernel)}`);
  }
  if (windowOut(H, kernel[0], stride[0], pad[0], pad[1]) < 1 || windowOut(W, kernel[1], stride[1], pad[2], pad[3]) < 1) {
    throw new ShapeError(`${op}: kernel ${shapeStr(kernel)} does not fit input ${shapeStr(x.shape)}`);
  }
  return { kernel, stride, pad };
}

function outShape(x: Tensor, w: Window2d): number[] {
  const [N, C, H, W] = x.shape;
  return [N, C, windowOut(H, w.kernel[0], w.stride[0], w.pad[0], w.pad[1]), windowOut(W, w.kernel[1], w.stride[1], w.pad[2], w.pad[3])];
}

/** Max pooling; padding never wins. The output is x gathered at the argmax, so every order of gradient works. */
export function maxPool2d(x: Tensor, o: Pool2dOptions): Tensor {
  assertFloat('maxPool2d', x);
  const w = window('maxPool2d', x, o);
  const { out, argmax } = B().maxPool2d(f32(x), x.shape, w);
  const xShape = x.shape; // max pooling's input (often the largest activation) is not kept
  return record1('maxPool2d', [x], new Tensor(out, outShape(x, w)), (g) => [maxPoolBackward(g, argmax, xShape, w)]);
}

/** zeros(xShape) with g added at the argmax: a scatter-add that knows each term stays in its own plane. */
function maxPoolBackward(g: Tensor, argmax: Int32Array, xShape: readonly number[], w: Window2d): Tensor {
  const out = new Tensor(B().maxPool2dBackward(f32(g), g.shape, argmax, xShape, w), xShape);
  const gShape = g.shape;
  return record1('maxPool2dBackward', [g], out, (h) => [gatherFlat(h, argmax, gShape)]);
}

/**
 * Average pooling. By default padded zeros count in the divisor (kh * kw), as in PyTorch's default;
 * countIncludePad: false divides by the window's positions inside the input (NAS-Bench-201's avg-pool 3x3).
 */
export function avgPool2d(x: Tensor, o: AvgPool2dOptions): Tensor {
  assertFloat('avgPool2d', x);
  return avgPoolWith(x, window('avgPool2d', x, o), o.countIncludePad ?? true);
}

function avgPoolWith(x: Tensor, w: Window2d, countPad: boolean): Tensor {
  const out = new Tensor(B().avgPool2d(f32(x), x.shape, w, countPad), outShape(x, w));
  const xShape = x.shape; // the vjp needs x's shape, not its data
  return record1('avgPool2d', [x], out, (g) => [avgPoolBackward(g, xShape, w, countPad)]);
}

function avgPoolBackward(g: Tensor, xShape: readonly number[], w: Window2d, countPad: boolean): Tensor {
  const out = new Tensor(B().avgPool2dBackward(f32(g), g.shape, xShape, w, countPad), xShape);
  return record1('avgPool2dBackward', [g], out, (h) => [avgPoolWith(h, w, countPad)]);
}
