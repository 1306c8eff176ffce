// Making tensors: from arrays, constants, and seeded random draws.
import type { Rng } from '../rng.js';
import { ShapeError, Tensor, sizeOf, type DType, type NestedArray } from '../tensor.js';

function checkShape(op: string, shape: readonly number[]): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ShapeError(`${op}: invalid shape [${shape.join(', ')}]`);
}

function inferShape(v: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = v;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/**
 * A tensor from a typed array, a flat or nested number array, or a number. `shape` defaults to the nested
 * array's shape (or [n] for flat data). Int32Array data gives an int32 tensor.
 */
export function tensor(data: Float32Array | Int32Array | NestedArray, shape?: readonly number[], dtype?: DType): Tensor {
  if (data instanceof Float32Array || data instanceof Int32Array) {
    const s = shape ?? [data.length];
    checkShape('tensor', s);
    if (dtype && dtype !== (data instanceof Int32Array ? 'int32' : 'float32')) {
      return new Tensor(dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data), s);
    }
    return new Tensor(data, s);
  }
  const s = shape ?? inferShape(data);
  checkShape('tensor', s);
  const flat = typeof data === 'number' ? [data] : (data as NestedArray[]).flat(Infinity as 1) as number[];
  if (flat.length !== sizeOf(s)) throw new ShapeError(`tensor: ${flat.length} values do not fill shape [${s.join(', ')}] (ragged array?)`);
  for (const v of flat) if (typeof v !== 'number') throw new TypeError(`tensor: expected numbers, got ${typeof v}`);
  return new Tensor(dtype === 'int32' ? Int32Array.from(flat) : Float32Array.from(flat), s);
}

export function scalar(v: number): Tensor {
  return new Tensor(new Float32Array([v]), []);
}

export function full(shape: readonly number[], value: number): Tensor {
  checkShape('full', shape);
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape);
}

export function zeros(shape: readonly number[]): Tensor {
  checkShape('zeros', shape);
  return new Tensor(new Float32Array(sizeOf(shape)), shape);
}

export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1);
}

export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape);
}

export function onesLike(t: Tensor): Tensor {
  return ones(t.shape);
}

/** Standard normal draws (scaled by std, shifted by mean). */
export function randn(shape: readonly number[], rng: Rng, std = 1, mean = 0): Tensor {
  checkShape('randn', shape);
  return new Tensor(rng.normal(sizeOf(shape), mean, std), shape);
}

/** Uniform draws in [lo, hi). */
export function uniform(shape: readonly number[], rng: Rng, lo = 0, hi = 1): Tensor {
  checkShape('uniform', shape);
  return new Tensor(rng.uniform(sizeOf(shape), lo, hi), shape);
}

/** 0, 1, ..., n-1 as int32. */
export function arange(n: number): Tensor {
  const d = new Int32Array(n);
  for (let i = 0; i < n; i++) d[i] = i;
  return new Tensor(d, [n]);
}
