// Every native kernel against the TypeScript reference backend (js.ts), on random shapes with odd sizes,
// transposes, batch broadcast, strides, per-side paddings, groups and non-square kernels; plus determinism
// (same call twice -> identical bits; 1, 2 and 3 threads -> identical bits).
//
// Error measure everywhere: rel(a, b) = max|a - b| / (max|b| + 1e-6), b the reference.
//   elementwise / copies / pooling: rel < 1e-5 (copies, gather/scatter of single terms, max: exact)
//   sums of k terms (GEMM, conv, reductions): rel < 2e-6 * sqrt(k) (float32 accumulation in a different order
//   from the reference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, BinaryOp, Conv2dParams, Shape, UnaryOp, Window2d } from '../../src/tensor/backends/backend.js';
import { windowOut } from '../../src/tensor/backends/backend.js';
import { jsBackend } from '../../src/tensor/backends/js.js';
import { loadNativeAddon, loadNativeBackend } from '../../src/tensor/backends/native.js';

const loaded = loadNativeBackend();
const addonR = loadNativeAddon();
const skip = 'error' in loaded ? `native backend not built (${loaded.error}); run \`npm run build:native\`` : false;
if (skip) console.log(`# SKIP tests/native: ${skip}`);
const nb = ('backend' in loaded ? loaded.backend : undefined) as Backend;
const addon = 'addon' in addonR ? addonR.addon : undefined;
const js = jsBackend;
// Every output a kernel claims to write in full starts as NaN / -1 here, so a skipped element fails its test.
addon?.setOutputPoison(true);

// ------------------------------------------------------------------ helpers
let seed = 12345;
function rand(): number {
  // xorshift32, deterministic across runs
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
const size = (s: Shape) => s.reduce((a, b) => a * b, 1);
function randn(n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}
function rel(a: Float32Array | Int32Array, b: Float32Array | Int32Array): number {
  assert.equal(a.length, b.length, `length ${a.length} != reference ${b.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
      continue;
    }
    if (x === y) {
      m = Math.max(m, Math.abs(y) === Infinity ? 0 : Math.abs(y));
      continue;
    }
    d = Math.max(d, Math.abs(x - y));
    m = Math.max(m, Math.abs(y));
  }
  return d / (m + 1e-6);
}
function close(a: Float32Array | Int32Array, b: Float32Array | Int32Array, bound: number, what: string): void {
  const e = rel(a, b);
  assert.ok(e < bound, `${what}: rel error ${e.toExponential(2)} >= bound ${bound.toExponential(2)}`);
}
function sameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}: bits differ at ${i}: ${a[i]} vs ${b[i]}`);
}
const sumBound = (k: number) => 2e-6 * Math.sqrt(Math.max(k, 1));
const EW = 1e-5;

// ------------------------------------------------------------------ elementwise
test('unary ops match js (rel < 1e-5)', { skip }, () => {
  const ops: UnaryOp[] = ['neg', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu', 'abs', 'sign', 'square', 'reciprocal',
    'leakyRelu', 'leakyReluMask', 'step', 'addScalar', 'mulScalar', 'powScalar'];
  for (const n of [1, 7, 13, 127, 70001]) {
    for (const op of ops) {
      const positive = op === 'log' || op === 'sqrt' || op === 'powScalar';
      const x = randn(n, positive ? 0.01 : -4, 4);
      for (const p of op === 'powScalar' ? [2, 0.5, -1.5, 3] : [0.1]) {
        close(nb.unary(op, x, p), js.unary(op, x, p), EW, `unary ${op} n=${n} p=${p}`);
      }
    }
  }
});

const binShapes: Array<[Shape, Shape, Shape]> = [
  [[7, 13], [7, 13], [7, 13]],
  [[], [33, 7], [33, 7]],
  [[33, 7], [], [33, 7]],
  [[7, 13], [13], [7, 13]], // row broadcast
  [[7, 13], [7, 1], [7, 13]], // column broadcast
  [[7, 1], [7, 13], [7, 13]],
  [[3, 1, 5], [1, 4, 5], [3, 4, 5]],
  [[2, 3, 1, 7], [3, 13, 1], [2, 3, 13, 7]],
  [[1], [1], [1]],
  [[128, 64, 7, 7], [1, 64, 1, 1], [128, 64, 7, 7]], // per-channel, threaded
  [[300, 301], [300, 301], [300, 301]],
  [[256, 300], [300], [256, 300]],
];
test('binary ops with broadcasting match js (rel < 1e-5)', { skip }, () => {
  const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'gt', 'ge', 'lt', 'le', 'eq', 'leakyReluGrad'];
  for (const [as, bs, os] of binShapes) {
    for (const op of ops) {
      const a = randn(size(as), op === 'pow' ? 0.1 : -2, 2);
      const b = randn(size(bs), -2, 2);
      if (op === 'eq' || op === 'ge' || op === 'le') for (let i = 0; i < b.length; i += 3) b[i] = a[i % a.length];
      if (op === 'leakyReluGrad') for (let i = 0; i < a.length; i += 5) a[i] = 0; // x = 0 takes the slope, as in js
      for (const p of op === 'leakyReluGrad' ? [0.1, 0] : [undefined])
        close(nb.binary(op, a, as, b, bs, os, p), js.binary(op, a, as, b, bs, os, p), EW, `binary ${op} ${as}|${bs} p=${p}`);
    }
  }
});

