// The kernel interface: everything the Tensor front end asks of a backend.
//
// Kernels take and return contiguous, row-major Float32Arrays (indices: Int32Array) plus the shapes they need.
// A kernel never keeps a reference to its inputs and always returns a fresh output array, which the front end
// owns. Kernels know nothing of autodiff: every vjp is written in Tensor ops, so a backend that implements
// these kernels gets first- and higher-order gradients for free.
//
// Determinism: for the same inputs a kernel must return bit-identical outputs every call (gradient
// checkpointing recomputes forward passes and relies on this), whatever the thread count.

export type Shape = readonly number[];

export type UnaryOp =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'abs'
  | 'sign' // -1, 0, 1
  | 'square'
  | 'reciprocal'
  | 'leakyRelu' // x > 0 ? x : param * x
  | 'leakyReluMask' // x > 0 ? 1 : param   (derivative of leakyRelu; a constant in the graph)
  | 'step' // x > 0 ? 1 : 0                (derivative of relu)
  | 'addScalar' // x + param
  | 'mulScalar' // x * param
  | 'powScalar'; // x ** param

export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  // comparisons return 1 or 0
  | 'gt'
  | 'ge'
  | 'lt'
  | 'le'
  | 'eq'
  // a > 0 ? b : param * b: the vjp of leakyRelu (relu: param 0) at a, applied to b, in one pass without a mask
  | 'leakyReluGrad';

/** Spatial parameters shared by conv2d and pooling. Padding is per side so that "same" even kernels work. */
export interface Window2d {
  kernel: readonly [number, number]; // [kh, kw]
  stride: readonly [number, number]; // [sh, sw]
  pad: readonly [number, number, number, number]; // [top, bottom, left, right]
}

export interface Conv2dParams {
  stride: readonly [number, number];
  pad: readonly [number, number, number, number]; // [top, bottom, left, right], zero padding
  groups: number;
}

export interface Backend {
  readonly name: string;

  /** Elementwise op on one array. `param` is used by leakyRelu, leakyReluMask, addScalar, mulScalar, powScalar. */
  unary(op: UnaryOp, x: Float32Array, param?: number): Float32Array;

  /**
   * Elementwise op with numpy broadcasting; `outShape` is the broadcast shape, both inputs right-aligned to it.
   * `param` is used by leakyReluGrad.
   */
  binary(op: BinaryOp, a: Float32Array, aShape: Shape, b: Float32Array, bShape: Shape, outShape: Shape, param?: number): Float32Array;

  /** cond != 0 ? a : b, with broadcasting of all three to outShape. */
  where(
    cond: Float32Array,
    condShape: Shape,
    a: Float32Array,
    aShape: Shape,
    b: Float32Array,
    bShape: Shape,
    outShape: Shape,
  ): Float32Array;

  /** Sum over `axes` (sorted, unique); the result has the kept axes in order (size = product of kept dims). */
  reduceSum(x: Float32Array, shape: Shape, axes: readonly number[]): Float32Array;
  /** Max over `axes`, same layout as reduceSum. */
  reduceMax(x: Float32Array, shape: Shape, axes: readonly number[]): Float32Array;
  /** Index of the first maximum along `axis`; result has that axis removed. */
  argMax(x: Float32Array, shape: Shape, axis: number): Int32Array;

  /**
   * Batched matmul. A is [batch, m, k] (stored [batch, k, m] when transA), B is [batch, k, n] (stored
   * [batch, n, k] when transB). aBatchStride / bBatchStride are 0 to broadcast one matrix over the batch.
   * Returns [batch, m, n].
   */
  matmul(
    a: Float32Array,
    b: Float32Array,
    batch: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
    aBatchStride: number,
    bBatchStride: number,
  ): Float32Array;

