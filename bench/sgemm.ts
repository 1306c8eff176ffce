// Native sgemm throughput at square sizes and at the shapes a GTN meta-step runs, and the machine's FP32 peak
// measured honestly. Library functions only: nothing is printed here (the caller formats the results).
import { loadNativeAddon, type NativeAddon } from '../src/tensor/backends/native.js';
import { timeCalls } from './timing.js';

export interface SgemmResult {
  name: string;
  m: number;
  n: number;
  k: number;
  /** Independent products per call (conv im2col shapes run one GEMM per image). */
  batch: number;
  transA: boolean;
  transB: boolean;
  /** 2*m*n*k*batch / seconds, from the fastest of the timed calls. */
  gflops: number;
  /** Fastest call (seconds). */
  seconds: number;
  /** Median call (seconds) and the GFLOP/s it gives: compare the two to see how noisy the machine was. */
  medianSeconds: number;
  medianGflops: number;
  /**
   * 2*m*n*k*batch*calls / (process CPU seconds / threads): the throughput the threads reach while they are on
   * a core. On a shared machine other processes take time slices and wall-clock figures drop; this one does
   * not (waiting threads spin, and their spinning is counted, so it never flatters).
   */
  cpuGflops: number;
  threads: number;
}

export interface SgemmShape {
  name: string;
  m: number;
  n: number;
  k: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  /** batch > 1: A (the weights) is shared by every product (conv as im2col GEMMs, one per image). */
  shareA?: boolean;
  /**
   * batch > 1: one B for every product. Inside conv2d each image's im2col matrix is built right before its GEMM
   * and is cache-resident; reusing one B reproduces that, where 64-128 distinct B would stream from DRAM.
   */
  shareB?: boolean;
}

/** Square sizes plus the GEMMs of the meta-step workloads (B = 128 unless named), forward and backward. */
export const SGEMM_SHAPES: SgemmShape[] = [
  { name: 'square 128', m: 128, n: 128, k: 128 },
  { name: 'square 512', m: 512, n: 512, k: 512 },
  { name: 'square 1024', m: 1024, n: 1024, k: 1024 },
  // generator: (128+10) -> 1024 -> 128*7*7
  { name: 'gen fc1 fwd 128x138 @ 138x1024', m: 128, n: 1024, k: 138 },
  { name: 'gen fc2 fwd 128x1024 @ 1024x6272', m: 128, n: 6272, k: 1024 },
  { name: 'gen fc2 dX 128x6272 @ (1024x6272)^T', m: 128, n: 1024, k: 6272, transB: true },
  { name: 'gen fc2 dW (128x1024)^T @ 128x6272', m: 1024, n: 6272, k: 128, transA: true },
  // MLP learner 784-256-128-10 and the 784 -> 1024 layer
  { name: 'mlp fc 128x784 @ 784x1024', m: 128, n: 1024, k: 784 },
  { name: 'mlp fc1 fwd 128x784 @ 784x256', m: 128, n: 256, k: 784 },
  { name: 'mlp fc1 dX 128x256 @ (784x256)^T', m: 128, n: 784, k: 256, transB: true },
  { name: 'mlp fc1 dW (128x784)^T @ 128x256', m: 784, n: 256, k: 128, transA: true },
  { name: 'mlp fc2 fwd 128x256 @ 256x128', m: 128, n: 128, k: 256 },
  // conv as im2col GEMMs, one per image: W [O, C*9] @ col [C*9, H*W]
  // (B shared: see SgemmShape.shareB; benchConv measures the real conv ops, im2col included)
  { name: 'conv1 fwd 64x9 @ 9x784, 64 images', m: 64, n: 784, k: 9, batch: 64, shareA: true, shareB: true },
  { name: 'conv2 fwd 128x576 @ 576x196, 64 images', m: 128, n: 196, k: 576, batch: 64, shareA: true, shareB: true },
  { name: 'conv2 fwd 128x576 @ 576x196, 128 images', m: 128, n: 196, k: 576, batch: 128, shareA: true, shareB: true },
  { name: 'conv2 dcol (128x576)^T @ 128x196, 64 images', m: 576, n: 196, k: 128, batch: 64, shareA: true, transA: true, shareB: true },
  { name: 'conv2 dW 128x196 @ (576x196)^T, 1 image', m: 128, n: 576, k: 196, transB: true },
  { name: 'gen conv 128->64 fwd 64x1152 @ 1152x196, 64 images', m: 64, n: 196, k: 1152, batch: 64, shareA: true, shareB: true },
  { name: 'gen conv 64->1 fwd 1x576 @ 576x784, 64 images', m: 1, n: 784, k: 576, batch: 64, shareA: true, shareB: true },
  { name: 'conv 64->64 28x28 fwd 64x576 @ 576x784, 64 images', m: 64, n: 784, k: 576, batch: 64, shareA: true, shareB: true },
];

