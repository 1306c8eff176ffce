// The reference backend: plain TypeScript loops, written for clarity first and tolerable speed second.
// The native backend is tested against it.
import type { Backend, BinaryOp, Conv2dParams, Shape, UnaryOp, Window2d } from './backend.js';
import { windowOut } from './backend.js';

const size = (s: Shape): number => s.reduce((a, b) => a * b, 1);

function contiguousStrides(shape: Shape): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

/** Strides of `shape` right-aligned into `outShape`, 0 along broadcast axes. */
function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = contiguousStrides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off]));
}

const unaryFns: Record<UnaryOp, (x: number, p: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => (x > 0 ? x : 0),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  leakyRelu: (x, p) => (x > 0 ? x : p * x),
  leakyReluMask: (x, p) => (x > 0 ? 1 : p),
  step: (x) => (x > 0 ? 1 : 0),
  addScalar: (x, p) => x + p,
  mulScalar: (x, p) => x * p,
  powScalar: (x, p) => Math.pow(x, p),
};

const binaryFns: Record<BinaryOp, (a: number, b: number, p: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a >= b ? a : b),
  minimum: (a, b) => (a <= b ? a : b),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  eq: (a, b) => (a === b ? 1 : 0),
  leakyReluGrad: (a, b, p) => (a > 0 ? b : p * b),
};

/** Visits every index of `outShape`, calling fn(outIndex, offsets...) with one offset per input stride set. */
function forEachBroadcast(outShape: Shape, strides: number[][], fn: (o: number, offs: number[]) => void): void {
  const n = size(outShape);
  const rank = outShape.length;
  const idx = new Array<number>(rank).fill(0);
  const offs = strides.map(() => 0);
  for (let o = 0; o < n; o++) {
    fn(o, offs);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      for (let s = 0; s < strides.length; s++) offs[s] += strides[s][d];
      if (idx[d] < outShape[d]) break;
      for (let s = 0; s < strides.length; s++) offs[s] -= strides[s][d] * idx[d];
      idx[d] = 0;
    }
  }
}

function reduce(x: Float32Array, shape: Shape, axes: readonly number[], init: number, op: (acc: number, v: number) => number): Float32Array {
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float32Array(size(keptShape)).fill(init);
  // Strides of the output seen from the input's index space: 0 along reduced axes.
  const outStrides = contiguousStrides(keptShape).map((s, i) => (axes.includes(i) ? 0 : s));
  forEachBroadcast(shape, [outStrides, contiguousStrides(shape)], (_o, offs) => {
    out[offs[0]] = op(out[offs[0]], x[offs[1]]);
  });
  return out;
}

function sgemm(
  a: Float32Array, aOff: number, b: Float32Array, bOff: number, c: Float32Array, cOff: number,
  m: number, k: number, n: number, transA: boolean, transB: boolean,
): void {
  // Row of C accumulated in float64 scratch for accuracy, i-k-j order so the inner loop is contiguous.
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = transA ? a[aOff + p * m + i] : a[aOff + i * k + p];
      if (av === 0) continue;
      if (transB) {
        for (let j = 0; j < n; j++) row[j] += av * b[bOff + j * k + p];
      } else {
        const bRow = bOff + p * n;
        for (let j = 0; j < n; j++) row[j] += av * b[bRow + j];
      }
    }
    for (let j = 0; j < n; j++) c[cOff + i * n + j] = row[j];
  }
}

