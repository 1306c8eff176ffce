// The meta-optimiser: Adam with cosine decay of the learning rate (to `finalFraction` of it), and optional
// clipping of the meta-gradient's global norm. It updates numbers, not graphs, so it works on the raw arrays.
import { Tensor } from '../tensor/index.js';

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Total outer iterations, for the cosine schedule. */
  iterations: number;
  /** The learning rate decays to lr * finalFraction. */
  finalFraction: number;
  /** Clip the global norm of the meta-gradient to this (0: no clipping). */
  clipNorm: number;
  /**
   * Skip the step when the meta-gradient's global norm exceeds this (0 or absent: never). Unrolls through deep
   * learners are chaotic: norms of 1e6-1e36 are not large steps to clip but directions to ignore.
   */
  skipNorm?: number;
}

export interface AdamState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export function initAdam(params: readonly Tensor[]): AdamState {
  return { step: 0, m: params.map((p) => new Float32Array(p.size)), v: params.map((p) => new Float32Array(p.size)) };
}

export function cosineLr(cfg: AdamConfig, step: number): number {
  const progress = Math.min(1, step / Math.max(1, cfg.iterations));
  return cfg.lr * (cfg.finalFraction + (1 - cfg.finalFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export function globalNorm(grads: readonly Tensor[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.size; i++) s += g.data[i] * g.data[i];
  return Math.sqrt(s);
}

/** One Adam step: returns the new parameter tensors (state is updated in place). */
export function adamStep(cfg: AdamConfig, state: AdamState, params: readonly Tensor[], grads: readonly Tensor[]): Tensor[] {
  const lr = cosineLr(cfg, state.step);
  state.step++;
  const norm = cfg.clipNorm > 0 ? globalNorm(grads) : 0;
  const scale = cfg.clipNorm > 0 && norm > cfg.clipNorm ? cfg.clipNorm / norm : 1;
  const c1 = 1 - cfg.beta1 ** state.step;
  const c2 = 1 - cfg.beta2 ** state.step;
  return params.map((p, k) => {
    const m = state.m[k];
    const v = state.v[k];
    const g = grads[k].data;
    const out = new Float32Array(p.data);
    for (let i = 0; i < out.length; i++) {
      const gi = g[i] * scale;
      m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * gi;
      v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * gi * gi;
      out[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + cfg.eps);
    }
    return new Tensor(out, p.shape);
  });
}