test('where matches js (exact)', { skip }, () => {
  const cases: Array<[Shape, Shape, Shape, Shape]> = [
    [[7, 13], [7, 13], [7, 13], [7, 13]],
    [[7, 1], [13], [], [7, 13]],
    [[1, 4, 1], [3, 4, 5], [3, 1, 5], [3, 4, 5]],
    [[200, 300], [200, 300], [1], [200, 300]],
  ];
  for (const [cs, as, bs, os] of cases) {
    const c = randn(size(cs)).map((v) => (v > 0 ? 1 : 0));
    const a = randn(size(as));
    const b = randn(size(bs));
    close(nb.where(c, cs, a, as, b, bs, os), js.where(c, cs, a, as, b, bs, os), 1e-30, `where ${cs}`);
  }
});

// ------------------------------------------------------------------ reductions
test('reduceSum / reduceMax / argMax match js (sum rel < 2e-6 sqrt(k), max exact)', { skip }, () => {
  const shapes: Shape[] = [[7, 13, 33], [1, 7, 1], [33], [128, 64, 7, 7], [5, 3, 2, 7], [100003]];
  for (const s of shapes) {
    const x = randn(size(s), -3, 3);
    const r = s.length;
    for (let mask = 1; mask < 1 << r; mask++) {
      const axes = [...Array(r).keys()].filter((i) => mask & (1 << i));
      const k = axes.reduce((p, i) => p * s[i], 1);
      close(nb.reduceSum(x, s, axes), js.reduceSum(x, s, axes), sumBound(k), `reduceSum ${s} axes ${axes}`);
      close(nb.reduceMax(x, s, axes), js.reduceMax(x, s, axes), 1e-30, `reduceMax ${s} axes ${axes}`);
    }
    for (let ax = 0; ax < r; ax++) close(nb.argMax(x, s, ax), js.argMax(x, s, ax), 1e-30, `argMax ${s} axis ${ax}`);
  }
  // ties: first maximum
  const t = new Float32Array([1, 3, 3, 0, 2, 2]);
  close(nb.argMax(t, [2, 3], 1), js.argMax(t, [2, 3], 1), 1e-30, 'argMax ties');
});

// ------------------------------------------------------------------ matmul
function mmCase(batch: number, m: number, k: number, n: number, tA: boolean, tB: boolean, bcA: boolean, bcB: boolean, what: string) {
  const sa = bcA ? 0 : m * k;
  const sb = bcB ? 0 : k * n;
  const a = randn((bcA ? 1 : batch) * m * k);
  const b = randn((bcB ? 1 : batch) * k * n);
  close(nb.matmul(a, b, batch, m, k, n, tA, tB, sa, sb), js.matmul(a, b, batch, m, k, n, tA, tB, sa, sb), sumBound(k),
    `${what} matmul b${batch} ${m}x${k}x${n} tA=${tA} tB=${tB} bcA=${bcA} bcB=${bcB}`);
}
test('matmul matches js: odd sizes, transposes, batch broadcast (rel < 2e-6 sqrt(k))', { skip }, () => {
  const sizes = [1, 7, 13, 33, 127];
  for (const m of sizes)
    for (const k of sizes)
      for (const n of sizes) {
        if ((m * 7 + k * 3 + n) % 3 !== 0 && !(m === 127 && n === 127)) continue; // a third of the grid, all large ones
        for (let t = 0; t < 4; t++) mmCase(1, m, k, n, (t & 1) === 1, (t & 2) === 2, false, false, 'grid');
      }
  for (let t = 0; t < 4; t++) {
    const tA = (t & 1) === 1;
    const tB = (t & 2) === 2;
    mmCase(3, 13, 33, 7, tA, tB, false, false, 'batched');
    mmCase(3, 13, 33, 7, tA, tB, true, false, 'bcast A');
    mmCase(5, 13, 33, 7, tA, tB, false, true, 'bcast B');
    mmCase(4, 33, 1, 13, tA, tB, false, true, 'k=1');
    mmCase(2, 128, 784, 256, tA, tB, false, true, 'meta-step');
    mmCase(1, 300, 513, 70, tA, tB, false, false, 'multi-block');
  }
  mmCase(16, 64, 64, 64, false, false, false, false, 'many small');
  // k = 0 -> zeros
  const z = nb.matmul(new Float32Array(0), new Float32Array(0), 2, 3, 0, 4, false, false, 0, 0);
  assert.deepEqual(Array.from(z), new Array(24).fill(0));
});

test('matmul on every SIMD path the CPU has (portable, avx2, avx512) matches js', { skip }, () => {
  assert.ok(addon);
  try {
    for (const path of [1, 2, 3]) {
      const name = addon.forceSimdPath(path);
      for (let t = 0; t < 4; t++) {
        mmCase(1, 37, 301, 45, (t & 1) === 1, (t & 2) === 2, false, false, name);
        mmCase(3, 128, 100, 67, (t & 1) === 1, (t & 2) === 2, false, true, name);
      }
    }
  } finally {
    addon.forceSimdPath(0);
  }
});

