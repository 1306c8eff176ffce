// Ops that move data without arithmetic: reshape, broadcast, permute, slice, pad, concat, gather/scatter,
// nearest upsampling. Their vjps are each other (slice <-> padZero, gather <-> scatterAdd, ...).
import { record1 } from '../autograd.js';
import { ShapeError, Tensor, assertFloat, broadcastShapes, normAxis, sameShape, shapeStr, sizeOf } from '../tensor.js';
import { sum } from './reduce.js';
import { B, f32 } from './util.js';

/** Same data, new shape; one dimension may be -1. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.filter((d) => d !== -1);
  let s = [...shape];
  if (shape.filter((d) => d === -1).length > 1) throw new ShapeError(`reshape: at most one -1 in ${shapeStr(shape)}`);
  if (known.length < shape.length) {
    const k = sizeOf(known);
    if (k === 0 || x.size % k !== 0) throw new ShapeError(`reshape: cannot reshape ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
    s = shape.map((d) => (d === -1 ? x.size / k : d));
  }
  if (sizeOf(s) !== x.size || !s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ShapeError(`reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`);
  }
  if (sameShape(s, x.shape)) return x;
  const out = new Tensor(x.data, s, x.dtype);
  // Vjps hold the shapes they need, not the tensors: the graph keeps only the data vjps read (GraphRef).
  const xShape = x.shape;
  return record1('reshape', [x], out, (g) => [reshape(g, xShape)]);
}

export function flatten(x: Tensor, startAxis = 1): Tensor {
  return reshape(x, [...x.shape.slice(0, startAxis), -1]);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('squeeze', axis, x.rank);
  if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${axis} of ${shapeStr(x.shape)} is not of size 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/** Broadcasts x to `shape` (numpy rules); the vjp sums back. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  assertFloat('broadcastTo', x);
  if (sameShape(x.shape, shape)) return x;
  const b = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(b, shape)) throw new ShapeError(`broadcastTo: cannot broadcast ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  const zero = new Float32Array(1);
  const out = new Tensor(B().binary('add', f32(x), x.shape, zero, [], shape), shape);
  const xShape = x.shape;
  return record1('broadcastTo', [x], out, (g) => [sumTo(g, xShape)]);
}

/** Sums g over the axes along which `shape` was broadcast to g's shape. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return reshape(sum(g, axes), shape);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  assertFloat('permute', x);
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new ShapeError(`permute: ${shapeStr(perm)} is not a permutation of the axes of ${shapeStr(x.shape)}`);
  }
  if (perm.every((p, i) => p === i)) return x;
  const out = new Tensor(B().permute(f32(x), x.shape, perm), perm.map((p) => x.shape[p]));
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return record1('permute', [x], out, (g) => [permute(g, inverse)]);
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const ia = normAxis('transpose', a, x.rank);
  const ib = normAxis('transpose', b, x.rank);
  const perm = [...x.shape.keys()];
  perm[ia] = ib;
  perm[ib] = ia;
  return permute(x, perm);
}

/** x[begin[i] : begin[i] + size[i]] along every axis; size -1 means "to the end". */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  assertFloat('slice', x);
  if (begin.length !== x.rank || size.length !== x.rank) throw new ShapeError(`slice: begin/size must have one entry per axis of ${shapeStr(x.shape)}`);
  const sz = size.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
  sz.forEach((s, i) => {
    if (begin[i] < 0 || s < 0 || begin[i] + s > x.shape[i]) {
      throw new ShapeError(`slice: begin ${shapeStr(begin)} size ${shapeStr(size)} is out of bounds for ${shapeStr(x.shape)}`);
    }
  });
  if (sameShape(sz, x.shape)) return x;
  const out = new Tensor(B().slice(f32(x), x.shape, begin, sz), sz);
  const after = x.shape.map((d, i) => d - begin[i] - sz[i]);
  return record1('slice', [x], out, (g) => [padZero(g, begin, after)]);
}

/** Zero padding: before[i] zeros ahead of axis i and after[i] behind it. */
export function padZero(x: Tensor, before: readonly number[], after: readonly number[]): Tensor {
  assertFloat('padZero', x);
  if (before.length !== x.rank || after.length !== x.rank || [...before, ...after].some((p) => p < 0 || !Number.isInteger(p))) {
    throw new ShapeError(`padZero: padding ${shapeStr(before)} / ${shapeStr(after)} does not fit ${shapeStr(x.shape)}`);
  }
  if (before.every((p) => p === 0) && after.every((p) => p === 0)) return x;
  const out = new Tensor(B().padZero(f32(x), x.shape, before, after), x.shape.map((d, i) => d + before[i] + after[i]));
  const xShape = x.shape;
  return record1('padZero', [x], out, (g) => [slice(g, before, xShape)]);
}

