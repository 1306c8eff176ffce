// Train / validation / test splits as plain typed arrays: float32 NCHW normalised pixels, int32 labels.
// Validation is carved from the source training set by a fixed-seed permutation, so it never changes.
import { Rng } from '../tensor/rng.js';
import type { RawPart } from './sources.js';

export const VALIDATION_SEED = 1912_07768; // the paper's arXiv id

export interface Split {
  x: Float32Array;
  y: Int32Array;
  count: number;
  shape: [number, number, number];
  classes: number;
  /** The normalisation applied (x = (pixel/255 - mean[c]) / std[c]); the grid writer and augmentation need it. */
  mean: number[];
  std: number[];
  /** Which split of its dataset this is, where known: training samplers refuse the test split. */
  role?: 'train' | 'validation' | 'test';
}

/** Disjoint sorted index sets: `validation` of the given size, `train` the rest of 0..total-1. */
export function carveValidation(total: number, validation: number, seed = VALIDATION_SEED): { train: Int32Array; validation: Int32Array } {
  const perm = new Rng(seed).permutation(total);
  const val = perm.slice(0, validation).sort();
  const train = perm.slice(validation).sort();
  return { train, validation: val };
}

/** Gathers `indices` (all images when omitted) of a raw part into a normalised Split. */
export function makeSplit(
  raw: RawPart, shape: [number, number, number], classes: number, mean: number[], std: number[], indices?: Int32Array,
): Split {
  const [C, H, W] = shape;
  const plane = H * W;
  const img = C * plane;
  const count = indices ? indices.length : raw.count;
  const x = new Float32Array(count * img);
  const y = new Int32Array(count);
  // Lookup table per channel: 256 possible byte values, so normalising is one load per pixel.
  const lut = new Float32Array(C * 256);
  for (let c = 0; c < C; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]!) / std[c]!;
  for (let i = 0; i < count; i++) {
    const src = indices ? indices[i]! : i;
    y[i] = raw.y[src]!;
    for (let c = 0; c < C; c++) {
      const s = src * img + c * plane;
      const d = i * img + c * plane;
      const base = c * 256;
      for (let p = 0; p < plane; p++) x[d + p] = lut[base + raw.x[s + p]!]!;
    }
  }
  return { x, y, count, shape: [C, H, W], classes, mean: [...mean], std: [...std] };
}