// ------------------------------------------------------------------ copies
test('permute / slice / padZero / concat match js (exact)', { skip }, () => {
  const s: Shape = [7, 13, 33];
  const x = randn(size(s));
  for (const perm of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
    close(nb.permute(x, s, perm), js.permute(x, s, perm), 1e-30, `permute ${perm}`);
  const s4: Shape = [2, 3, 4, 5];
  const x4 = randn(size(s4));
  for (const perm of [[0, 2, 3, 1], [3, 2, 1, 0], [1, 0, 3, 2]])
    close(nb.permute(x4, s4, perm), js.permute(x4, s4, perm), 1e-30, `permute4 ${perm}`);
  const big: Shape = [64, 128, 49];
  const xb = randn(size(big));
  for (const perm of [[1, 0, 2], [0, 2, 1], [2, 1, 0]]) close(nb.permute(xb, big, perm), js.permute(xb, big, perm), 1e-30, `permute big ${perm}`);
  const t2: Shape = [127, 33];
  const x2 = randn(size(t2));
  close(nb.permute(x2, t2, [1, 0]), js.permute(x2, t2, [1, 0]), 1e-30, 'transpose 127x33');

  close(nb.slice(x, s, [1, 2, 3], [5, 7, 29]), js.slice(x, s, [1, 2, 3], [5, 7, 29]), 1e-30, 'slice');
  close(nb.slice(x, s, [0, 0, 0], [7, 13, 33]), js.slice(x, s, [0, 0, 0], [7, 13, 33]), 1e-30, 'slice all');
  close(nb.slice(x, s, [6, 0, 32], [1, 13, 1]), js.slice(x, s, [6, 0, 32], [1, 13, 1]), 1e-30, 'slice edge');
  close(nb.slice(xb, big, [3, 0, 0], [40, 128, 49]), js.slice(xb, big, [3, 0, 0], [40, 128, 49]), 1e-30, 'slice big');

  close(nb.padZero(x, s, [1, 0, 2], [0, 3, 1]), js.padZero(x, s, [1, 0, 2], [0, 3, 1]), 1e-30, 'padZero');
  close(nb.padZero(x4, s4, [0, 0, 1, 1], [0, 0, 1, 1]), js.padZero(x4, s4, [0, 0, 1, 1], [0, 0, 1, 1]), 1e-30, 'padZero nchw');
  close(nb.padZero(xb, big, [0, 0, 3], [0, 0, 0]), js.padZero(xb, big, [0, 0, 3], [0, 0, 0]), 1e-30, 'padZero big');

  for (let axis = 0; axis < 3; axis++) {
    const shapes: Shape[] = [0, 1, 2].map((i) => s.map((d, j) => (j === axis ? [1, 5, 7][i] : d)));
    const xs = shapes.map((sh) => randn(size(sh)));
    close(nb.concat(xs, shapes, axis), js.concat(xs, shapes, axis), 1e-30, `concat axis ${axis}`);
  }
  const cs: Shape[] = [[128, 128], [128, 10]];
  const cx = cs.map((sh) => randn(size(sh)));
  close(nb.concat(cx, cs, 1), js.concat(cx, cs, 1), 1e-30, 'concat noise++label');
});

test('gather / scatterAdd match js (gather exact, scatterAdd rel < 1e-5)', { skip }, () => {
  const x = randn(1000);
  const idx = new Int32Array(70001).map(() => Math.floor(rand() * 1000));
  close(nb.gather(x, idx), js.gather(x, idx), 1e-30, 'gather');
  const g = randn(idx.length);
  close(nb.scatterAdd(g, idx, 1000), js.scatterAdd(g, idx, 1000), sumBound(140), 'scatterAdd');
  close(nb.scatterAdd(g.subarray(0, 7), idx.subarray(0, 7), 1003), js.scatterAdd(g.subarray(0, 7), idx.subarray(0, 7), 1003), EW, 'scatterAdd small');
  // max pooling's gradient: the argmax of 2x2 windows (chunks of terms with disjoint index ranges), and runs
  // of 32 terms per output in order (disjoint chunks at 2 threads, not at 3): the same sums as the reference
  const xs: Shape = [8, 16, 28, 28];
  const { argmax } = nb.maxPool2d(randn(size(xs)), xs, { kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0] });
  const ga = randn(argmax.length);
  close(nb.scatterAdd(ga, argmax, size(xs)), js.scatterAdd(ga, argmax, size(xs)), 1e-30, 'scatterAdd of max pooling');
  const runs = Int32Array.from({ length: 1 << 17 }, (_, i) => i >> 5);
  const gr = randn(runs.length);
  close(nb.scatterAdd(gr, runs, 1 << 12), js.scatterAdd(gr, runs, 1 << 12), sumBound(32), 'scatterAdd of sorted runs');
  // bad indices (checked inside the parallel passes now): an error, small or large, first or last
  assert.throws(() => nb.gather(x, new Int32Array([1000])), /out of range/);
  const bad = Int32Array.from(idx);
  bad[bad.length - 1] = -1;
  assert.throws(() => nb.gather(x, bad), /index -1 out of range/);
  assert.throws(() => nb.scatterAdd(g, bad, 1000), /index -1 out of range/);
  bad[bad.length - 1] = 5;
  bad[0] = 1000;
  assert.throws(() => nb.scatterAdd(g, bad, 1000), /index 1000 out of range/);
  assert.throws(() => nb.scatterAdd(g.subarray(0, 3), new Int32Array([0, 3, 1]), 3), /index 3 out of range/);
  assert.throws(() => nb.scatterAdd(g.subarray(0, 1), new Int32Array([0]), 0), /out of range/);
});

