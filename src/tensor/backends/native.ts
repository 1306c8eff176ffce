// The native backend: a thin wrapper over the C++ addon in native/ (built by `npm run build:native`).
// Kernels take the Float32Array/Int32Array buffers zero-copy and return fresh arrays. The addon runs its
// kernels on a persistent thread pool (GTN_THREADS, default: the number of cores) and picks its SIMD path
// (avx512, avx2 or portable) at run time.
//
// Environment: GTN_THREADS (pool size, default: cores available to the process). GTN_MALLOC_TUNE=0 keeps glibc's
// default mmap/trim thresholds (by default the addon raises them so that the memory of freed tensors is reused
// instead of paying first-touch page faults on every large output). GTN_GC_BUDGET_MB (default 1024; 0: V8's own
// schedule): one full V8 collection per that many MiB of kernel outputs, instead of V8's ~one per 64 MB of growth
// (native/src/addon.cc, "output buffers", says why).
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GtnError } from '../../errors.js';
import type { Backend, BinaryOp, Conv2dParams, Shape, UnaryOp, Window2d } from './backend.js';

/** The raw addon surface (see native/src/addon.cc). */
export interface NativeAddon {
  unary(op: number, x: Float32Array, param: number): Float32Array;
  binary(op: number, a: Float32Array, aShape: Shape, b: Float32Array, bShape: Shape, outShape: Shape, param: number): Float32Array;
  where(c: Float32Array, cs: Shape, a: Float32Array, as: Shape, b: Float32Array, bs: Shape, os: Shape): Float32Array;
  reduceSum(x: Float32Array, shape: Shape, axes: readonly number[]): Float32Array;
  reduceMax(x: Float32Array, shape: Shape, axes: readonly number[]): Float32Array;
  argMax(x: Float32Array, shape: Shape, axis: number): Int32Array;
  matmul(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, tA: boolean, tB: boolean, sa: number, sb: number): Float32Array;
  permute(x: Float32Array, shape: Shape, perm: readonly number[]): Float32Array;
  slice(x: Float32Array, shape: Shape, begin: readonly number[], size: readonly number[]): Float32Array;
  padZero(x: Float32Array, shape: Shape, before: readonly number[], after: readonly number[]): Float32Array;
  concat(xs: readonly Float32Array[], shapes: readonly Shape[], axis: number): Float32Array;
  gather(x: Float32Array, idx: Int32Array): Float32Array;
  scatterAdd(g: Float32Array, idx: Int32Array, size: number): Float32Array;
  conv2d(x: Float32Array, xs: Shape, w: Float32Array, ws: Shape, stride: readonly number[], pad: readonly number[], groups: number): Float32Array;
  conv2dBackwardInput(g: Float32Array, gs: Shape, w: Float32Array, ws: Shape, xs: Shape, stride: readonly number[], pad: readonly number[], groups: number): Float32Array;
  conv2dBackwardWeight(x: Float32Array, xs: Shape, g: Float32Array, gs: Shape, ws: Shape, stride: readonly number[], pad: readonly number[], groups: number): Float32Array;
  maxPool2d(x: Float32Array, xs: Shape, kernel: readonly number[], stride: readonly number[], pad: readonly number[]): [Float32Array, Int32Array];
  maxPool2dBackward(g: Float32Array, gs: Shape, argmax: Int32Array, xs: Shape, kernel: readonly number[], stride: readonly number[], pad: readonly number[]): Float32Array;
  avgPool2d(x: Float32Array, xs: Shape, kernel: readonly number[], stride: readonly number[], pad: readonly number[], countPad: boolean): Float32Array;
  avgPool2dBackward(g: Float32Array, gs: Shape, xs: Shape, kernel: readonly number[], stride: readonly number[], pad: readonly number[], countPad: boolean): Float32Array;
  batchNorm(x: Float32Array, xs: Shape, gamma: Float32Array, beta: Float32Array, eps: number): [Float32Array, Float32Array, Float32Array];
  batchNormBackward(x: Float32Array, xs: Shape, gamma: Float32Array, mean: Float32Array, variance: Float32Array, eps: number, gy: Float32Array | null, gmean: Float32Array | null, gvar: Float32Array | null): [Float32Array, Float32Array, Float32Array];
  setThreads(n: number): number;
  /** Register-blocked direct convolutions for stride-1 convs with few channels on or off; returns the mode now. */
  setBlockedConv(on: boolean): boolean;
  /** The channels-in-lanes convolutions (AVX-512, or AVX2 + FMA) on or off; returns whether they run now (false on other CPUs). */
  setLanesConv(on: boolean): boolean;
  /** gc() once per `mib` MiB of outputs (outputs uncounted by V8's own schedule); 0 restores V8's schedule. */
  setGcBudget(gc: (() => void) | null, mib: number): number;
  /** Tests: outputs a kernel must write in full come filled with NaN / -1 (an unwritten element shows). */
  setOutputPoison(on: boolean): boolean;
  getThreads(): number;
  simdPath(): string;
  /** 0 auto, 1 portable, 2 avx2, 3 avx512 (capped at what the CPU supports); returns the path now in use. */
  forceSimdPath(which: number): string;
  simdLanes(): number;
  /** [clockHz, FMA FLOP/s of the slowest thread, summed over all threads, threads, of the fastest thread]. */
  measurePeak(seconds: number): [number, number, number, number, number];
}

