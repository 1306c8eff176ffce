// A tiny GTN problem (3 classes, 8x8 images) for tests that unroll the real pieces: small enough for finite
// differences, complete enough to exercise generator BN, reflect padding, pooling and mean-only BN.
import * as T from '../../src/tensor/index.js';
import type { Batch, UnrollConfig } from '../../src/gtn/unroll.js';

export const tinyUnroll: UnrollConfig = {
  teacher: 'gtn',
  steps: 2,
  batch: 4,
  classes: 3,
  imageShape: [1, 8, 8],
  learner: { kind: 'conv', widths: [2, 3, 4] },
  optimizer: 'sgd',
  curriculum: 'full',
  generator: { noiseDim: 3, classes: 3, hidden: 6, channels: 4, imageShape: [1, 8, 8], weightNorm: true },
  intermediateEvery: 1,
  checkpoint: false,
  bnStats: 'last',
  softLabels: false,
};

/** Six real-shaped images (all three classes twice) from a seed. */
export const tinyBatch = (seed: number): Batch => ({ x: T.randn([6, 1, 8, 8], T.Rng.seeded(seed)), y: T.tensor(Int32Array.from([0, 1, 2, 0, 1, 2])) });