// ------------------------------------------------------------------ conv
interface ConvCase { N: number; C: number; H: number; W: number; O: number; kh: number; kw: number; p: Conv2dParams; what: string }
const convCases: ConvCase[] = [
  { N: 2, C: 3, H: 7, W: 13, O: 4, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: '3x3 same' },
  { N: 3, C: 4, H: 13, W: 7, O: 6, kh: 1, kw: 3, p: { stride: [1, 1], pad: [0, 0, 1, 1], groups: 2 }, what: '1x3 groups 2' },
  { N: 2, C: 4, H: 13, W: 7, O: 4, kh: 3, kw: 1, p: { stride: [1, 1], pad: [1, 1, 0, 0], groups: 1 }, what: '3x1' },
  { N: 2, C: 3, H: 9, W: 13, O: 5, kh: 1, kw: 7, p: { stride: [1, 1], pad: [0, 0, 3, 3], groups: 1 }, what: '1x7' },
  { N: 2, C: 3, H: 13, W: 9, O: 5, kh: 7, kw: 1, p: { stride: [1, 1], pad: [3, 3, 0, 0], groups: 1 }, what: '7x1' },
  { N: 2, C: 5, H: 13, W: 13, O: 7, kh: 3, kw: 3, p: { stride: [2, 2], pad: [0, 1, 1, 0], groups: 1 }, what: 'stride 2 per-side pad' },
  { N: 3, C: 2, H: 8, W: 8, O: 3, kh: 2, kw: 2, p: { stride: [1, 1], pad: [0, 1, 0, 1], groups: 1 }, what: '2x2 even same' },
  { N: 2, C: 6, H: 7, W: 7, O: 9, kh: 1, kw: 1, p: { stride: [1, 1], pad: [0, 0, 0, 0], groups: 3 }, what: '1x1 pointwise groups 3' },
  { N: 2, C: 6, H: 7, W: 7, O: 4, kh: 1, kw: 1, p: { stride: [2, 1], pad: [0, 0, 0, 0], groups: 1 }, what: '1x1 stride (2,1)' },
  { N: 2, C: 6, H: 7, W: 7, O: 6, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 6 }, what: 'depthwise' },
  { N: 1, C: 16, H: 14, W: 14, O: 32, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'one image (threaded GEMM)' },
  { N: 8, C: 1, H: 28, W: 28, O: 64, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'MNIST conv1' },
  { N: 4, C: 64, H: 14, W: 14, O: 128, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'MNIST conv2' },
  { N: 2, C: 64, H: 28, W: 28, O: 1, kh: 3, kw: 3, p: { stride: [1, 1], pad: [0, 0, 0, 0], groups: 1 }, what: 'generator conv 64->1' },
  // the register-blocked direct kernels (stride 1, one group, 5+ output channels): NB201 shapes, ragged blocks
  { N: 3, C: 8, H: 32, W: 32, O: 8, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'NB201 stage 1 (blocked)' },
  { N: 2, C: 16, H: 16, W: 17, O: 9, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'NB201 stage 2, odd width (blocked)' },
  { N: 2, C: 16, H: 8, W: 8, O: 16, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'NB201 stage 3 (8 wide: GEMM)' },
  { N: 2, C: 5, H: 11, W: 21, O: 13, kh: 3, kw: 2, p: { stride: [1, 1], pad: [2, 0, 1, 0], groups: 1 }, what: 'blocked, ragged blocks, lopsided padding' },
  // output channels in the vector lanes (AVX-512, multiples of 32 outputs): ragged (channel, row) blocks of the
  // weight gradient, column blocks of 10 and 11, a 5x3 kernel, lopsided padding, 8 wide maps
  { N: 3, C: 5, H: 9, W: 20, O: 32, kh: 3, kw: 3, p: { stride: [1, 1], pad: [0, 2, 1, 1], groups: 1 }, what: 'lanes: 32 outputs, 5 inputs' },
  { N: 2, C: 32, H: 7, W: 11, O: 64, kh: 5, kw: 3, p: { stride: [1, 1], pad: [2, 2, 1, 1], groups: 1 }, what: 'lanes: 5x3, 11 wide' },
  { N: 3, C: 64, H: 8, W: 8, O: 32, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'lanes: 8x8, 64 -> 32' },
  { N: 2, C: 32, H: 12, W: 13, O: 16, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'lanes: 16 outputs, 13 wide' },
  { N: 2, C: 16, H: 30, W: 28, O: 48, kh: 3, kw: 3, p: { stride: [1, 1], pad: [0, 0, 0, 0], groups: 1 }, what: 'lanes: 48 outputs, 26 wide' },
  // strided convs, channels in lanes (forward at column stride 1-2; input gradient by phases when the input
  // channels fill 16 or 32 lanes; weight gradient of 3-wide kernels at any stride)
  { N: 3, C: 16, H: 32, W: 32, O: 32, kh: 3, kw: 3, p: { stride: [2, 2], pad: [1, 1, 1, 1], groups: 1 }, what: 'lanes: CIFAR reduction 16 -> 32, stride 2' },
  { N: 2, C: 16, H: 17, W: 15, O: 16, kh: 3, kw: 3, p: { stride: [2, 2], pad: [1, 0, 1, 1], groups: 1 }, what: 'lanes: stride 2, odd sizes, lopsided pad' },
  { N: 2, C: 32, H: 11, W: 37, O: 32, kh: 3, kw: 3, p: { stride: [1, 2], pad: [1, 1, 0, 2], groups: 1 }, what: 'lanes: stride (1, 2), 19 wide, 32 inputs' },
  { N: 2, C: 12, H: 9, W: 20, O: 16, kh: 3, kw: 3, p: { stride: [2, 2], pad: [0, 0, 0, 0], groups: 1 }, what: 'lanes: stride 2, 12 inputs (input gradient by GEMM)' },
  { N: 2, C: 16, H: 13, W: 12, O: 16, kh: 2, kw: 3, p: { stride: [3, 1], pad: [1, 0, 1, 1], groups: 1 }, what: 'lanes: stride (3, 1), 2x3' },
  { N: 2, C: 16, H: 14, W: 23, O: 32, kh: 3, kw: 3, p: { stride: [2, 3], pad: [0, 1, 1, 1], groups: 1 }, what: 'lanes: stride (2, 3) (forward by GEMM)' },
  { N: 2, C: 16, H: 12, W: 12, O: 16, kh: 5, kw: 5, p: { stride: [2, 2], pad: [2, 2, 2, 2], groups: 1 }, what: 'lanes: 5x5 stride 2 (weight gradient by GEMM)' },
  // AVX2 + FMA machines without AVX-512: channels in 4 (xmm), 8 or 16 (ymm) lanes, stride-1 forward and input
  // gradient, weight gradient of 1- and 3-wide kernels at any stride
  { N: 2, C: 4, H: 32, W: 32, O: 4, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 }, what: 'avx2 lanes: NB201 C = 4, xmm' },
  { N: 3, C: 12, H: 9, W: 25, O: 12, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 0, 2, 1], groups: 1 }, what: 'avx2 lanes: 12 channels, 25 wide, lopsided pad' },
  { N: 2, C: 20, H: 10, W: 10, O: 24, kh: 1, kw: 1, p: { stride: [1, 1], pad: [0, 0, 0, 0], groups: 1 }, what: 'avx2 lanes: pointwise 20 -> 24' },
  { N: 2, C: 8, H: 16, W: 15, O: 16, kh: 1, kw: 1, p: { stride: [2, 2], pad: [0, 0, 0, 0], groups: 1 }, what: 'avx2 lanes: pointwise stride 2, 16 outputs' },
  // one channel on a side, 3x3 (AVX-512: the weight gradient per channel pair, columns in masked vectors)
  { N: 3, C: 1, H: 11, W: 19, O: 7, kh: 3, kw: 3, p: { stride: [1, 1], pad: [2, 0, 1, 2], groups: 1 }, what: 'pairs: 1 input, 20 wide, lopsided pad' },
  { N: 2, C: 5, H: 9, W: 9, O: 1, kh: 3, kw: 3, p: { stride: [1, 1], pad: [1, 1, 0, 1], groups: 1 }, what: 'pairs: 1 output, 8 wide' },
  { N: 2, C: 3, H: 6, W: 34, O: 1, kh: 3, kw: 3, p: { stride: [1, 1], pad: [0, 0, 0, 0], groups: 1 }, what: 'pairs: 1 output, 32 wide' },
  { N: 2, C: 4, H: 7, W: 32, O: 1, kh: 3, kw: 3, p: { stride: [1, 1], pad: [0, 2, 0, 0], groups: 1 }, what: 'single output: 30 wide from 32' },
];
// Native conv paths: im2col + GEMM only; with the register-blocked kernels; with the channels-in-lanes kernels too
// (AVX-512 or AVX2 + FMA machines; elsewhere setLanesConv(true) reads false and the third path repeats the second).
const CONV_PATHS = [
  { blocked: false, lanes: false },
  { blocked: true, lanes: false },
  { blocked: true, lanes: true },
];
test('conv2d forward / backward-input / backward-weight match js (rel < 2e-6 sqrt(k)), every native path', { skip }, () => {
  assert.ok(addon);
  for (const path of CONV_PATHS)
  for (const c0 of convCases) {
    addon.setBlockedConv(path.blocked);
    addon.setLanesConv(path.lanes);
    const c = { ...c0, what: `${c0.what} (blocked ${path.blocked}, lanes ${path.lanes})` };
    const xs: Shape = [c.N, c.C, c.H, c.W];
    const ws: Shape = [c.O, c.C / c.p.groups, c.kh, c.kw];
    const Ho = windowOut(c.H, c.kh, c.p.stride[0], c.p.pad[0], c.p.pad[1]);
    const Wo = windowOut(c.W, c.kw, c.p.stride[1], c.p.pad[2], c.p.pad[3]);
    const gs: Shape = [c.N, c.O, Ho, Wo];
    const x = randn(size(xs));
    const w = randn(size(ws));
    const g = randn(size(gs));
    const kf = (c.C / c.p.groups) * c.kh * c.kw;
    close(nb.conv2d(x, xs, w, ws, c.p), js.conv2d(x, xs, w, ws, c.p), sumBound(kf), `conv2d ${c.what}`);
    close(nb.conv2dBackwardInput(g, gs, w, ws, xs, c.p), js.conv2dBackwardInput(g, gs, w, ws, xs, c.p),
      sumBound((c.O / c.p.groups) * c.kh * c.kw), `conv2dBackwardInput ${c.what}`);
    close(nb.conv2dBackwardWeight(x, xs, g, gs, ws, c.p), js.conv2dBackwardWeight(x, xs, g, gs, ws, c.p),
      sumBound(c.N * Ho * Wo), `conv2dBackwardWeight ${c.what}`);
  }
  addon.setBlockedConv(false);
  addon.setLanesConv(true);
});