// Op codes: the order of the enums in native/src/ops.h.
const UNARY: Record<UnaryOp, number> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, tanh: 4, sigmoid: 5, relu: 6, abs: 7, sign: 8, square: 9, reciprocal: 10,
  leakyRelu: 11, leakyReluMask: 12, step: 13, addScalar: 14, mulScalar: 15, powScalar: 16,
};
const BINARY: Record<BinaryOp, number> = {
  add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6, gt: 7, ge: 8, lt: 9, le: 10, eq: 11, leakyReluGrad: 12,
};

/** Where the addon is expected: <repo>/native/build/Release/gtn_native.node. */
export function nativeAddonPath(): string {
  // This file compiles to <repo>/dist/src/tensor/backends/native.js; from the source tree (ts-node and the like)
  // it is <repo>/src/tensor/backends/native.ts. Walk up until a native/ folder with a binding.gyp appears.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'native', 'binding.gyp'))) break;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return resolve(dir, 'native', 'build', 'Release', 'gtn_native.node');
}

let addonCache: { addon: NativeAddon } | { error: string } | null = null;

/** Loads the raw addon once; never throws. */
export function loadNativeAddon(): { addon: NativeAddon } | { error: string } {
  if (addonCache) return addonCache;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    addonCache = { error: `the native addon is not built (${path} is missing; run \`npm run build:native\`)` };
    return addonCache;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(path) as NativeAddon;
    if (typeof addon.matmul !== 'function' || typeof addon.conv2d !== 'function') {
      addonCache = { error: `${path} is not a gtn native addon of this version` };
    } else {
      addonCache = { addon };
    }
  } catch (e) {
    addonCache = { error: `the native addon failed to load (${path}): ${(e as Error).message}` };
  }
  return addonCache;
}