export const jsBackend: Backend = {
  name: 'js',

  unary(op: UnaryOp, x: Float32Array, param = 0): Float32Array {
    const f = unaryFns[op];
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = f(x[i], param);
    return out;
  },

  binary(op, a, aShape, b, bShape, outShape, param = 0) {
    const f = binaryFns[op];
    const out = new Float32Array(size(outShape));
    if (a.length === out.length && b.length === out.length) {
      for (let i = 0; i < out.length; i++) out[i] = f(a[i], b[i], param);
      return out;
    }
    forEachBroadcast(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)], (o, offs) => {
      out[o] = f(a[offs[0]], b[offs[1]], param);
    });
    return out;
  },

  where(cond, condShape, a, aShape, b, bShape, outShape) {
    const out = new Float32Array(size(outShape));
    const st = [broadcastStrides(condShape, outShape), broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)];
    forEachBroadcast(outShape, st, (o, offs) => {
      out[o] = cond[offs[0]] !== 0 ? a[offs[1]] : b[offs[2]];
    });
    return out;
  },

  reduceSum(x, shape, axes) {
    // Accumulate in float64 so that the reference is a good yardstick for the native backend.
    const out64 = new Float64Array(size(shape.map((d, i) => (axes.includes(i) ? 1 : d))));
    const outStrides = contiguousStrides(shape.map((d, i) => (axes.includes(i) ? 1 : d))).map((s, i) => (axes.includes(i) ? 0 : s));
    forEachBroadcast(shape, [outStrides, contiguousStrides(shape)], (_o, offs) => {
      out64[offs[0]] += x[offs[1]];
    });
    return Float32Array.from(out64);
  },

  reduceMax(x, shape, axes) {
    return reduce(x, shape, axes, -Infinity, (acc, v) => (v > acc || Number.isNaN(v) ? v : acc));
  },

  argMax(x, shape, axis) {
    const outer = size(shape.slice(0, axis));
    const len = shape[axis];
    const inner = size(shape.slice(axis + 1));
    const out = new Int32Array(outer * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = -Infinity;
        let bi = 0;
        for (let j = 0; j < len; j++) {
          const v = x[(o * len + j) * inner + i];
          if (v > best) {
            best = v;
            bi = j;
          }
        }
        out[o * inner + i] = bi;
      }
    }
    return out;
  },

  matmul(a, b, batch, m, k, n, transA, transB, aBatchStride, bBatchStride) {
    const out = new Float32Array(batch * m * n);
    for (let bi = 0; bi < batch; bi++) sgemm(a, bi * aBatchStride, b, bi * bBatchStride, out, bi * m * n, m, k, n, transA, transB);
    return out;
  },

  permute(x, shape, perm) {
    const outShape = perm.map((p) => shape[p]);
    const inStrides = contiguousStrides(shape);
    const out = new Float32Array(x.length);
    forEachBroadcast(outShape, [perm.map((p) => inStrides[p])], (o, offs) => {
      out[o] = x[offs[0]];
    });
    return out;
  },

  slice(x, shape, begin, sz) {
    const inStrides = contiguousStrides(shape);
    const base = begin.reduce((acc, b, i) => acc + b * inStrides[i], 0);
    const out = new Float32Array(size(sz));
    forEachBroadcast(sz, [inStrides], (o, offs) => {
      out[o] = x[base + offs[0]];
    });
    return out;
  },

  padZero(x, shape, before, after) {
    const outShape = shape.map((d, i) => d + before[i] + after[i]);
    const outStrides = contiguousStrides(outShape);
    const base = before.reduce((acc, b, i) => acc + b * outStrides[i], 0);
    const out = new Float32Array(size(outShape));
    forEachBroadcast(shape, [outStrides], (i, offs) => {
      out[base + offs[0]] = x[i];
    });
    return out;
  },

  concat(xs, shapes, axis) {
    const outer = size(shapes[0].slice(0, axis));
    const inner = size(shapes[0].slice(axis + 1));
    const total = shapes.reduce((acc, s) => acc + s[axis], 0);
    const out = new Float32Array(outer * total * inner);
    let off = 0;
    xs.forEach((x, t) => {
      const chunk = shapes[t][axis] * inner;
      for (let o = 0; o < outer; o++) out.set(x.subarray(o * chunk, (o + 1) * chunk), o * total * inner + off);
      off += chunk;
    });
    return out;
  },

  gather(x, idx) {
    const out = new Float32Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = x[idx[i]];
    return out;
  },

  scatterAdd(g, idx, n) {
    const out = new Float64Array(n);
    for (let i = 0; i < idx.length; i++) out[idx[i]] += g[i];
    return Float32Array.from(out);
  },

  conv2d(x, xShape, w, wShape, p) {
    const out = new Float64Array(convOutSize(xShape, wShape, p));
    convTaps(xShape, wShape, p, (xi, wi, oi) => {
      out[oi] += x[xi] * w[wi];
    });
    return Float32Array.from(out);
  },

  conv2dBackwardInput(gr, _gShape, w, wShape, xShape, p) {
    const dx = new Float64Array(size(xShape));
    convTaps(xShape, wShape, p, (xi, wi, oi) => {
      dx[xi] += gr[oi] * w[wi];
    });
    return Float32Array.from(dx);
  },

  conv2dBackwardWeight(x, xShape, gr, _gShape, wShape, p) {
    const dw = new Float64Array(size(wShape));
    convTaps(xShape, wShape, p, (xi, wi, oi) => {
      dw[wi] += gr[oi] * x[xi];
    });
    return Float32Array.from(dw);
  },

  maxPool2d(x, xShape, win) {
    const n = poolOutSize(xShape, win);
    const out = new Float32Array(n).fill(-Infinity);
    const argmax = new Int32Array(n).fill(-1);
    poolTaps(xShape, win, (xi, oi) => {
      if (x[xi] > out[oi] || argmax[oi] < 0) {
        out[oi] = x[xi];
        argmax[oi] = xi;
      }
    });
    return { out, argmax };
  },

  avgPool2d(x, xShape, win, countPad) {
    const out = new Float64Array(poolOutSize(xShape, win));
    poolTaps(xShape, win, (xi, oi) => {
      out[oi] += x[xi];
    });
    const div = poolDivisors(xShape, win, countPad);
    return Float32Array.from(out, (v, i) => v / div[i]);
  },

  batchNorm(x, xShape, gamma, beta, eps) {
    const [N, C] = xShape;
    const S = x.length / Math.max(1, N * C);
    const mean = new Float32Array(C);
    const variance = new Float32Array(C);
    const y = new Float32Array(x.length);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) s += x[(n * C + c) * S + k];
      const m = s / (N * S);
      let v = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) v += (x[(n * C + c) * S + k] - m) ** 2;
      v /= N * S;
      mean[c] = m;
      variance[c] = v;
      const scale = gamma[c] / Math.sqrt(v + eps);
      for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) y[(n * C + c) * S + k] = (x[(n * C + c) * S + k] - m) * scale + beta[c];
    }
    return { y, mean, variance };
  },

  batchNormBackward(x, xShape, gamma, mean, variance, eps, gy, gmean, gvar) {
    const [N, C] = xShape;
    const S = x.length / Math.max(1, N * C);
    const M = N * S;
    const dx = new Float32Array(x.length);
    const dgamma = new Float32Array(C);
    const dbeta = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      const m = mean[c];
      const invstd = 1 / Math.sqrt(variance[c] + eps);
      let sgy = 0;
      let sgyc = 0;
      if (gy) {
        for (let n = 0; n < N; n++) {
          for (let k = 0; k < S; k++) {
            const i = (n * C + c) * S + k;
            sgy += gy[i];
            sgyc += gy[i] * (x[i] - m);
          }
        }
      }
      dbeta[c] = sgy;
      dgamma[c] = sgyc * invstd;
      const gm = gmean ? gmean[c] / M : 0;
      const gv = gvar ? (2 * gvar[c]) / M : 0;
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < S; k++) {
          const i = (n * C + c) * S + k;
          const d = x[i] - m;
          dx[i] = gamma[c] * invstd * ((gy ? gy[i] : 0) - sgy / M - (d * invstd * invstd * sgyc) / M) + gm + gv * d;
        }
      }
    }
    return { dx, dgamma, dbeta };
  },

  maxPool2dBackward(g, gShape, argmax, xShape, win) {
    const [N, C, H, W] = xShape;
    const P = poolOutSize(xShape, win) / Math.max(1, N * C);
    if (size(gShape) !== argmax.length || argmax.length !== g.length || poolOutSize(xShape, win) !== g.length) {
      throw new Error(`maxPool2dBackward: g ${gShape.join('x')} / argmax (${argmax.length}) do not match the pooled output of ${xShape.join('x')}`);
    }
    for (let i = 0; i < argmax.length; i++) {
      const plane = Math.floor(i / P);
      if (argmax[i] < plane * H * W || argmax[i] >= (plane + 1) * H * W) throw new Error(`maxPool2dBackward: argmax ${argmax[i]} lies outside its own plane of x`);
    }
    return jsBackend.scatterAdd(g, argmax, size(xShape));
  },

  avgPool2dBackward(gr, _gShape, xShape, win, countPad) {
    const div = poolDivisors(xShape, win, countPad);
    const dx = new Float64Array(size(xShape));
    poolTaps(xShape, win, (xi, oi) => {
      dx[xi] += gr[oi] / div[oi];
    });
    return Float32Array.from(dx);
  },
};

