// CIFAR-10 on the real sprites (decoded once for the whole file): counts, checksums, splits, augmentation.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  BatchSampler, DATASETS, cifarAugment, loadRaw, splitRaw, type Split,
} from '../../src/data/index.js';
import type { RawDataset } from '../../src/data/sources.js';
import { carveValidation } from '../../src/data/splits.js';
import { labelCounts, sha256 } from '../../src/data/verify.js';

const spec = DATASETS.cifar10;
let raw: RawDataset;
let splits: Partial<Record<'train' | 'validation' | 'test', Split>>;

before(async () => {
  // Decoding the six sprites is the slow part (seconds); do it once, without a cache (mnist.test covers the
  // cache). The 45k training split (550 MB of float32) is built by the same code as validation, so only the
  // two small splits are materialised here; mnist.test builds a full training split.
  raw = (await loadRaw('cifar10', { cache: false })).data;
  splits = splitRaw(spec, raw, ['validation', 'test']);
});

test('real CIFAR-10: 5000 / 1000 images per class and pinned SHA-256 digests', () => {
  assert.deepEqual(labelCounts(raw.train.y, 10), new Array(10).fill(5000));
  assert.deepEqual(labelCounts(raw.test.y, 10), new Array(10).fill(1000));
  assert.equal(sha256(raw.train.x), '9d5c2eddadb0deff02c14c350c0385aab7b1d5ff1edfeb4997c8dc8644960111');
  assert.equal(sha256(raw.train.y), '2b7cd2f24487317614016b72ffd53071c3062f592f0eb300c18a770d41ae1253');
  assert.equal(sha256(raw.test.x), '177777c33ba79825320efa646ad04a94bdc3c80e4ebe3bd21724f8cdfd4b9d56');
  assert.equal(sha256(raw.test.y), 'cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5');
  // the canonical first test labels: cat, ship, ship, airplane, frog
  assert.deepEqual([...raw.test.y.subarray(0, 5)], [3, 8, 8, 0, 6]);
});

test('splits: 45k / 5k / 10k, disjoint, per-channel normalised', () => {
  assert.deepEqual(spec.sizes, { train: 45000, validation: 5000, test: 10000 });
  assert.equal(splits.validation!.count, 5000);
  assert.equal(splits.test!.count, 10000);
  for (const s of Object.values(splits)) {
    assert.deepEqual(s.shape, [3, 32, 32]);
    assert.equal(s.x.length, s.count * 3072);
  }
  const { train, validation } = carveValidation(50000, 5000);
  assert.equal(train.length, 45000);
  for (const k of [0, 777, 4999]) assert.equal(splits.validation!.y[k], raw.train.y[validation[k]!]);
  const seen = new Uint8Array(50000);
  for (const i of [...train, ...validation]) seen[i]!++;
  assert.ok(seen.every((v) => v === 1));
  // per channel mean ~0 (the constants are training-set statistics; validation is a random 10% of it)
  const x = splits.validation!.x;
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    let n = 0;
    for (let i = 0; i < 5000; i++) {
      const o = (i * 3 + c) * 1024;
      for (let p = 0; p < 1024; p++) sum += x[o + p]!;
      n += 1024;
    }
    assert.ok(Math.abs(sum / n) < 0.02, `channel ${c} mean ${sum / n}`);
  }
});

test('augmented batches keep shape and label alignment', () => {
  const train = splits.validation!;
  const plain = new BatchSampler(train, { batchSize: 64, seed: 21 });
  const aug = new BatchSampler(train, { batchSize: 64, seed: 21, augment: cifarAugment(train) });
  let changed = 0;
  for (let k = 0; k < 4; k++) {
    const a = plain.next();
    const b = aug.next();
    assert.deepEqual(b.shape, [64, 3, 32, 32]);
    assert.deepEqual(b.y, a.y);
    for (let i = 0; i < 64; i++) {
      const off = i * 3072;
      if (a.x.subarray(off, off + 3072).some((v, j) => v !== b.x[off + j])) changed++;
    }
  }
  // P(no shift and no flip) = 1/81 * 1/2, so nearly every image changes
  assert.ok(changed > 240, `only ${changed} of 256 images changed`);
});
