// Zero-cost proxies, scored on an untrained network (no training step at all):
//   params  — the number of trainable scalars;
//   synflow — Tanaka et al. 2020: with |weights|, batch norm disabled and an all-ones input, the sum over
//             conv and linear weights of |w * dR/dw| where R is the sum of the logits;
//   nwot    — Mellor et al. 2021: log|det K| where K[i,j] counts the ReLUs on which images i and j of a real
//             batch agree (both active or both inactive);
//   meco    — Jiang et al. 2023: over every module's output for the first image of a real batch, the sum of the
//             smallest eigenvalue of the correlation matrix between its channels (over the spatial positions).
import type { Split } from '../../data/splits.js';
import { GtnError } from '../../errors.js';
import { randomBatch } from '../../gtn/experiment.js';
import { initNb201, nb201Forward, paramCount, type Cell, type Nb201Params, type Nb201Taps, type Reduction } from '../../models/index.js';
import { Rng, abs, grad, matmul, noGrad, ones, sum, tensor, treeLeaves, treeUnflatten, zeros, type Tree } from '../../tensor/index.js';
import { logDetPsd, rowCorrelation, smallestEigenvalue } from './linalg.js';
import type { Proxy } from './proxy.js';
import { networkSpec } from './training.js';

export interface ZeroCostOptions {
  channels: number;
  cells: number;
  reduction?: Reduction;
  seed: number;
}

function timed(f: () => number): { score: number; seconds: number } {
  const t0 = performance.now();
  const score = f();
  return { score, seconds: (performance.now() - t0) / 1000 };
}

export function paramsProxy(o: ZeroCostOptions): Proxy {
  return {
    kind: 'params',
    settings: { channels: o.channels, cells: o.cells, reduction: o.reduction },
    score: (cell) => timed(() => paramCount(initNb201(networkSpec(cell, o), [3, 32, 32], 10, Rng.seeded(o.seed), false))),
  };
}

export function synflowProxy(o: ZeroCostOptions): Proxy {
  return {
    kind: 'synflow',
    settings: { ...o },
    score: (cell) =>
      timed(() => {
        const spec = networkSpec(cell, o);
        const p0 = initNb201(spec, [3, 32, 32], 10, Rng.seeded(o.seed), false);
        const x = ones([1, 3, 32, 32]);
        // Batch norm off: evaluation mode with mean 0 and variance 1 - eps makes every BN the identity.
        const shapes = noGrad(() => nb201Forward(spec, p0, x).stats.map((s) => s.shape));
        const identity = shapes.map((s, i) => (i % 2 === 0 ? zeros(s) : tensor(new Float32Array(s.reduce((a, b) => a * b, 1)).fill(1 - 1e-5), s)));
        const absParams = treeUnflatten(p0 as unknown as Tree, treeLeaves(p0 as unknown as Tree).map((t) => noGrad(() => abs(t)))) as unknown as Nb201Params;
        const g = grad((p: Nb201Params) => sum(nb201Forward(spec, p, x, identity).logits))(absParams);
        const ws = treeLeaves(absParams as unknown as Tree);
        const gs = treeLeaves(g as unknown as Tree);
        let s = 0;
        ws.forEach((w, i) => {
          if (w.rank < 2) return; // conv and linear weights only
          for (let j = 0; j < w.size; j++) s += Math.abs(w.data[j] * gs[i].data[j]);
        });
        if (!Number.isFinite(s)) throw new GtnError(`synflow overflowed float32 on ${spec.cell} at C=${o.channels}, N=${o.cells}: use fewer --cells`);
        return s;
      }),
  };
}

/** One forward pass of the freshly initialised network on a seeded real batch (its own stream), watched through taps. */
function watchAtInit(cell: Cell, train: Split, o: ZeroCostOptions & { batch: number }, stream: string, taps: Nb201Taps): void {
  const spec = networkSpec(cell, o);
  const p = initNb201(spec, [3, 32, 32], 10, Rng.seeded(o.seed), false);
  const b = randomBatch(train, o.batch, Rng.seeded(o.seed).fork(stream));
  noGrad(() => nb201Forward(spec, p, b.x, undefined, taps));
}

export function nwotProxy(train: Split, o: ZeroCostOptions & { batch: number }): Proxy {
  return {
    kind: 'nwot',
    settings: { ...o },
    score: (cell) =>
      timed(() => {
        const n = o.batch;
        const k = new Float64Array(n * n);
        watchAtInit(cell, train, o, 'nwot', {
          relu: (pre) => {
            const units = pre.size / n;
            const codes = new Float32Array(pre.size);
            for (let i = 0; i < pre.size; i++) codes[i] = pre.data[i] > 0 ? 1 : 0;
            const c = tensor(codes, [n, units]);
            // agreements = c c^T + (1 - c)(1 - c)^T = units - |c_i| - |c_j| + 2 c c^T
            const cc = matmul(c, c, { transB: true }).data;
            const active = new Float64Array(n);
            for (let i = 0; i < n; i++) for (let u = 0; u < units; u++) active[i] += codes[i * units + u];
            for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] += units - active[i] - active[j] + 2 * cc[i * n + j];
          },
        });
        return logDetPsd(k, n);
      }),
  };
}

export function mecoProxy(train: Split, o: ZeroCostOptions & { batch: number }): Proxy {
  return {
    kind: 'meco',
    settings: { ...o },
    score: (cell) =>
      timed(() => {
        let score = 0;
        let last: { out: unknown; value: number } = { out: null, value: 0 };
        watchAtInit(cell, train, o, 'meco', {
          module: (out) => {
            if (out !== last.out) {
              // a module that returns its last member's output passes the same tensor again: computed once
              // batch norm normalised over the whole batch (training mode, as at initialisation); the first image is read
              const [, channels, height, width] = out.shape;
              const first = out.data.subarray(0, channels * height * width);
              last = { out, value: smallestEigenvalue(rowCorrelation(first, channels, height * width), channels) };
            }
            score += last.value;
          },
        });
        return score;
      }),
  };
}