function makeBackend(n: NativeAddon): Backend {
  return {
    name: 'native',
    unary(op, x, param) {
      const code = UNARY[op];
      if (code === undefined) throw new Error(`native unary: unknown op '${op}'`);
      return n.unary(code, x, param ?? 0);
    },
    binary(op, a, aShape, b, bShape, outShape, param) {
      const code = BINARY[op];
      if (code === undefined) throw new Error(`native binary: unknown op '${op}'`);
      return n.binary(code, a, aShape, b, bShape, outShape, param ?? 0);
    },
    where: (c, cs, a, as, b, bs, os) => n.where(c, cs, a, as, b, bs, os),
    reduceSum: (x, shape, axes) => n.reduceSum(x, shape, axes),
    reduceMax: (x, shape, axes) => n.reduceMax(x, shape, axes),
    argMax: (x, shape, axis) => n.argMax(x, shape, axis),
    matmul: (a, b, batch, m, k, nn, tA, tB, sa, sb) => n.matmul(a, b, batch, m, k, nn, tA, tB, sa, sb),
    permute: (x, shape, perm) => n.permute(x, shape, perm),
    slice: (x, shape, begin, size) => n.slice(x, shape, begin, size),
    padZero: (x, shape, before, after) => n.padZero(x, shape, before, after),
    concat: (xs, shapes, axis) => n.concat(xs, shapes, axis),
    gather: (x, idx) => n.gather(x, idx),
    scatterAdd: (g, idx, size) => n.scatterAdd(g, idx, size),
    conv2d: (x, xs, w, ws, p: Conv2dParams) => n.conv2d(x, xs, w, ws, p.stride, p.pad, p.groups),
    conv2dBackwardInput: (g, gs, w, ws, xs, p: Conv2dParams) =>
      n.conv2dBackwardInput(g, gs, w, ws, xs, p.stride, p.pad, p.groups),
    conv2dBackwardWeight: (x, xs, g, gs, ws, p: Conv2dParams) =>
      n.conv2dBackwardWeight(x, xs, g, gs, ws, p.stride, p.pad, p.groups),
    maxPool2d(x, xs, win: Window2d) {
      const [out, argmax] = n.maxPool2d(x, xs, win.kernel, win.stride, win.pad);
      return { out, argmax };
    },
    maxPool2dBackward: (g, gs, argmax, xs, win: Window2d) => n.maxPool2dBackward(g, gs, argmax, xs, win.kernel, win.stride, win.pad),
    avgPool2d: (x, xs, win: Window2d, countPad) => n.avgPool2d(x, xs, win.kernel, win.stride, win.pad, countPad),
    avgPool2dBackward: (g, gs, xs, win: Window2d, countPad) => n.avgPool2dBackward(g, gs, xs, win.kernel, win.stride, win.pad, countPad),
    batchNorm: (x, xs, gamma, beta, eps) => {
      const [y, mean, variance] = n.batchNorm(x, xs, gamma, beta, eps);
      return { y, mean, variance };
    },
    batchNormBackward: (x, xs, gamma, mean, variance, eps, gy, gmean, gvar) => {
      const [dx, dgamma, dbeta] = n.batchNormBackward(x, xs, gamma, mean, variance, eps, gy, gmean, gvar);
      return { dx, dgamma, dbeta };
    },
  };
}

let backendCache: Backend | null = null;

/** The native backend, or why it cannot load. Never throws. */
export function loadNativeBackend(): { backend: Backend } | { error: string } {
  const r = loadNativeAddon();
  if ('error' in r) return r;
  backendCache ??= makeBackend(r.addon);
  return { backend: backendCache };
}

export const DEFAULT_GC_BUDGET_MIB = 1024;

/** GTN_GC_BUDGET_MB as a number of MiB (default DEFAULT_GC_BUDGET_MIB); a clear error for anything else. */
export function gcBudgetMiB(env: string | undefined = process.env.GTN_GC_BUDGET_MB): number {
  if (env === undefined || env.trim() === '') return DEFAULT_GC_BUDGET_MIB;
  const mib = Number(env);
  if (!Number.isFinite(mib) || mib < 0) {
    throw new GtnError(`GTN_GC_BUDGET_MB must be a number of MiB >= 0 (0: V8 schedules its own collections), got '${env}'`);
  }
  return mib;
}

/**
 * Hands the addon V8's gc() and the budget (GTN_GC_BUDGET_MB): from then on it runs one full collection per
 * budget of output bytes. Exposes gc() with --expose-gc when node was started without it. Returns the budget in
 * MiB (0: V8's own schedule), or null without the addon.
 */
export function scheduleNativeCollections(mib: number = gcBudgetMiB()): number | null {
  const r = loadNativeAddon();
  if ('error' in r) return null;
  if (mib === 0) return r.addon.setGcBudget(null, 0);
  let gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  return r.addon.setGcBudget(gc, mib);
}

/** Sets the size of the native thread pool (1..256); returns the size in use, or null without the addon. */
export function setNativeThreads(n: number): number | null {
  const r = loadNativeAddon();
  if ('error' in r) return null;
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNativeThreads: expected a positive integer, got ${n}`);
  return r.addon.setThreads(n);
}

/** Size of the native thread pool, or null without the addon. */
export function nativeThreads(): number | null {
  const r = loadNativeAddon();
  return 'error' in r ? null : r.addon.getThreads();
}

/** SIMD path of the native kernels: 'avx512', 'avx2' or 'portable'; null without the addon. */
export function nativeSimdPath(): string | null {
  const r = loadNativeAddon();
  return 'error' in r ? null : r.addon.simdPath();
}

/** One line for `gtn doctor`. */
export function describeNative(): string {
  const r = loadNativeAddon();
  if ('error' in r) return `native backend unavailable: ${r.error}`;
  return `native backend: ${r.addon.simdPath()} kernels, ${r.addon.getThreads()} thread(s)`;
}
