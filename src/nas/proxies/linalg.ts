// Small dense float64 linear algebra for the zero-cost proxies (matrices of at most a few hundred rows, row-major).

/** log|det| of a symmetric positive semi-definite matrix (Cholesky; -Infinity if singular). */
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

/** Householder reduction of a symmetric matrix to tridiagonal form: its diagonal d and off-diagonal e (same spectrum). */
function tridiagonal(input: Float64Array, n: number): { d: Float64Array; e: Float64Array } {
  const a = Float64Array.from(input);
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    let norm = 0;
    for (let i = k + 1; i < n; i++) norm += a[i * n + k] * a[i * n + k];
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = a[(k + 1) * n + k] > 0 ? -norm : norm;
    // v = x - alpha e1, normalised; H = I - 2 v v^T maps x to alpha e1
    let vn = 0;
    for (let i = k + 1; i < n; i++) {
      v[i] = a[i * n + k] - (i === k + 1 ? alpha : 0);
      vn += v[i] * v[i];
    }
    vn = Math.sqrt(vn);
    if (vn === 0) continue;
    for (let i = k + 1; i < n; i++) v[i] /= vn;
    // H A H = A - 2 v w^T - 2 w v^T on the trailing block, with p = A v and w = p - (v^T p) v
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += a[i * n + j] * v[j];
      p[i] = s;
      vp += v[i] * s;
    }
    for (let i = k + 1; i < n; i++) p[i] -= vp * v[i];
    for (let i = k + 1; i < n; i++) for (let j = k + 1; j < n; j++) a[i * n + j] -= 2 * (v[i] * p[j] + p[i] * v[j]);
    a[(k + 1) * n + k] = alpha;
    a[k * n + k + 1] = alpha;
    for (let i = k + 2; i < n; i++) a[i * n + k] = a[k * n + i] = 0;
  }
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
  for (let i = 0; i + 1 < n; i++) e[i] = a[(i + 1) * n + i];
  return { d, e };
}

/**
 * The `count` smallest eigenvalues of a symmetric matrix (all by default), ascending: Householder
 * tridiagonalisation, then each eigenvalue by bisection on the Sturm count (how many eigenvalues lie below x), to
 * rounding.
 */
export function symmetricEigenvalues(input: Float64Array, n: number, count = n): Float64Array {
  const { d, e } = tridiagonal(input, n);
  const below = (x: number): number => {
    let negatives = 0;
    let q = 1;
    for (let i = 0; i < n; i++) {
      q = d[i] - x - (i > 0 ? (e[i - 1] * e[i - 1]) / q : 0);
      if (q === 0) q = -1e-300; // a zero pivot counts as below (x sits on an eigenvalue of the leading block)
      if (q < 0) negatives++;
    }
    return negatives;
  };
  // Gershgorin bounds
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = (i > 0 ? Math.abs(e[i - 1]) : 0) + (i + 1 < n ? Math.abs(e[i]) : 0);
    lo = Math.min(lo, d[i] - r);
    hi = Math.max(hi, d[i] + r);
  }
  const tol = 1e-14 * Math.max(1, Math.abs(lo), Math.abs(hi));
  const out = new Float64Array(Math.min(count, n));
  for (let k = 0; k < out.length; k++) {
    let a = k > 0 ? out[k - 1] : lo;
    let b = hi;
    while (b - a > tol) {
      const m = 0.5 * (a + b);
      if (m === a || m === b) break;
      if (below(m) > k) b = m;
      else a = m;
    }
    out[k] = 0.5 * (a + b);
  }
  return out;
}

/** The smallest eigenvalue of a symmetric matrix (what MeCo reads). */
export const smallestEigenvalue = (a: Float64Array, n: number): number => (n ? symmetricEigenvalues(a, n, 1)[0] : Number.NaN);

/**
 * Pearson correlation between the rows of x [rows, cols] (numpy / torch `corrcoef`), with the convention of the
 * reference MeCo code: a constant row's correlations, its diagonal included, are 0 (they are NaN there, then zeroed).
 */
export function rowCorrelation(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const centred = new Float64Array(rows * cols);
  const norm = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < cols; c++) m += x[r * cols + c];
    m /= cols;
    let ss = 0;
    for (let c = 0; c < cols; c++) {
      const d = x[r * cols + c] - m;
      centred[r * cols + c] = d;
      ss += d * d;
    }
    norm[r] = Math.sqrt(ss);
  }
  const out = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    if (!(norm[i] > 0)) continue;
    for (let j = i; j < rows; j++) {
      if (!(norm[j] > 0)) continue;
      let s = 0;
      for (let c = 0; c < cols; c++) s += centred[i * cols + c] * centred[j * cols + c];
      const v = i === j ? 1 : s / (norm[i] * norm[j]);
      out[i * rows + j] = v;
      out[j * rows + i] = v;
    }
  }
  return out;
}