// ------------------------------------------------------------------ pooling
test('maxPool2d / maxPool2dBackward / avgPool2d / avgPool2dBackward match js (max exact, sums rel < 1e-5)', { skip }, () => {
  const wins: Window2d[] = [];
  for (const k of [2, 3, 5]) {
    wins.push({ kernel: [k, k], stride: [k, k], pad: [0, 0, 0, 0] });
    wins.push({ kernel: [k, k], stride: [1, 1], pad: [(k - 1) >> 1, k >> 1, (k - 1) >> 1, k >> 1] }); // 'same'
    wins.push({ kernel: [k, k], stride: [2, 2], pad: [k >> 1, k >> 1, k >> 1, k >> 1] });
  }
  wins.push({ kernel: [1, 3], stride: [1, 2], pad: [0, 0, 1, 0] });
  wins.push({ kernel: [2, 3], stride: [1, 1], pad: [0, 1, 2, 0] }); // stride 1 (box-filter path), lopsided padding
  wins.push({ kernel: [3, 3], stride: [1, 1], pad: [0, 0, 0, 0] });
  wins.push({ kernel: [3, 2], stride: [2, 1], pad: [1, 0, 0, 1] });
  wins.push({ kernel: [3, 3], stride: [3, 1], pad: [0, 2, 2, 1] }); // 16 lanes a vector, lopsided padding
  wins.push({ kernel: [2, 9], stride: [1, 3], pad: [1, 0, 8, 4] }); // 8 lanes a vector (the reads span 32 columns)
  const cases: [Shape, 'randn' | 'ties' | 'nan'][] = [
    [[2, 3, 7, 13], 'randn'],
    [[1, 1, 1, 1], 'randn'],
    [[4, 64, 28, 28], 'randn'],
    [[2, 5, 9, 31], 'ties'],
    [[2, 3, 11, 47], 'ties'], // rows wider than one vector's reads
    [[3, 4, 10, 19], 'nan'],
  ];
  // 'ties': few distinct values, so windows hold equal maxima and the first one (row-major) must win. 'nan': NaN
  // and -inf sprinkled in: a window whose first pixel is NaN keeps it, later NaNs never win, an all -inf window
  // keeps its first pixel.
  const pixels = (xs: Shape, kind: string) =>
    kind === 'ties' ? randn(size(xs)).map((v) => Math.round(v)) : kind === 'nan' ? randn(size(xs)).map((v) => (v > 1.2 ? NaN : v < -0.3 ? -Infinity : v)) : randn(size(xs));
  try {
    // SSE (forced portable GEMM path) and AVX-512 (where the CPU has it) max pooling
    for (const path of [1, 3]) {
      addon?.forceSimdPath(path);
      for (const [xs, kind] of cases) {
        const x = pixels(xs, kind);
        for (const win of wins) {
          const [kh, kw] = win.kernel;
          if (xs[2] + win.pad[0] + win.pad[1] < kh || xs[3] + win.pad[2] + win.pad[3] < kw) continue;
          const what = `${xs} ${kind} k${win.kernel} s${win.stride} p${win.pad} path ${path}`;
          const a = nb.maxPool2d(x, xs, win);
          const b = js.maxPool2d(x, xs, win);
          assert.deepEqual(a.out, b.out, `maxPool2d ${what}`); // NaN-aware, bit for bit
          close(a.argmax, b.argmax, 1e-30, `maxPool2d argmax ${what}`);
          if (path !== 1) continue;
          const gs: Shape = [xs[0], xs[1], windowOut(xs[2], kh, win.stride[0], win.pad[0], win.pad[1]), windowOut(xs[3], kw, win.stride[1], win.pad[2], win.pad[3])];
          const g = randn(size(gs));
          const gx = nb.maxPool2dBackward(g, gs, a.argmax, xs, win);
          close(gx, js.maxPool2dBackward(g, gs, b.argmax, xs, win), EW, `maxPool2dBackward ${what}`);
          assert.deepEqual(gx, nb.scatterAdd(g, a.argmax, size(xs)), `maxPool2dBackward = scatterAdd in order ${what}`);
          if (kind === 'nan') continue;
          for (const countPad of [true, false]) {
            const w = `${what} countPad ${countPad}`;
            const y = nb.avgPool2d(x, xs, win, countPad);
            close(y, js.avgPool2d(x, xs, win, countPad), EW, `avgPool2d ${w}`);
            const gx = nb.avgPool2dBackward(g, gs, xs, win, countPad);
            close(gx, js.avgPool2dBackward(g, gs, xs, win, countPad), EW, `avgPool2dBackward ${w}`);
            if (countPad) continue;
            // Bit for bit the rounding of pooling with padding counted, then a multiply by kh * kw / (inside
            // positions) per output (the composite NB201's avg-pool was built from before, whose scores stand).
            const inside = js.avgPool2d(new Float32Array(size(xs)).fill(1), xs, win, true); // count / (kh * kw)
            const rescale = Float32Array.from(inside, (v) => (kh * kw) / Math.round(kh * kw * v));
            assert.deepEqual(y, nb.avgPool2d(x, xs, win, true).map((v, i) => v * rescale[i]), `avgPool2d = pool * rescale ${w}`);
            assert.deepEqual(gx, nb.avgPool2dBackward(g.map((v, i) => v * rescale[i]), gs, xs, win, true), `avgPool2dBackward = pool^T(g * rescale) ${w}`);
          }
        }
      }
    }
  } finally {
    addon?.forceSimdPath(0);
  }
  // an index outside its own plane (the next plane's first pixel) is refused by both backends
  const xs: Shape = [2, 3, 6, 6];
  const win: Window2d = { kernel: [2, 2], stride: [2, 2], pad: [0, 0, 0, 0] };
  const { argmax } = nb.maxPool2d(randn(size(xs)), xs, win);
  argmax[8] = 36;
  for (const be of [nb, js]) assert.throws(() => be.maxPool2dBackward(randn(argmax.length), [2, 3, 3, 3], argmax, xs, win), /outside its own plane/);
});