/** Split along an axis into pieces of the given sizes. */
export function split(x: Tensor, sizes: readonly number[], axis = 0): Tensor[] {
  const a = normAxis('split', axis, x.rank);
  if (sizes.reduce((s, v) => s + v, 0) !== x.shape[a]) throw new ShapeError(`split: sizes ${shapeStr(sizes)} do not add up to axis ${axis} of ${shapeStr(x.shape)}`);
  let off = 0;
  return sizes.map((s) => {
    const begin = x.shape.map((_, i) => (i === a ? off : 0));
    const size = x.shape.map((d, i) => (i === a ? s : d));
    off += s;
    return slice(x, begin, size);
  });
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  assertFloat('concat', ...xs);
  const a = normAxis('concat', axis, xs[0].rank);
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new ShapeError(`concat: shapes ${xs.map((t) => shapeStr(t.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  if (xs.length === 1) return xs[0];
  const shape = xs[0].shape.map((d, i) => (i === a ? xs.reduce((s, t) => s + t.shape[a], 0) : d));
  const out = new Tensor(B().concat(xs.map(f32), xs.map((t) => t.shape), a), shape);
  const sizes = xs.map((t) => t.shape[a]);
  return record1('concat', xs, out, concatVjp(sizes, a));
}

function concatVjp(sizes: readonly number[], a: number) {
  return (g: Tensor, needs: readonly boolean[]) => {
    const parts = split(g, sizes, a);
    return parts.map((p, i) => (needs[i] ? p : null));
  };
}

// A gather remembers its source and indices, so that a gather of a gather (upsample then reflect-pad, say)
// reads the original source once through the composed indices instead of materialising the middle tensor.
const gatherSources = new WeakMap<Tensor, { src: Tensor; idx: Int32Array }>();
const composed = new WeakMap<Int32Array, WeakMap<Int32Array, Int32Array>>();

function compose(inner: Int32Array, outer: Int32Array): Int32Array {
  let byOuter = composed.get(inner);
  if (!byOuter) composed.set(inner, (byOuter = new WeakMap()));
  let c = byOuter.get(outer);
  if (!c) {
    c = new Int32Array(outer.length);
    for (let i = 0; i < outer.length; i++) c[i] = inner[outer[i]];
    byOuter.set(outer, c);
  }
  return c;
}

/** out[i] = x.flat[idx[i]], shaped `shape`. The building block of indexing, reflect padding, upsampling. */
export function gatherFlat(x: Tensor, idx: Int32Array, shape: readonly number[]): Tensor {
  assertFloat('gather', x);
  if (sizeOf(shape) !== idx.length) throw new ShapeError(`gather: ${idx.length} indices cannot fill shape ${shapeStr(shape)}`);
  const prior = gatherSources.get(x);
  if (prior) return gatherFlat(prior.src, compose(prior.idx, idx), shape);
  const out = new Tensor(B().gather(f32(x), idx), shape);
  gatherSources.set(out, { src: x, idx });
  const xShape = x.shape;
  return record1('gather', [x], out, (g) => [scatterAddFlat(g, idx, xShape)]);
}

/** zeros(shape) with g[i] added at flat position idx[i]; the transpose of gatherFlat. */
export function scatterAddFlat(g: Tensor, idx: Int32Array, shape: readonly number[]): Tensor {
  assertFloat('scatterAdd', g);
  if (g.size !== idx.length) throw new ShapeError(`scatterAdd: ${idx.length} indices for ${g.size} values`);
  const out = new Tensor(B().scatterAdd(f32(g), idx, sizeOf(shape)), shape);
  const gShape = g.shape;
  return record1('scatterAdd', [g], out, (h) => [gatherFlat(h, idx, gShape)]);
}

function checkIndices(op: string, idx: Int32Array, n: number): void {
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= n) throw new ShapeError(`${op}: index ${idx[i]} is out of range for an axis of size ${n}`);
  }
}

/** Rows (or slices along `axis`) of x picked by integer indices: x.index_select(axis, indices). */
export function indexSelect(x: Tensor, axis: number, indices: Tensor | Int32Array | readonly number[]): Tensor {
  const a = normAxis('indexSelect', axis, x.rank);
  const ind = indices instanceof Tensor ? indices.data : Int32Array.from(indices as ArrayLike<number>);
  if (indices instanceof Tensor && indices.dtype !== 'int32') throw new ShapeError(`indexSelect: indices must be int32, got ${indices.dtype}`);
  const idxArr = Int32Array.from(ind);
  checkIndices('indexSelect', idxArr, x.shape[a]);
  const outer = sizeOf(x.shape.slice(0, a));
  const inner = sizeOf(x.shape.slice(a + 1));
  const n = x.shape[a];
  const flat = new Int32Array(outer * idxArr.length * inner);
  let o = 0;
  for (let p = 0; p < outer; p++) for (const j of idxArr) for (let q = 0; q < inner; q++) flat[o++] = (p * n + j) * inner + q;
  return gatherFlat(x, flat, x.shape.map((d, i) => (i === a ? idxArr.length : d)));
}

// Index maps depend only on shapes; cache them (a meta-step asks for the same ones thousands of times).
const indexCache = new Map<string, Int32Array>();
function cachedIndex(key: string, make: () => Int32Array): Int32Array {
  let v = indexCache.get(key);
  if (!v) {
    if (indexCache.size > 256) indexCache.clear();
    v = make();
    indexCache.set(key, v);
  }
  return v;
}

function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/**
 * Pads every axis: `padding[i] = [before, after]`. mode 'zero' fills with zeros; 'reflect' mirrors without
 * repeating the edge (PyTorch's ReflectionPad), which needs padding < the axis size.
 */
export function pad(x: Tensor, padding: readonly (readonly [number, number])[], mode: 'zero' | 'reflect' = 'zero'): Tensor {
  if (padding.length !== x.rank) throw new ShapeError(`pad: need [before, after] for each of the ${x.rank} axes of ${shapeStr(x.shape)}`);
  if (mode === 'zero') return padZero(x, padding.map((p) => p[0]), padding.map((p) => p[1]));
  padding.forEach(([b, a], i) => {
    if (b >= x.shape[i] || a >= x.shape[i]) {
      throw new ShapeError(`pad: reflect padding [${b}, ${a}] must be smaller than axis ${i} of ${shapeStr(x.shape)}`);
    }
  });
  const outShape = x.shape.map((d, i) => d + padding[i][0] + padding[i][1]);
  const key = `reflect:${x.shape.join(',')}:${padding.flat().join(',')}`;
  const idx = cachedIndex(key, () => {
    const out = new Int32Array(sizeOf(outShape));
    const rank = x.rank;
    const pos = new Array<number>(rank).fill(0);
    for (let o = 0; o < out.length; o++) {
      let src = 0;
      for (let d = 0; d < rank; d++) src = src * x.shape[d] + reflectIndex(pos[d] - padding[d][0], x.shape[d]);
      out[o] = src;
      for (let d = rank - 1; d >= 0; d--) {
        if (++pos[d] < outShape[d]) break;
        pos[d] = 0;
      }
    }
    return out;
  });
  return gatherFlat(x, idx, outShape);
}

/** Nearest-neighbour upsampling of the last two axes of [N, C, H, W] by an integer factor. */
export function upsampleNearest(x: Tensor, factor: number): Tensor {
  if (x.rank !== 4) throw new ShapeError(`upsampleNearest: expected [N, C, H, W], got ${shapeStr(x.shape)}`);
  if (!Number.isInteger(factor) || factor < 1) throw new ShapeError(`upsampleNearest: factor must be a positive integer, got ${factor}`);
  const [N, C, H, W] = x.shape;
  const Ho = H * factor;
  const Wo = W * factor;
  const idx = cachedIndex(`up:${x.shape.join(',')}:${factor}`, () => {
    const out = new Int32Array(N * C * Ho * Wo);
    let o = 0;
    for (let p = 0; p < N * C; p++) {
      for (let y = 0; y < Ho; y++) {
        const row = (p * H + Math.floor(y / factor)) * W;
        for (let xx = 0; xx < Wo; xx++) out[o++] = row + Math.floor(xx / factor);
      }
    }
    return out;
  });
  return gatherFlat(x, idx, [N, C, Ho, Wo]);
}
