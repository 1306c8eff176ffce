// Finite-difference checks of first and second derivatives. Function values are float32 (the engine's
// precision); the differences and comparisons are done in float64.
import assert from 'node:assert/strict';
import * as T from '../../src/tensor/index.js';
import type { Tensor } from '../../src/tensor/index.js';

export type Fn = (xs: Tensor[]) => Tensor;

export interface CheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
}

function perturbed(xs: Tensor[], which: number, dir: Float64Array | number, delta: number): Tensor[] {
  return xs.map((x, i) => {
    if (i !== which && typeof dir === 'number') return x;
    const d = new Float32Array(x.data);
    if (typeof dir === 'number') d[dir] += delta;
    else for (let k = 0; k < d.length; k++) d[k] += delta * dir[k];
    return T.tensor(d, x.shape);
  });
}

/** Central differences of f with respect to every element of every input. */
export function numericGrad(f: Fn, xs: Tensor[], eps: number): Float64Array[] {
  return xs.map((x, i) => {
    const g = new Float64Array(x.size);
    for (let k = 0; k < x.size; k++) {
      const hi = T.noGrad(() => f(perturbed(xs, i, k, eps))).item();
      const lo = T.noGrad(() => f(perturbed(xs, i, k, -eps))).item();
      g[k] = (hi - lo) / (2 * eps);
    }
    return g;
  });
}

export function assertClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number): void {
  assert.equal(got.length, want.length, `${name}: length`);
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  let worst = 0;
  let at = -1;
  for (let k = 0; k < want.length; k++) {
    const err = Math.abs(got[k] - want[k]) - rtol * Math.abs(want[k]);
    if (err > worst) {
      worst = err;
      at = k;
    }
  }
  assert.ok(
    worst <= atol * scale,
    `${name}: element ${at}: got ${got[at]}, expected ${want[at]} (|diff| beyond rtol ${rtol} = ${worst.toExponential(2)} > atol ${atol} x scale ${scale.toFixed(2)})`,
  );
}

/** d f / d xs by autodiff against central differences. */
export function checkGrad(name: string, f: Fn, xs: Tensor[], o: CheckOptions = {}): void {
  const eps = o.eps ?? 1e-2;
  const analytic = T.grad((ps: Tensor[]) => f(ps))(xs);
  const numeric = numericGrad(f, xs, eps);
  analytic.forEach((g, i) => assertClose(`${name} d/dx${i}`, g.data, numeric[i], o.rtol ?? 2e-2, o.atol ?? 2e-3));
}

/**
 * Hessian-vector product by grad-of-grad (createGraph) against central differences of the analytic
 * gradient along a random direction v.
 */
export function checkHvp(name: string, f: Fn, xs: Tensor[], o: CheckOptions & { seed?: number } = {}): void {
  const eps = o.eps ?? 1e-2;
  const rng = T.Rng.seeded(o.seed ?? 7);
  const v = xs.map((x) => Float64Array.from(rng.normal(x.size)));
  const vt = v.map((d, i) => T.tensor(Float32Array.from(d), xs[i].shape));
  const gradF = (ps: Tensor[]) => T.grad((qs: Tensor[]) => f(qs), { createGraph: true })(ps);
  const hv = T.grad((ps: Tensor[]) => {
    const g = gradF(ps);
    return g.map((gi, i) => T.sum(T.mul(gi, vt[i]))).reduce((a, b) => T.add(a, b));
  })(xs);
  const shift = (delta: number) =>
    xs.map((x, i) => {
      const d = new Float32Array(x.data);
      for (let k = 0; k < d.length; k++) d[k] += delta * v[i][k];
      return T.tensor(d, x.shape);
    });
  const gHi = T.grad((ps: Tensor[]) => f(ps))(shift(eps));
  const gLo = T.grad((ps: Tensor[]) => f(ps))(shift(-eps));
  hv.forEach((h, i) => {
    const numeric = Float64Array.from(gHi[i].data, (a, k) => (a - gLo[i].data[k]) / (2 * eps));
    assertClose(`${name} Hv/dx${i}`, h.data, numeric, o.rtol ?? 3e-2, o.atol ?? 3e-3);
  });
}

/** A fixed random weighting that turns any tensor into a scalar with a non-trivial second derivative. */
export function probe(shape: readonly number[], seed = 3): (y: Tensor) => Tensor {
  const w = T.randn(shape, T.Rng.seeded(seed));
  return (y: Tensor) => T.sum(T.mul(T.tanh(y), w));
}

/** Values spaced at least `gap` apart (so max / maxPool / relu kinks are far from the finite-difference step). */
export function distinct(shape: readonly number[], seed = 11, gap = 0.1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = T.Rng.seeded(seed).permutation(n);
  return T.tensor(Float32Array.from(perm, (p) => (p - n / 2 + 0.5) * gap), shape);
}

export function rand(shape: readonly number[], seed = 5, std = 1): Tensor {
  return T.randn(shape, T.Rng.seeded(seed), std);
}

/** Backends to run a suite on: always js, plus native where it loads. */
export function availableBackends(): T.BackendName[] {
  const names: T.BackendName[] = ['js'];
  try {
    T.setBackend('native');
    names.push('native');
  } catch {
    // not built: js only
  }
  return names;
}
