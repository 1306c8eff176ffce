// The zero-cost proxies' linear algebra against matrices whose answers are known by construction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logDetPsd, rowCorrelation, symmetricEigenvalues } from '../../src/nas/proxies/linalg.js';
import { pearson } from '../../src/nas/rankStats.js';
import { Rng } from '../../src/tensor/index.js';

/** A random orthogonal n x n matrix (Gram-Schmidt on Gaussian columns). */
function orthogonal(n: number, rng: Rng): Float64Array {
  const q = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const v = Float64Array.from(rng.normal(n));
    for (let k = 0; k < j; k++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += v[i] * q[i * n + k];
      for (let i = 0; i < n; i++) v[i] -= d * q[i * n + k];
    }
    const norm = Math.hypot(...v);
    for (let i = 0; i < n; i++) q[i * n + j] = v[i] / norm;
  }
  return q;
}

describe('zero-cost linear algebra', () => {
  it('symmetricEigenvalues recovers the spectrum of Q diag(l) Q^T, ascending', () => {
    const rng = Rng.seeded(3);
    for (const n of [1, 2, 7, 33]) {
      const l = Float64Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : (rng.float() - 0.5) * 6));
      const q = orthogonal(n, rng);
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += q[i * n + k] * l[k] * q[j * n + k];
      const got = symmetricEigenvalues(a, n);
      const want = Float64Array.from(l).sort();
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-9, `n=${n}: eigenvalue ${i} is ${v}, want ${want[i]}`));
    }
    assert.deepEqual(Array.from(symmetricEigenvalues(Float64Array.from([2, 1, 1, 2]), 2), (v) => Math.round(v * 1e12) / 1e12), [1, 3]);
  });

  it('rowCorrelation is Pearson between rows; a constant row is all zeros, its diagonal too', () => {
    const x = [1, 2, 3, 4, 2, 4, 6, 9, 5, 5, 5, 5, 4, 3, 2, 1];
    const c = rowCorrelation(x, 4, 4);
    assert.ok(Math.abs(c[0 * 4 + 1] - pearson([1, 2, 3, 4], [2, 4, 6, 9])) < 1e-12);
    assert.ok(Math.abs(c[0 * 4 + 3] + 1) < 1e-12);
    assert.deepEqual([c[0], c[5], c[10], c[15]], [1, 1, 0, 1]);
    assert.deepEqual(Array.from(c.subarray(8, 12)), [0, 0, 0, 0]);
    // rows 0 and 3 are perfectly anti-correlated: the matrix is singular
    assert.ok(Math.abs(symmetricEigenvalues(c, 4)[0]) < 1e-12);
  });

  it('logDetPsd: log det of [[2,1],[1,2]] is log 3; a singular matrix gives -Infinity', () => {
    assert.ok(Math.abs(logDetPsd(Float64Array.from([2, 1, 1, 2]), 2) - Math.log(3)) < 1e-12);
    assert.equal(logDetPsd(Float64Array.from([1, 1, 1, 1]), 2), Number.NEGATIVE_INFINITY);
  });
});