// ------------------------------------------------------------------ batch norm
test('batchNorm / batchNormBackward match js (rel < 2e-6 sqrt(k)), with and without statistic cotangents', { skip }, () => {
  const shapes: Shape[] = [[4, 3, 5, 7], [64, 8, 32, 32], [9, 5], [1, 2, 1, 1], [3, 17, 33], [33, 300]];
  for (const xs of shapes) {
    const c = xs[1];
    const k = size(xs) / c;
    const x = randn(size(xs), -2, 3);
    const gamma = randn(c, 0.5, 1.5);
    const beta = randn(c);
    const f = nb.batchNorm(x, xs, gamma, beta, 1e-5);
    const r = js.batchNorm(x, xs, gamma, beta, 1e-5);
    close(f.mean, r.mean, sumBound(k), `batchNorm mean ${xs}`);
    close(f.variance, r.variance, sumBound(k), `batchNorm variance ${xs}`);
    close(f.y, r.y, sumBound(k), `batchNorm y ${xs}`);
    const gy = randn(size(xs));
    for (const [gm, gv] of [[null, null], [randn(c), randn(c)], [randn(c), null]] as const) {
      for (const g of [gy, null]) {
        if (!g && !gm) continue;
        const a = nb.batchNormBackward(x, xs, gamma, r.mean, r.variance, 1e-5, g, gm, gv);
        const b = js.batchNormBackward(x, xs, gamma, r.mean, r.variance, 1e-5, g, gm, gv);
        const what = `${xs} gy=${!!g} gmean=${!!gm} gvar=${!!gv}`;
        close(a.dx, b.dx, 4 * sumBound(k), `batchNormBackward dx ${what}`);
        close(a.dgamma, b.dgamma, sumBound(k), `batchNormBackward dgamma ${what}`);
        close(a.dbeta, b.dbeta, sumBound(k), `batchNormBackward dbeta ${what}`);
      }
    }
  }
  assert.throws(() => nb.batchNorm(new Float32Array(12), [2, 3, 2], new Float32Array(2), new Float32Array(3), 1e-5), /gamma must hold one value per channel \(3\)/);
});

