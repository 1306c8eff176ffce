// Zero-cost proxies, scored on an untrained network (no training step at all):
//   params  — the number of trainable scalars;
//   synflow — Tanaka et al. 2020: with |weights|, batch norm disabled and an all-ones input, the sum over
//             conv and linear weights of |w * dR/dw| where R is the sum of the logits;
//   nwot    — Mellor et al. 2021: log|det K| where K[i,j] counts the ReLUs on which images i and j of a real
//             batch agree (both active or both inactive).
import type { Split } from '../../data/splits.js';
import { GtnError } from '../../errors.js';
import { randomBatch } from '../../gtn/experiment.js';
import { initNb201, nb201Forward, paramCount, type Nb201Params } from '../../models/index.js';
import { Rng, abs, grad, matmul, noGrad, ones, sum, tensor, treeLeaves, treeUnflatten, zeros, type Tree } from '../../tensor/index.js';
import type { Proxy } from './proxy.js';
import { networkSpec } from './training.js';

export interface ZeroCostOptions {
  channels: number;
  cells: number;
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
    settings: { channels: o.channels, cells: o.cells },
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

/** log|det| of a symmetric positive semi-definite matrix (float64 Cholesky with a tiny jitter; -Infinity if singular). */
export function logDetPsd(a: Float64Array, n: number): number {
  const l = new Float64Array(n * n);
  let logDet = 0;
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
    if (!(d > 1e-9 * Math.max(1, a[j * n + j]))) return Number.NEGATIVE_INFINITY;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    logDet += 2 * Math.log(ljj);
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return logDet;
}

export function nwotProxy(train: Split, o: ZeroCostOptions & { batch: number }): Proxy {
  return {
    kind: 'nwot',
    settings: { ...o },
    score: (cell) =>
      timed(() => {
        const spec = networkSpec(cell, o);
        const p = initNb201(spec, [3, 32, 32], 10, Rng.seeded(o.seed), false);
        const b = randomBatch(train, o.batch, Rng.seeded(o.seed).fork('nwot'));
        const n = o.batch;
        const k = new Float64Array(n * n);
        noGrad(() =>
          nb201Forward(spec, p, b.x, undefined, (pre) => {
            const units = pre.size / n;
            const codes = new Float32Array(pre.size);
            for (let i = 0; i < pre.size; i++) codes[i] = pre.data[i] > 0 ? 1 : 0;
            const c = tensor(codes, [n, units]);
            // agreements = c c^T + (1 - c)(1 - c)^T = units - |c_i| - |c_j| + 2 c c^T
            const cc = matmul(c, c, { transB: true }).data;
            const active = new Float64Array(n);
            for (let i = 0; i < n; i++) for (let u = 0; u < units; u++) active[i] += codes[i * units + u];
            for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] += units - active[i] - active[j] + 2 * cc[i * n + j];
          }),
        );
        return logDetPsd(k, n);
      }),
  };
}
