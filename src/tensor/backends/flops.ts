// A counting wrapper around any backend: every kernel call adds the floating-point operations it performs,
// computed from the shapes it was actually called with. Turned on with GTN_COUNT_FLOPS=1 (the bench does), so
// GFLOP/s figures come from what the kernels did, not from a hand count of a model.
//
// Convention: a multiply-add is 2 FLOPs (matmul, convolutions); elementwise ops, reductions, pooling windows
// and scatter-adds count one per element touched; batch norm counts its arithmetic per element (below); pure
// data movement (permute, slice, pad, concat, gather) counts zero.
import { windowOut, type Backend, type Conv2dParams, type Shape, type Window2d } from './backend.js';

let total = 0;
const perKernel = new Map<string, number>();

const size = (s: Shape) => s.reduce((p, d) => p * d, 1);

function add(kernel: string, flops: number): void {
  total += flops;
  perKernel.set(kernel, (perKernel.get(kernel) ?? 0) + flops);
}

/** 2 x (output elements) x (input channels per group x kernel area): the MACs of one convolution pass. */
function convFlops(yShape: Shape, wShape: Shape): number {
  const [, cPerGroup, kh, kw] = wShape;
  return 2 * size(yShape) * cPerGroup * kh * kw;
}

function convOutShape(xShape: Shape, wShape: Shape, p: Conv2dParams): number[] {
  const [n, , h, w] = xShape;
  const [o, , kh, kw] = wShape;
  return [n, o, windowOut(h, kh, p.stride[0], p.pad[0], p.pad[1]), windowOut(w, kw, p.stride[1], p.pad[2], p.pad[3])];
}

const windowFlops = (out: number, win: Window2d) => out * win.kernel[0] * win.kernel[1];

// Batch norm per element: forward mean (1) + centred square for the variance (2) + normalise and affine (3);
// backward: the two channel sums (4) and dx (5).
const BN_FORWARD_PER_ELEMENT = 6;
const BN_BACKWARD_PER_ELEMENT = 9;

export function counted(inner: Backend): Backend {
  return {
    name: `${inner.name}+flops`,
    unary(op, x, param) {
      add(`unary:${op}`, x.length);
      return inner.unary(op, x, param);
    },
    binary(op, a, aShape, b, bShape, outShape, param) {
      add(`binary:${op}`, size(outShape));
      return inner.binary(op, a, aShape, b, bShape, outShape, param);
    },
    where(cond, condShape, a, aShape, b, bShape, outShape) {
      add('where', size(outShape));
      return inner.where(cond, condShape, a, aShape, b, bShape, outShape);
    },
    reduceSum(x, shape, axes) {
      add('reduceSum', x.length);
      return inner.reduceSum(x, shape, axes);
    },
    reduceMax(x, shape, axes) {
      add('reduceMax', x.length);
      return inner.reduceMax(x, shape, axes);
    },
    argMax(x, shape, axis) {
      add('argMax', x.length);
      return inner.argMax(x, shape, axis);
    },
    matmul(a, b, batch, m, k, n, transA, transB, aStride, bStride) {
      add('matmul', 2 * batch * m * k * n);
      return inner.matmul(a, b, batch, m, k, n, transA, transB, aStride, bStride);
    },
    permute: (x, shape, perm) => inner.permute(x, shape, perm),
    slice: (x, shape, begin, sz) => inner.slice(x, shape, begin, sz),
    padZero: (x, shape, before, after) => inner.padZero(x, shape, before, after),
    concat: (xs, shapes, axis) => inner.concat(xs, shapes, axis),
    gather: (x, idx) => inner.gather(x, idx),
    scatterAdd(g, idx, sz) {
      add('scatterAdd', g.length);
      return inner.scatterAdd(g, idx, sz);
    },
    conv2d(x, xShape, w, wShape, p) {
      add('conv2d', convFlops(convOutShape(xShape, wShape, p), wShape));
      return inner.conv2d(x, xShape, w, wShape, p);
    },
    conv2dBackwardInput(g, gShape, w, wShape, xShape, p) {
      add('conv2dBackwardInput', convFlops(gShape, wShape));
      return inner.conv2dBackwardInput(g, gShape, w, wShape, xShape, p);
    },
    conv2dBackwardWeight(x, xShape, g, gShape, wShape, p) {
      add('conv2dBackwardWeight', convFlops(gShape, wShape));
      return inner.conv2dBackwardWeight(x, xShape, g, gShape, wShape, p);
    },
    maxPool2d(x, xShape, win) {
      const r = inner.maxPool2d(x, xShape, win);
      add('maxPool2d', windowFlops(r.out.length, win));
      return r;
    },
    maxPool2dBackward(g, gShape, argmax, xShape, win) {
      add('maxPool2dBackward', g.length); // one add per term, as scatterAdd
      return inner.maxPool2dBackward(g, gShape, argmax, xShape, win);
    },
    avgPool2d(x, xShape, win, countPad) {
      const r = inner.avgPool2d(x, xShape, win, countPad);
      add('avgPool2d', windowFlops(r.length, win));
      return r;
    },
    avgPool2dBackward(g, gShape, xShape, win, countPad) {
      add('avgPool2dBackward', windowFlops(size(gShape), win));
      return inner.avgPool2dBackward(g, gShape, xShape, win, countPad);
    },
    batchNorm(x, xShape, gamma, beta, eps) {
      add('batchNorm', BN_FORWARD_PER_ELEMENT * x.length);
      return inner.batchNorm(x, xShape, gamma, beta, eps);
    },
    batchNormBackward(x, xShape, gamma, mean, variance, eps, gy, gmean, gvar) {
      add('batchNormBackward', BN_BACKWARD_PER_ELEMENT * x.length);
      return inner.batchNormBackward(x, xShape, gamma, mean, variance, eps, gy, gmean, gvar);
    },
  };
}

/** FLOPs counted since the last reset (0 unless GTN_COUNT_FLOPS=1), in total and per kernel. */
export function flopCount(): { total: number; perKernel: Record<string, number> } {
  return { total, perKernel: Object.fromEntries([...perKernel].sort((a, b) => b[1] - a[1])) };
}

export function resetFlops(): void {
  total = 0;
  perKernel.clear();
}