// ------------------------------------------------------------------ errors
test('bad shapes throw clear errors instead of reading out of bounds', { skip }, () => {
  assert.throws(() => nb.binary('add', new Float32Array(3), [4], new Float32Array(4), [4], [4]), /elements but its shape/);
  assert.throws(() => nb.matmul(new Float32Array(5), new Float32Array(6), 1, 2, 3, 2, false, false, 6, 6), /too short/);
  assert.throws(() => nb.conv2d(new Float32Array(2 * 3 * 5 * 5), [2, 3, 5, 5], new Float32Array(4 * 2 * 9), [4, 2, 3, 3],
    { stride: [1, 1], pad: [0, 0, 0, 0], groups: 1 }), /groups/);
});

// ------------------------------------------------------------------ determinism
test('determinism: same call twice is bit-identical, and 1, 2, 3 threads give identical bits', { skip }, () => {
  assert.ok(addon);
  const before = addon.getThreads();
  const a = randn(128 * 784);
  const b = randn(784 * 300);
  const bt = randn(300 * 784);
  const xs: Shape = [6, 16, 14, 14];
  const ws: Shape = [32, 16, 3, 3];
  const x = randn(size(xs));
  const w = randn(size(ws));
  const p: Conv2dParams = { stride: [1, 1], pad: [1, 1, 1, 1], groups: 1 };
  const g = randn(6 * 32 * 14 * 14);
  const gs: Shape = [6, 32, 14, 14];
  const big = randn(1 << 20);
  const x20 = randn(4 * 8 * 400);
  const w20 = randn(12 * 8 * 9);
  const g20 = randn(4 * 12 * 400);
  const x32 = randn(3 * 32 * 196);
  const w32 = randn(64 * 32 * 9);
  const g32 = randn(3 * 64 * 196);
  // 2^17 terms onto 5,000 outputs: many terms per output, so the summation order shows in the bits
  const s2: Conv2dParams = { stride: [2, 2], pad: [1, 1, 1, 1], groups: 1 };
  const pool: Window2d = { kernel: [3, 3], stride: [2, 2], pad: [1, 1, 1, 1] };
  const sIdx = Int32Array.from({ length: 1 << 17 }, (_, i) => (i * 7919 + (i >> 3)) % 5000);
  const run = () => [
    nb.scatterAdd(big.subarray(0, 1 << 17), sIdx, 5000),
    nb.scatterAdd(big.subarray(0, 1 << 17), Int32Array.from({ length: 1 << 17 }, (_, i) => i >> 5), 1 << 12),
    nb.matmul(a, b, 1, 128, 784, 300, false, false, 0, 0),
    nb.matmul(a, bt, 1, 128, 784, 300, false, true, 0, 0),
    nb.matmul(b, a, 1, 300, 128, 784, true, true, 0, 0),
    nb.matmul(a, b.subarray(0, 784 * 37), 4, 32, 784, 37, false, false, 32 * 784, 0),
    nb.conv2d(x, xs, w, ws, p),
    nb.conv2d(x.subarray(0, size(xs) / 6), [1, 16, 14, 14], w, ws, p),
    nb.conv2dBackwardInput(g, gs, w, ws, xs, p),
    nb.conv2dBackwardWeight(x, xs, g, gs, ws, p),
    // register-blocked path (stride 1, rows of 16+)
    nb.conv2d(x20, [4, 8, 20, 20], w20, [12, 8, 3, 3], p),
    nb.conv2dBackwardInput(g20, [4, 12, 20, 20], w20, [12, 8, 3, 3], [4, 8, 20, 20], p),
    nb.conv2dBackwardWeight(x20, [4, 8, 20, 20], g20, [4, 12, 20, 20], [12, 8, 3, 3], p),
    // output channels in the lanes (32 -> 64 at 14x14: the cpu preset's second conv)
    nb.conv2d(x32, [3, 32, 14, 14], w32, [64, 32, 3, 3], p),
    nb.conv2dBackwardInput(g32, [3, 64, 14, 14], w32, [64, 32, 3, 3], [3, 32, 14, 14], p),
    nb.conv2dBackwardWeight(x32, [3, 32, 14, 14], g32, [3, 64, 14, 14], [64, 32, 3, 3], p),
    // one input channel (the MNIST learner's first layer): weight gradient per channel pair
    nb.conv2dBackwardWeight(x.subarray(0, 6 * 196), [6, 1, 14, 14], g, gs, [32, 1, 3, 3], p),
    // direct path (one output channel)
    nb.conv2d(x, xs, w.subarray(0, 144), [1, 16, 3, 3], p),
    nb.conv2dBackwardInput(g.subarray(0, 6 * 196), [6, 1, 14, 14], w.subarray(0, 144), [1, 16, 3, 3], xs, p),
    nb.conv2dBackwardWeight(x, xs, g.subarray(0, 6 * 196), [6, 1, 14, 14], [1, 16, 3, 3], p),
    // strided conv, channels in lanes (forward, input gradient by phases, weight gradient)
    nb.conv2d(x32.subarray(0, 3 * 16 * 196), [3, 16, 14, 14], w32.subarray(0, 32 * 16 * 9), [32, 16, 3, 3], s2),
    nb.conv2dBackwardInput(g32.subarray(0, 3 * 32 * 49), [3, 32, 7, 7], w32.subarray(0, 32 * 16 * 9), [32, 16, 3, 3], [3, 16, 14, 14], s2),
    nb.conv2dBackwardWeight(x32.subarray(0, 3 * 16 * 196), [3, 16, 14, 14], g32.subarray(0, 3 * 32 * 49), [3, 32, 7, 7], [32, 16, 3, 3], s2),
    // max pooling (3x3 / 2, overlapping windows) and its transpose
    nb.maxPool2d(x, xs, pool).out,
    nb.maxPool2dBackward(g.subarray(0, 6 * 16 * 49), [6, 16, 7, 7], nb.maxPool2d(x, xs, pool).argmax, xs, pool),
    // batch norm after a linear layer ([N, C]: channel ranges on the pool)
    nb.batchNorm(big.subarray(0, 64 * 700), [64, 700], big.subarray(0, 700), big.subarray(700, 1400), 1e-5).y,
    nb.reduceSum(big, [1 << 20], [0]),
    nb.reduceSum(big, [256, 64, 64], [0, 2]),
    nb.reduceSum(big, [1024, 1024], [0]),
    nb.unary('tanh', big),
    nb.binary('mul', big, [1024, 1024], big.subarray(0, 1024), [1024], [1024, 1024]),
  ];
  try {
    for (const { blocked, lanes } of CONV_PATHS) {
      addon.setBlockedConv(blocked);
      addon.setLanesConv(lanes);
      addon.setThreads(2);
      const r2 = run();
      const r2b = run();
      r2.forEach((v, i) => sameBits(v, r2b[i], `repeat #${i} (blocked convs ${blocked}, lanes ${lanes})`));
      addon.setThreads(1);
      const r1 = run();
      r1.forEach((v, i) => sameBits(v, r2[i], `1 vs 2 threads #${i} (blocked convs ${blocked}, lanes ${lanes})`));
      addon.setThreads(3);
      const r3 = run();
      r3.forEach((v, i) => sameBits(v, r2[i], `3 vs 2 threads #${i} (blocked convs ${blocked}, lanes ${lanes})`));
    }
  } finally {
    addon.setThreads(before);
    addon.setBlockedConv(false);
    addon.setLanesConv(true);
  }
});

