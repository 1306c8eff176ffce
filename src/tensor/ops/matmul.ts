// Batched matrix multiply with optional transposes: the workhorse of every layer.
import { record1 } from '../autograd.js';
import { ShapeError, Tensor, assertFloat, broadcastShapes, sameShape, shapeStr, sizeOf } from '../tensor.js';
import { broadcastTo, sumTo } from './shape.js';
import { B, f32 } from './util.js';

export interface MatmulOptions {
  /** Use a's last two axes transposed. */
  transA?: boolean;
  /** Use b's last two axes transposed. */
  transB?: boolean;
}

/**
 * op(a) @ op(b) over the last two axes, broadcasting the leading (batch) axes. a: [..., m, k] ([..., k, m]
 * with transA), b: [..., k, n] ([..., n, k] with transB).
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  assertFloat('matmul', a, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`matmul: both operands need rank >= 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const m = transA ? a.shape[a.rank - 1] : a.shape[a.rank - 2];
  const ka = transA ? a.shape[a.rank - 2] : a.shape[a.rank - 1];
  const kb = transB ? b.shape[b.rank - 1] : b.shape[b.rank - 2];
  const n = transB ? b.shape[b.rank - 2] : b.shape[b.rank - 1];
  if (ka !== kb) {
    throw new ShapeError(`matmul: inner dimensions differ: ${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} @ ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''} (${ka} vs ${kb})`);
  }
  const batchShape = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOf(batchShape);
  // The kernel broadcasts a whole operand (batch stride 0); other batch broadcasts are materialised.
  const prep = (t: Tensor): Tensor => {
    const tb = t.shape.slice(0, -2);
    if (sizeOf(tb) === 1 || sameShape(tb, batchShape)) return t;
    return broadcastTo(t, [...batchShape, ...t.shape.slice(-2)]);
  };
  const ap = prep(a);
  const bp = prep(b);
  const aStride = sizeOf(ap.shape.slice(0, -2)) === 1 ? 0 : m * ka;
  const bStride = sizeOf(bp.shape.slice(0, -2)) === 1 ? 0 : ka * n;
  const out = new Tensor(B().matmul(f32(ap), f32(bp), batch, m, ka, n, transA, transB, aStride, bStride), [...batchShape, m, n]);
  return record1('matmul', [a, b], out, (g, needs) => {
    // C = op(A) op(B):  dA = g op(B)ᵀ (or its transpose),  dB = op(A)ᵀ g (or its transpose).
    const da = !needs[0] ? null : transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
    const db = !needs[1] ? null : transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
    return [da && sumTo(da, a.shape), db && sumTo(db, b.shape)];
  });
}