function addonOrThrow(): NativeAddon {
  const r = loadNativeAddon();
  if ('error' in r) throw new Error(r.error);
  return r.addon;
}

function randomArray(n: number): Float32Array {
  const a = new Float32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    a[i] = ((s >>> 8) / 16777216) * 2 - 1;
  }
  return a;
}

export interface SgemmOptions {
  /** Thread count for the run (restored afterwards); default: the pool's current size. */
  threads?: number;
  /** Time budget per shape in seconds (default 0.4); at least 5 timed calls. */
  secondsPerShape?: number;
  shapes?: SgemmShape[];
}

/** Measures native sgemm GFLOP/s on each shape; returns one row per shape. Throws without the addon. */
export function benchSgemm(opts: SgemmOptions = {}): SgemmResult[] {
  const addon = addonOrThrow();
  const before = addon.getThreads();
  if (opts.threads !== undefined) addon.setThreads(opts.threads);
  const budget = opts.secondsPerShape ?? 0.4;
  const out: SgemmResult[] = [];
  try {
    for (const s of opts.shapes ?? SGEMM_SHAPES) {
      const batch = s.batch ?? 1;
      const tA = s.transA ?? false;
      const tB = s.transB ?? false;
      const a = randomArray((s.shareA ? 1 : batch) * s.m * s.k);
      const b = randomArray((s.shareB ? 1 : batch) * s.k * s.n);
      const call = () =>
        addon.matmul(a, b, batch, s.m, s.k, s.n, tA, tB, s.shareA ? 0 : s.m * s.k, s.shareB ? 0 : s.k * s.n);
      call(); // warm-up: scratch buffers, pool start
      const cpu0 = process.cpuUsage();
      const times = timeCalls(call, budget, 5, 0, 10001);
      const cpu1 = process.cpuUsage(cpu0);
      const cpuSeconds = (cpu1.user + cpu1.system) / 1e6;
      const flop = 2 * s.m * s.n * s.k * batch;
      const cpuGflops = (flop * times.length) / (cpuSeconds / addon.getThreads()) / 1e9;
      const best = times[0];
      const med = times[times.length >> 1];
      out.push({
        name: s.name, m: s.m, n: s.n, k: s.k, batch, transA: tA, transB: tB,
        gflops: flop / best / 1e9, seconds: best, medianSeconds: med, medianGflops: flop / med / 1e9, cpuGflops,
        threads: addon.getThreads(),
      });
    }
  } finally {
    addon.setThreads(before);
  }
  return out;
}

export interface PeakResult {
  /** Peak FP32 GFLOP/s of `threads` cores: threads x lanes x fmaUnits x 2 x clock (the larger of this and the
   * measured FMA throughput, so efficiencies quoted against it are never flattered). */
  gflops: number;
  threads: number;
  simd: string;
  /** FP32 lanes per vector on the chosen SIMD path (16 for AVX-512, 8 for AVX2, 4 portable). */
  lanes: number;
  /** Core clock (GHz), measured with a chain of dependent integer adds (one per cycle). */
  clockGHz: number;
  /** FMA instructions per cycle per core, measured (rounded to the nearest integer: the FMA unit count). */
  fmaUnits: number;
  fmaPerCycleMeasured: number;
  /** Measured FMA throughput summed over the threads, each running a tight loop of 12 independent FMAs. */
  measuredFmaGflops: number;
  method: string;
}