test('thread-count and SIMD-path getters', { skip }, () => {
  assert.ok(addon);
  assert.ok(addon.getThreads() >= 1);
  assert.ok(['avx512', 'avx2', 'portable'].includes(addon.simdPath()));
});

test('reused memory: live outputs are never overwritten, zero-filled kernels stay zero-filled', { skip }, () => {
  // Allocates ~1.6 GB in 16 MB outputs so that collections (V8's or the addon's schedule, which runs them from
  // inside a kernel call) free dead ones and malloc hands their memory out again.
  const n = 4 << 20;
  const x = randn(n);
  const live: Array<[Float32Array, number]> = [];
  for (let i = 0; i < 100; i++) {
    const y = nb.unary('addScalar', x, i);
    live.push([y, i]);
    if (live.length > 4) live.shift();
    for (const [arr, v] of live) {
      for (const j of [0, 1, n >> 1, n - 1]) assert.equal(arr[j], Math.fround(x[j] + v), `output ${v} overwritten`);
    }
    if (i % 10 === 0) {
      const p = nb.padZero(x.subarray(0, 1 << 16), [256, 256], [1, 0], [0, 300]); // zero-filled kernel
      assert.equal(p[0], 0);
      assert.equal(p[257 * 556 - 1], 0);
      const s = nb.scatterAdd(new Float32Array([1]), new Int32Array([5]), 1 << 18);
      assert.equal(s[4], 0);
      assert.equal(s[5], 1);
      assert.equal(s[(1 << 18) - 1], 0);
    }
  }
});

test('two JS threads (worker_threads) using the addon at once get correct, identical results', { skip }, async () => {
  const { Worker } = await import('node:worker_threads');
  const { nativeAddonPath } = await import('../../src/tensor/backends/native.js');
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    const addon = require(workerData.path);
    const a = new Float32Array(workerData.a), b = new Float32Array(workerData.b);
    let last;
    for (let i = 0; i < 40; i++) last = addon.matmul(a, b, 1, 128, 256, 300, false, false, 0, 0);
    parentPort.postMessage(Array.from(last));`;
  const a = randn(128 * 256);
  const b = randn(256 * 300);
  const ref = nb.matmul(a, b, 1, 128, 256, 300, false, false, 0, 0);
  const w = new Worker(src, { eval: true, workerData: { path: nativeAddonPath(), a: Array.from(a), b: Array.from(b) } });
  const done = new Promise<number[]>((res, rej) => {
    w.on('message', res);
    w.on('error', rej);
  });
  for (let i = 0; i < 40; i++) sameBits(nb.matmul(a, b, 1, 128, 256, 300, false, false, 0, 0), ref, `main thread call ${i}`);
  const fromWorker = Float32Array.from(await done);
  await w.terminate();
  sameBits(fromWorker, ref, 'worker thread result');
});
