// Small helpers shared by the op files: the active backend, scalar promotion, shape arithmetic.
import { backend } from '../backends/registry.js';
import { ShapeError, Tensor, assertFloat, shapeStr } from '../tensor.js';

export const B = backend;

/** Numbers become float32 scalars; tensors must be float32. */
export function asTensor(op: string, v: Tensor | number): Tensor {
  if (typeof v === 'number') return new Tensor(new Float32Array([v]), []);
  assertFloat(op, v);
  return v;
}

export function f32(t: Tensor): Float32Array {
  return t.data as Float32Array;
}

/** Sorted unique axes in [0, rank); undefined means all. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    const r = a < 0 ? a + rank : a;
    if (!Number.isInteger(r) || r < 0 || r >= rank) throw new ShapeError(`${op}: axis ${a} is out of range for a tensor of rank ${rank}`);
    return r;
  });
  return [...new Set(out)].sort((x, y) => x - y);
}

export function checkRank(op: string, t: Tensor, rank: number, what = 'input'): void {
  if (t.rank !== rank) throw new ShapeError(`${op}: expected ${what} of rank ${rank}, got shape ${shapeStr(t.shape)}`);
}
