// The memory-bound kernels of the NB201 proxy (elementwise ops, batch norm, average pooling with the padding left
// out of the divisor), at the three stage shapes of its C = 4 network (batch 32): GB/s of the bytes each call must
// read and write, output allocation included (a fresh array per call, as the engine makes them). These kernels
// took about half of the proxy's kernel time before the 2026-11-29 round; their figures show what allocation,
// zero fills and per-plane loop overheads cost. Library function only: the caller prints.
import { loadNativeBackend, scheduleNativeCollections, setNativeThreads, nativeThreads } from '../src/tensor/backends/native.js';
import type { Window2d } from '../src/tensor/backends/backend.js';
import { timeCalls } from './timing.js';

export interface MemoryBoundResult {
  name: string;
  shape: number[];
  /** Bytes one call reads and writes at least (each input once, the output once). */
  bytes: number;
  /** bytes / fastest call, and / median call. */
  gbps: number;
  medianGbps: number;
  seconds: number;
  medianSeconds: number;
  threads: number;
}

const SHAPES: number[][] = [
  [32, 4, 32, 32],
  [32, 8, 16, 16],
  [32, 16, 8, 8],
];

function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed | 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    a[i] = ((s >>> 8) / 16777216) * 2 - 1;
  }
  return a;
}

/** Times each kernel at each shape for about secondsPerCall seconds (at least 20 calls); fastest and median. */
export function benchMemoryBound(opts: { threads?: number; secondsPerCall?: number } = {}): MemoryBoundResult[] {
  const r = loadNativeBackend();
  if ('error' in r) throw new Error(r.error);
  const b = r.backend;
  scheduleNativeCollections(); // the engine's collection schedule: allocation is part of what is measured
  const before = nativeThreads() ?? 1;
  if (opts.threads !== undefined) setNativeThreads(opts.threads);
  const budget = opts.secondsPerCall ?? 0.3;
  const out: MemoryBoundResult[] = [];
  const pool: Window2d = { kernel: [3, 3], stride: [1, 1], pad: [1, 1, 1, 1] };
  try {
    for (const shape of SHAPES) {
      const n = shape.reduce((p, q) => p * q, 1);
      const C = shape[1];
      const x = randomArray(n, 1), y = randomArray(n, 2);
      const gamma = randomArray(C, 3), beta = randomArray(C, 4);
      const { mean, variance } = b.batchNorm(x, shape, gamma, beta, 1e-5);
      const f = 4 * n; // bytes of one activation
      const calls: Array<[string, number, () => unknown]> = [
        ['add', 3 * f, () => b.binary('add', x, shape, y, shape, shape)],
        ['relu', 2 * f, () => b.unary('relu', x)],
        ['batchNorm', 2 * f, () => b.batchNorm(x, shape, gamma, beta, 1e-5)],
        ['batchNormBackward', 3 * f, () => b.batchNormBackward(x, shape, gamma, mean, variance, 1e-5, y, null, null)],
        ['avgPool3x3 exclude-pad', 2 * f, () => b.avgPool2d(x, shape, pool, false)],
        ['avgPool3x3 exclude-pad backward', 2 * f, () => b.avgPool2dBackward(y, shape, shape, pool, false)],
      ];
      for (const [name, bytes, call] of calls) {
        const times = timeCalls(call, budget, 20, 10);
        const best = times[0], med = times[times.length >> 1];
        out.push({ name, shape, bytes, gbps: bytes / best / 1e9, medianGbps: bytes / med / 1e9, seconds: best, medianSeconds: med, threads: nativeThreads() ?? 1 });
      }
    }
  } finally {
    setNativeThreads(before);
  }
  return out;
}