function convOutSize(xShape: Shape, wShape: Shape, p: Conv2dParams): number {
  const [N, , H, W] = xShape;
  const [O, , kh, kw] = wShape;
  return N * O * windowOut(H, kh, p.stride[0], p.pad[0], p.pad[1]) * windowOut(W, kw, p.stride[1], p.pad[2], p.pad[3]);
}

/**
 * Visits every multiply of a convolution as flat indices (input, weight, output): the one loop nest behind
 * conv2d and both of its gradients, which differ only in which two factors they multiply and where they add.
 */
function convTaps(xShape: Shape, wShape: Shape, p: Conv2dParams, tap: (xi: number, wi: number, oi: number) => void): void {
  const [N, C, H, W] = xShape;
  const [O, Cg, kh, kw] = wShape;
  const Og = O / p.groups;
  const Ho = windowOut(H, kh, p.stride[0], p.pad[0], p.pad[1]);
  const Wo = windowOut(W, kw, p.stride[1], p.pad[2], p.pad[3]);
  for (let nI = 0; nI < N; nI++) {
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let oy = 0; oy < Ho; oy++) {
        for (let ox = 0; ox < Wo; ox++) {
          const oi = ((nI * O + o) * Ho + oy) * Wo + ox;
          for (let c = 0; c < Cg; c++) {
            const xc = (nI * C + g * Cg + c) * H;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * p.stride[0] - p.pad[0] + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * p.stride[1] - p.pad[2] + kx;
                if (ix >= 0 && ix < W) tap((xc + iy) * W + ix, ((o * Cg + c) * kh + ky) * kw + kx, oi);
              }
            }
          }
        }
      }
    }
  }
}

