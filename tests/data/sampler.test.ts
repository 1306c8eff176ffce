import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BatchSampler, IndexSampler, applyCropFlip, blackFill, cifarAugment, epochBatches, gather, randomCropFlip, type Batch,
} from '../../src/data/index.js';
import { fakeSplit } from './helpers.js';
import { Rng } from '../../src/tensor/rng.js';

const split = fakeSplit(100);
const img = 3 * 8 * 8;

test('same seed gives the same batches; a different seed gives different ones', () => {
  for (const replacement of [false, true]) {
    const a = new BatchSampler(split, { batchSize: 16, seed: 3, replacement });
    const b = new BatchSampler(split, { batchSize: 16, seed: 3, replacement });
    const c = new BatchSampler(split, { batchSize: 16, seed: 4, replacement });
    let differs = false;
    for (let k = 0; k < 20; k++) {
      const [x, y, z] = [a.next(), b.next(), c.next()];
      assert.deepEqual(x.y, y.y);
      assert.deepEqual(x.x, y.x);
      if (x.y.some((v, i) => v !== z.y[i]) || x.x.some((v, i) => v !== z.x[i])) differs = true;
    }
    assert.ok(differs, `seed 4 gave the same batches as seed 3 (replacement ${replacement})`);
  }
});

test('batches have the right shape, and labels stay aligned with their images', () => {
  const s = new BatchSampler(split, { batchSize: 7, seed: 1 });
  const b = s.next();
  assert.deepEqual(b.shape, [7, 3, 8, 8]);
  assert.equal(b.x.length, 7 * img);
  assert.equal(b.y.length, 7);
  for (let i = 0; i < 7; i++) {
    const src = b.x[i * img]! / img; // fakeSplit pixel values encode the source image
    assert.equal(b.y[i], split.y[src]);
  }
});

test('without replacement, every epoch visits each index exactly once (batches straddle epochs)', () => {
  const count = 50;
  const s = new IndexSampler(count, 16, 9);
  const stream: number[] = [];
  for (let k = 0; k < 25; k++) stream.push(...s.next()); // 400 indices = 8 epochs
  assert.equal(s.epoch, 7);
  const epochs: string[] = [];
  for (let e = 0; e < 8; e++) {
    const chunk = stream.slice(e * count, (e + 1) * count);
    assert.deepEqual([...chunk].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i), `epoch ${e}`);
    epochs.push(chunk.join(','));
  }
  assert.equal(new Set(epochs).size, 8, 'each epoch should use a fresh order');
});

test('epochBatches covers the split once, last batch smaller', () => {
  const seen: number[] = [];
  const sizes: number[] = [];
  for (const b of epochBatches(split, 32, 5)) {
    sizes.push(b.shape[0]);
    for (let i = 0; i < b.shape[0]; i++) seen.push(b.x[i * img]! / img);
  }
  assert.deepEqual(sizes, [32, 32, 32, 4]);
  assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
});

test('with replacement, indices are in range and repeat', () => {
  const s = new IndexSampler(10, 100, 2, true);
  const b = [...s.next()];
  assert.ok(b.every((v) => v >= 0 && v < 10));
  assert.equal(new Set(b).size, 10);
  assert.equal(s.epoch, 10);
});

test('augmentation does not change which images are drawn', () => {
  const plain = new BatchSampler(split, { batchSize: 8, seed: 11 });
  const aug = new BatchSampler(split, { batchSize: 8, seed: 11, augment: cifarAugment(split) });
  for (let k = 0; k < 5; k++) assert.deepEqual(plain.next().y, aug.next().y);
});

const copy = (b: Batch): Batch => ({ x: b.x.slice(), y: b.y.slice(), shape: [...b.shape] as Batch['shape'] });

test('crop with zero shift and no flip is the identity; flip of a flip is the identity', () => {
  const b = gather(split, [0, 1, 2, 3]);
  const orig = copy(b);
  const scratch = new Float32Array(64);
  const fill = blackFill(split);
  applyCropFlip(b, 1, { dx: 0, dy: 0, flip: false }, fill, scratch);
  assert.deepEqual(b.x, orig.x);
  applyCropFlip(b, 2, { dx: 0, dy: 0, flip: true }, fill, scratch);
  assert.notDeepEqual(b.x, orig.x);
  applyCropFlip(b, 2, { dx: 0, dy: 0, flip: true }, fill, scratch);
  assert.deepEqual(b.x, orig.x);
  assert.deepEqual(b.y, orig.y);
});

test('a shift moves pixels and pads with the normalised black value', () => {
  const b = gather(split, [5]);
  const orig = copy(b);
  const fill = blackFill(split); // (0 - 0.5) / 0.25 = -2 in every channel
  assert.deepEqual(fill, [-2, -2, -2]);
  applyCropFlip(b, 0, { dx: 2, dy: -1, flip: false }, fill, new Float32Array(64));
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const sy = y - 1;
        const sx = x + 2;
        const want = sy >= 0 && sx < 8 ? orig.x[c * 64 + sy * 8 + sx] : -2;
        assert.equal(b.x[c * 64 + y * 8 + x], want, `c${c} y${y} x${x}`);
      }
    }
  }
});

test('random crop/flip keeps shape and labels, changes some images, is seeded', () => {
  const aug = randomCropFlip({ pad: 4, fill: blackFill(split) });
  const base = gather(split, Array.from({ length: 32 }, (_, i) => i));
  const a = copy(base);
  const b = copy(base);
  aug(a, new Rng(1));
  aug(b, new Rng(1));
  assert.deepEqual(a.x, b.x);
  assert.deepEqual(a.shape, base.shape);
  assert.deepEqual(a.y, base.y);
  assert.equal(a.x.length, base.x.length);
  assert.notDeepEqual(a.x, base.x);
  // each image still comes only from its own source image (or padding)
  for (let i = 0; i < 32; i++) {
    for (let k = 0; k < img; k++) {
      const v = a.x[i * img + k]!;
      assert.ok(v === -2 || Math.floor(v / img) === i, `image ${i} got a pixel from elsewhere`);
    }
  }
});
