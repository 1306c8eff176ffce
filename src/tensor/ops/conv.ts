// 2-D convolution (NCHW, cross-correlation like every framework) and the two ops of its backward pass.
// The three are closed under vjp, so convolutions have gradients of every order:
//   conv2d(x, w)                 -> dx = conv2dBackwardInput(g, w),   dw = conv2dBackwardWeight(x, g)
//   conv2dBackwardInput(g, w)    -> dg = conv2d(h, w),                dw = conv2dBackwardWeight(h, g)
//   conv2dBackwardWeight(x, g)   -> dx = conv2dBackwardInput(g, h),   dg = conv2d(x, h)
import type { Conv2dParams } from '../backends/backend.js';
import { windowOut } from '../backends/backend.js';
import { record1 } from '../autograd.js';
import { ShapeError, Tensor, assertFloat, shapeStr } from '../tensor.js';
import { B, f32 } from './util.js';

export type Padding2d = number | readonly [number, number] | readonly [number, number, number, number];

export interface Conv2dOptions {
  /** A number or [sh, sw]. Default 1. */
  stride?: number | readonly [number, number];
  /** A number, [ph, pw] (both sides), or [top, bottom, left, right]. Default 0. 'same' keeps H and W at stride 1. */
  padding?: Padding2d | 'same';
  groups?: number;
}

export function pair(v: number | readonly [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export function sides(p: Padding2d): [number, number, number, number] {
  if (typeof p === 'number') return [p, p, p, p];
  if (p.length === 2) return [p[0], p[0], p[1], p[1]];
  return [p[0], p[1], p[2], p[3]];
}

/** 'same' padding for a kernel at stride 1; an even kernel puts the extra row/column after. */
export function samePadding(kh: number, kw: number): [number, number, number, number] {
  return [Math.floor((kh - 1) / 2), Math.ceil((kh - 1) / 2), Math.floor((kw - 1) / 2), Math.ceil((kw - 1) / 2)];
}

function convParams(op: string, x: Tensor, w: Tensor, opts: Conv2dOptions): Conv2dParams {
  if (x.rank !== 4) throw new ShapeError(`${op}: input must be [N, C, H, W], got ${shapeStr(x.shape)}`);
  if (w.rank !== 4) throw new ShapeError(`${op}: weight must be [O, C/groups, kh, kw], got ${shapeStr(w.shape)}`);
  const groups = opts.groups ?? 1;
  const [, C, H, W] = x.shape;
  const [O, Cg, kh, kw] = w.shape;
  if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0 || C / groups !== Cg) {
    throw new ShapeError(`${op}: input ${shapeStr(x.shape)} and weight ${shapeStr(w.shape)} do not match with groups=${groups}`);
  }
  const stride = pair(opts.stride ?? 1);
  const padding = opts.padding === 'same' ? samePadding(kh, kw) : sides(opts.padding ?? 0);
  if (stride.some((s) => !Number.isInteger(s) || s < 1) || padding.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ShapeError(`${op}: invalid stride ${shapeStr(stride)} or padding ${shapeStr(padding)}`);
  }
  if (windowOut(H, kh, stride[0], padding[0], padding[1]) < 1 || windowOut(W, kw, stride[1], padding[2], padding[3]) < 1) {
    throw new ShapeError(`${op}: kernel ${kh}x${kw} does not fit input ${shapeStr(x.shape)} with padding ${shapeStr(padding)}`);
  }
  return { stride, pad: padding, groups };
}

function convOutShape(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): number[] {
  const [N, , H, W] = xShape;
  const [O, , kh, kw] = wShape;
  return [N, O, windowOut(H, kh, p.stride[0], p.pad[0], p.pad[1]), windowOut(W, kw, p.stride[1], p.pad[2], p.pad[3])];
}

/** x [N, C, H, W] convolved with w [O, C/groups, kh, kw] -> [N, O, Ho, Wo]. Add a bias separately. */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  assertFloat('conv2d', x, w);
  const p = convParams('conv2d', x, w, opts);
  return conv2dWith(x, w, p);
}

function conv2dWith(x: Tensor, w: Tensor, p: Conv2dParams): Tensor {
  const out = new Tensor(B().conv2d(f32(x), x.shape, f32(w), w.shape, p), convOutShape(x.shape, w.shape, p));
  return record1('conv2d', [x, w], out, (g, needs) => [
    needs[0] ? conv2dBackwardInput(g, w, x.shape, p) : null,
    needs[1] ? conv2dBackwardWeight(x, g, w.shape, p) : null,
  ]);
}

/** The gradient of conv2d with respect to its input (a transposed convolution). */
export function conv2dBackwardInput(g: Tensor, w: Tensor, xShape: readonly number[], p: Conv2dParams): Tensor {
  const out = new Tensor(B().conv2dBackwardInput(f32(g), g.shape, f32(w), w.shape, xShape, p), xShape);
  return record1('conv2dBackwardInput', [g, w], out, (h, needs) => [
    needs[0] ? conv2dWith(h, w, p) : null,
    needs[1] ? conv2dBackwardWeight(h, g, w.shape, p) : null,
  ]);
}

/** The gradient of conv2d with respect to its weight. */
export function conv2dBackwardWeight(x: Tensor, g: Tensor, wShape: readonly number[], p: Conv2dParams): Tensor {
  const out = new Tensor(B().conv2dBackwardWeight(f32(x), x.shape, f32(g), g.shape, wShape, p), wShape);
  return record1('conv2dBackwardWeight', [x, g], out, (h, needs) => [
    needs[0] ? conv2dBackwardInput(g, h, x.shape, p) : null,
    needs[1] ? conv2dWith(x, h, p) : null,
  ]);
}
