// Seeded mini-batch sampling from a Split. The index stream and the augmentation draw from separate forks
// of the seed, so turning augmentation on does not change which images are picked.
import type { Augment } from './augment.js';
import { Rng } from '../tensor/rng.js';
import type { Split } from './splits.js';

export interface Batch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
}

/**
 * Draws batches of indices in [0, count). With replacement: each index uniform and independent.
 * Without: the stream of indices is a concatenation of fresh random permutations (one per epoch); a batch
 * that straddles an epoch boundary takes the end of one permutation and the start of the next, so every
 * epoch still visits each index exactly once and no data are dropped.
 */
export class IndexSampler {
  private perm: Int32Array;
  private pos = 0;
  /** Epochs completed so far (without replacement); with replacement, batches drawn * size / count. */
  epoch = 0;
  private drawn = 0;
  private readonly rng: Rng;

  constructor(readonly count: number, readonly batchSize: number, seed: number, readonly replacement = false) {
    if (!Number.isInteger(count) || count <= 0) throw new RangeError(`IndexSampler: count must be a positive integer, got ${count}`);
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`IndexSampler: batchSize must be a positive integer, got ${batchSize}`);
    this.rng = new Rng(seed);
    this.perm = replacement ? new Int32Array(0) : this.rng.permutation(count);
  }

  next(): Int32Array {
    const out = new Int32Array(this.batchSize);
    if (this.replacement) {
      for (let i = 0; i < out.length; i++) out[i] = this.rng.int(this.count);
      this.drawn += out.length;
      this.epoch = Math.floor(this.drawn / this.count);
      return out;
    }
    for (let i = 0; i < out.length; i++) {
      if (this.pos === this.count) {
        this.perm = this.rng.permutation(this.count);
        this.pos = 0;
        this.epoch++;
      }
      out[i] = this.perm[this.pos++]!;
    }
    return out;
  }
}

/** Copies the given images of a split into a new batch. */
export function gather(split: Split, indices: ArrayLike<number>): Batch {
  const [C, H, W] = split.shape;
  const img = C * H * W;
  const B = indices.length;
  const x = new Float32Array(B * img);
  const y = new Int32Array(B);
  for (let i = 0; i < B; i++) {
    const s = indices[i]!;
    if (!(s >= 0 && s < split.count)) throw new RangeError(`gather: index ${s} outside [0, ${split.count})`);
    x.set(split.x.subarray(s * img, (s + 1) * img), i * img);
    y[i] = split.y[s]!;
  }
  return { x, y, shape: [B, C, H, W] };
}

export interface SamplerOptions {
  batchSize: number;
  seed: number;
  /** Default false: epochs of random permutations. */
  replacement?: boolean;
  /** Applied in place to each batch, e.g. cifarAugment(split). */
  augment?: Augment;
}

/** An endless, reproducible stream of batches: same split, options and seed, same batches. */
export class BatchSampler {
  private readonly indices: IndexSampler;
  private readonly augRng: Rng;

  constructor(readonly split: Split, readonly opts: SamplerOptions) {
    const root = new Rng(opts.seed);
    this.indices = new IndexSampler(split.count, opts.batchSize, root.fork(0).u32(), opts.replacement ?? false);
    this.augRng = root.fork(1);
  }

  get epoch(): number {
    return this.indices.epoch;
  }

  next(): Batch {
    const batch = gather(this.split, this.indices.next());
    this.opts.augment?.(batch, this.augRng);
    return batch;
  }
}

/** One pass over the split in a seeded random order; the last batch is smaller when size does not divide count. */
export function* epochBatches(split: Split, batchSize: number, seed: number, augment?: Augment): Generator<Batch> {
  const root = new Rng(seed);
  const perm = root.fork(0).permutation(split.count);
  const augRng = root.fork(1);
  for (let s = 0; s < split.count; s += batchSize) {
    const batch = gather(split, perm.subarray(s, Math.min(s + batchSize, split.count)));
    augment?.(batch, augRng);
    yield batch;
  }
}