function poolOutSize(xShape: Shape, win: Window2d): number {
  const [N, C, H, W] = xShape;
  return N * C * windowOut(H, win.kernel[0], win.stride[0], win.pad[0], win.pad[1]) * windowOut(W, win.kernel[1], win.stride[1], win.pad[2], win.pad[3]);
}

/** Average pooling's divisor per output: kh * kw, or (countPad false) the window's positions inside the input. */
function poolDivisors(xShape: Shape, win: Window2d, countPad: boolean): Float64Array {
  const div = new Float64Array(poolOutSize(xShape, win));
  if (countPad) return div.fill(win.kernel[0] * win.kernel[1]);
  poolTaps(xShape, win, (_xi, oi) => {
    div[oi] += 1;
  });
  return div;
}

/** Visits every (input, output) pair of a pooling window as flat indices; padding positions are skipped. */
function poolTaps(xShape: Shape, win: Window2d, tap: (xi: number, oi: number) => void): void {
  const [N, C, H, W] = xShape;
  const [kh, kw] = win.kernel;
  const [sh, sw] = win.stride;
  const [pt, pb, pl, pr] = win.pad;
  const Ho = windowOut(H, kh, sh, pt, pb);
  const Wo = windowOut(W, kw, sw, pl, pr);
  let oi = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const base = plane * H * W;
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++, oi++) {
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * sw - pl + kx;
            if (ix >= 0 && ix < W) tap(base + iy * W + ix, oi);
          }
        }
      }
    }
  }
}