  /** out = x.permute(perm), made contiguous. */
  permute(x: Float32Array, shape: Shape, perm: readonly number[]): Float32Array;
  /** out = x[begin[0]:begin[0]+size[0], ...]. */
  slice(x: Float32Array, shape: Shape, begin: readonly number[], size: readonly number[]): Float32Array;
  /** Zero padding: before[i] zeros ahead of axis i, after[i] behind it. */
  padZero(x: Float32Array, shape: Shape, before: readonly number[], after: readonly number[]): Float32Array;
  /** Concatenate along `axis`; all shapes agree except on that axis. */
  concat(xs: readonly Float32Array[], shapes: readonly Shape[], axis: number): Float32Array;

  /** out[i] = x[idx[i]]. */
  gather(x: Float32Array, idx: Int32Array): Float32Array;
  /** out = zeros(size); out[idx[i]] += g[i]. */
  scatterAdd(g: Float32Array, idx: Int32Array, size: number): Float32Array;

  /** x [N, C, H, W], w [O, C/groups, kh, kw] -> [N, O, Ho, Wo]. No bias (the front end adds it). */
  conv2d(x: Float32Array, xShape: Shape, w: Float32Array, wShape: Shape, p: Conv2dParams): Float32Array;
  /** Gradient of conv2d with respect to x: g [N, O, Ho, Wo], w -> [N, C, H, W] (= xShape). */
  conv2dBackwardInput(g: Float32Array, gShape: Shape, w: Float32Array, wShape: Shape, xShape: Shape, p: Conv2dParams): Float32Array;
  /** Gradient of conv2d with respect to w: x, g -> [O, C/groups, kh, kw] (= wShape). */
  conv2dBackwardWeight(x: Float32Array, xShape: Shape, g: Float32Array, gShape: Shape, wShape: Shape, p: Conv2dParams): Float32Array;

  /** Max pooling over x [N, C, H, W], padding counts as -infinity. argmax holds flat indices into x. */
  maxPool2d(x: Float32Array, xShape: Shape, win: Window2d): { out: Float32Array; argmax: Int32Array };
  /**
   * Transpose of max pooling: zeros(xShape) with g [N, C, Ho, Wo] added at argmax (maxPool2d's), each output's
   * terms summed in order of their index in g. Every argmax must lie in its own (image, channel) plane of x.
   */
  maxPool2dBackward(g: Float32Array, gShape: Shape, argmax: Int32Array, xShape: Shape, win: Window2d): Float32Array;
  /**
   * Average pooling; padding counts as zeros. countPad: the divisor is kh * kw (PyTorch's count_include_pad);
   * otherwise the number of the window's positions inside the input (the box sum over kh * kw, then times
   * kh * kw / that number: the rounding of pooling followed by that rescaling).
   */
  avgPool2d(x: Float32Array, xShape: Shape, win: Window2d, countPad: boolean): Float32Array;
  /** Transpose of avgPool2d: g [N, C, Ho, Wo] -> [N, C, H, W] (= xShape). */
  avgPool2dBackward(g: Float32Array, gShape: Shape, xShape: Shape, win: Window2d, countPad: boolean): Float32Array;

  /**
   * Training-mode batch norm of x [N, C, ...]: per channel c, y = (x - mean_c) * gamma_c / sqrt(var_c + eps) +
   * beta_c with the batch's mean and biased variance, which are returned too ([C] each).
   */
  batchNorm(x: Float32Array, xShape: Shape, gamma: Float32Array, beta: Float32Array, eps: number): { y: Float32Array; mean: Float32Array; variance: Float32Array };
  /**
   * The vjp of batchNorm at (x, gamma) with its statistics: cotangents of y (null: zero), of mean and of
   * variance (null: zero) -> dx, dgamma, dbeta.
   */
  batchNormBackward(
    x: Float32Array,
    xShape: Shape,
    gamma: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    eps: number,
    gy: Float32Array | null,
    gmean: Float32Array | null,
    gvar: Float32Array | null,
  ): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array };
}

/** Output spatial size of a window op along one axis. */
export function windowOut(size: number, kernel: number, stride: number, padBefore: number, padAfter: number): number {
  return Math.floor((size + padBefore + padAfter - kernel) / stride) + 1;
}