/**
 * The machine's FP32 peak on `threads` cores (default: the pool size), measured rather than looked up:
 *   1. clock: a chain of dependent integer adds (latency 1 cycle) timed on one core, best of several runs;
 *   2. FMA throughput: every pool thread at once runs a loop of 12 independent vector FMAs on the SIMD path the
 *      GEMM uses (enough to cover FMA latency x units), best of several runs, fastest thread;
 *   3. fmaUnits = round(FMA per cycle per core); peak = threads x lanes x fmaUnits x 2 (mul+add) x clock.
 * The larger of (3) and the measured total FMA throughput is returned as the peak.
 */
export function peakGflops(opts: { threads?: number; seconds?: number } = {}): PeakResult {
  const addon = addonOrThrow();
  const before = addon.getThreads();
  if (opts.threads !== undefined) addon.setThreads(opts.threads);
  try {
    const sec = opts.seconds ?? 0.5;
    let hz = 0;
    let perThread = 0;
    let total = 0;
    // several rounds, best of each quantity: this filters out time slices lost to other processes. The cores
    // are identical, so the FMA unit count comes from the fastest thread.
    for (let r = 0; r < 4; r++) {
      const [h, , tot, , maxPer] = addon.measurePeak(sec / 4);
      hz = Math.max(hz, h);
      perThread = Math.max(perThread, maxPer);
      total = Math.max(total, tot);
    }
    const threads = addon.getThreads();
    const lanes = addon.simdLanes();
    const perCycle = perThread / (2 * lanes * hz);
    const fmaUnits = Math.max(1, Math.round(perCycle));
    const formula = threads * lanes * fmaUnits * 2 * hz;
    return {
      gflops: Math.max(formula, total) / 1e9,
      threads,
      simd: addon.simdPath(),
      lanes,
      clockGHz: hz / 1e9,
      fmaUnits,
      fmaPerCycleMeasured: perCycle,
      measuredFmaGflops: total / 1e9,
      method: 'threads x lanes x fmaUnits x 2 x clock; clock from a dependent-add chain, fmaUnits from a tight FMA loop on every thread at once',
    };
  } finally {
    addon.setThreads(before);
  }
}

export interface ConvResult {
  name: string;
  op: 'forward' | 'backwardInput' | 'backwardWeight';
  /** Which native kernels may run: `lanes` (the default: channels-in-lanes on AVX-512, then the register-blocked
   * kernels, then im2col + GEMM), `blocked` (the register-blocked kernels and GEMM), `gemm` (im2col + GEMM only). */
  path: 'lanes' | 'blocked' | 'gemm';
  xShape: number[];
  wShape: number[];
  stride: number;
  gflops: number;
  seconds: number;
  medianSeconds: number;
  threads: number;
}

interface ConvShape {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  pad: [number, number, number, number];
  stride: number;
}

const conv = (name: string, x: ConvShape['x'], w: ConvShape['w'], pad = 1, stride = 1): ConvShape => ({ name, x, w, pad: [pad, pad, pad, pad], stride });

/** The convolutions of the bench's meta-step workloads and of the NAS teacher's NB201 learners. */
export const CONV_SHAPES: ConvShape[] = [
  // MNIST cpu preset (conv-t32-b128-cpu): learner 32-64, generator 32 -> 16 -> 1 on reflect-padded maps
  conv('mnist learner 1->32 28x28 b128', [128, 1, 28, 28], [32, 1, 3, 3]),
  conv('mnist learner 32->64 14x14 b128', [128, 32, 14, 14], [64, 32, 3, 3]),
  conv('mnist generator 32->16 16x16 b128', [128, 32, 16, 16], [16, 32, 3, 3], 0),
  conv('mnist generator 16->1 30x30 b128', [128, 16, 30, 30], [1, 16, 3, 3], 0),
  // CIFAR cpu preset (cifar-t32-b64-cpu): the learner's stride-1 layers
  conv('cifar learner 3->16 32x32 b64', [64, 3, 32, 32], [16, 3, 3, 3]),
  conv('cifar learner 32->32 16x16 b64', [64, 32, 16, 16], [32, 32, 3, 3]),
  conv('cifar learner 64->64 8x8 b64', [64, 64, 8, 8], [64, 64, 3, 3]),
  // NB201, C = 8 (the nas preset: batch 32): ReLU-conv3x3-BN per stage
  conv('nb201 8->8 32x32 b32', [32, 8, 32, 32], [8, 8, 3, 3]),
  conv('nb201 16->16 16x16 b32', [32, 16, 16, 16], [16, 16, 3, 3]),
  conv('nb201 32->32 8x8 b32', [32, 32, 8, 8], [32, 32, 3, 3]),
  // NB201, C = 4 (the full-depth proxy network, N = 5): 4-channel blocks take the columns-in-lanes kernels on AVX2
  conv('nb201 4->4 32x32 b32', [32, 4, 32, 32], [4, 4, 3, 3]),
  conv('nb201 8->8 16x16 b32', [32, 8, 16, 16], [8, 8, 3, 3]),
  conv('nb201 16->16 8x8 b32', [32, 16, 8, 8], [16, 16, 3, 3]),
  conv('nb201 4->4 1x1 32x32 b32', [32, 4, 32, 32], [4, 4, 1, 1], 0),
  // stride 2: the CIFAR learner's and NB201's reductions
  conv('cifar learner 16->32 32x32 s2 b64', [64, 16, 32, 32], [32, 16, 3, 3], 1, 2),
  conv('cifar learner 32->64 16x16 s2 b64', [64, 32, 16, 16], [64, 32, 3, 3], 1, 2),
  conv('nb201 8->16 32x32 s2 b32', [32, 8, 32, 32], [16, 8, 3, 3], 1, 2),
  conv('nb201 16->32 16x16 s2 b32', [32, 16, 16, 16], [32, 16, 3, 3], 1, 2),
];

const CONV_PATHS: Array<{ path: ConvResult['path']; blocked: boolean; lanes: boolean }> = [
  { path: 'lanes', blocked: true, lanes: true },
  { path: 'blocked', blocked: true, lanes: false },
  { path: 'gemm', blocked: false, lanes: false },
];

/**
 * Native conv2d forward / backward-input / backward-weight GFLOP/s (2*N*O*Ho*Wo*C*kh*kw per call, fastest call)
 * on every kernel path, so one run shows what each kernel family brings. The switches are restored afterwards.
 */
export function benchConv(opts: { threads?: number; secondsPerShape?: number } = {}): ConvResult[] {
  const addon = addonOrThrow();
  const before = addon.getThreads();
  if (opts.threads !== undefined) addon.setThreads(opts.threads);
  const budget = opts.secondsPerShape ?? 0.3;
  const out: ConvResult[] = [];
  try {
    for (const c of CONV_SHAPES) {
      const [N, C, H, W] = c.x;
      const [O, , kh, kw] = c.w;
      const Ho = Math.floor((H + c.pad[0] + c.pad[1] - kh) / c.stride) + 1;
      const Wo = Math.floor((W + c.pad[2] + c.pad[3] - kw) / c.stride) + 1;
      const st = [c.stride, c.stride];
      const gShape = [N, O, Ho, Wo];
      const x = randomArray(N * C * H * W);
      const w = randomArray(O * C * kh * kw);
      const g = randomArray(N * O * Ho * Wo);
      const flop = 2 * N * O * Ho * Wo * C * kh * kw;
      const calls: Array<[ConvResult['op'], () => unknown]> = [
        ['forward', () => addon.conv2d(x, c.x, w, c.w, st, c.pad, 1)],
        ['backwardInput', () => addon.conv2dBackwardInput(g, gShape, w, c.w, c.x, st, c.pad, 1)],
        ['backwardWeight', () => addon.conv2dBackwardWeight(x, c.x, g, gShape, c.w, st, c.pad, 1)],
      ];
      for (const { path, blocked, lanes } of CONV_PATHS) {
        addon.setBlockedConv(blocked);
        addon.setLanesConv(lanes);
        for (const [op, call] of calls) {
          const times = timeCalls(call, budget);
          out.push({ name: c.name, op, path, xShape: [...c.x], wShape: [...c.w], stride: c.stride, gflops: flop / times[0] / 1e9, seconds: times[0],
            medianSeconds: times[times.length >> 1], threads: addon.getThreads() });
        }
      }
    }
  } finally {
    addon.setThreads(before);
    // back to the defaults (the switches cannot be read without being set)
    addon.setBlockedConv(process.env.GTN_BLOCKED_CONV !== '0');
    addon.setLanesConv(process.env.GTN_LANES_CONV !== '0');
  }
  return out;
}
