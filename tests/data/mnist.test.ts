// MNIST on the real files: label counts, pinned checksums, splits, and the disk cache's behaviour.
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DATASETS, loadRaw, loadSplit, splitRaw } from '../../src/data/index.js';
import { carveValidation } from '../../src/data/splits.js';
import { labelCounts, sha256 } from '../../src/data/verify.js';
import { tempDir, throwsGtn } from './helpers.js';

const spec = DATASETS.mnist;
const cacheDir = tempDir('mnist-cache');

test('real MNIST: label counts and pinned SHA-256 digests', async () => {
  const { data, fromCache } = await loadRaw('mnist', { cacheDir });
  assert.equal(fromCache, false);
  assert.deepEqual(labelCounts(data.train.y, 10), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.deepEqual(labelCounts(data.test.y, 10), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  assert.equal(sha256(data.train.x), '741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757');
  assert.equal(sha256(data.train.y), '1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13');
  assert.equal(sha256(data.test.x), '6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161');
  assert.equal(sha256(data.test.y), 'ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5');
  assert.equal(data.train.x.length, 60000 * 784);
  // atomic write leaves no temp file behind
  assert.deepEqual(readdirSync(cacheDir), ['mnist.v1.bin']);
});

test('second load comes from the cache, with identical data', async () => {
  const cold = await loadRaw('mnist', { cache: false });
  const warm = await loadRaw('mnist', { cacheDir });
  assert.equal(cold.fromCache, false);
  assert.equal(warm.fromCache, true);
  assert.deepEqual(warm.data.train.y, cold.data.train.y);
  assert.equal(sha256(warm.data.test.x), sha256(cold.data.test.x));
});

test('splits: 50k / 10k / 10k, disjoint, normalised float32 NCHW, fixed', async () => {
  const { data } = await loadRaw('mnist', { cacheDir });
  const s = splitRaw(spec, data);
  assert.equal(s.train!.count, 50000);
  assert.equal(s.validation!.count, 10000);
  assert.equal(s.test!.count, 10000);
  for (const part of [s.train!, s.validation!, s.test!]) {
    assert.deepEqual(part.shape, [1, 28, 28]);
    assert.equal(part.classes, 10);
    assert.ok(part.x instanceof Float32Array && part.y instanceof Int32Array);
    assert.equal(part.x.length, part.count * 784);
  }
  const { train, validation } = carveValidation(60000, 10000);
  const seen = new Uint8Array(60000);
  for (const i of [...train, ...validation]) seen[i]!++;
  assert.ok(seen.every((v) => v === 1), 'train and validation must partition the 60k source images');
  // labels follow their images
  for (const k of [0, 1234, 9999]) assert.equal(s.validation!.y[k], data.train.y[validation[k]!]);
  // normalised with the documented constants: the training split has mean ~0 and std ~1
  let sum = 0;
  let sq = 0;
  for (const v of s.train!.x) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / s.train!.x.length;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(sq / s.train!.x.length - mean * mean) - 1) < 0.01);
  const again = await loadSplit('mnist', 'validation', { cacheDir });
  assert.deepEqual(again.y, s.validation!.y);
});

test('the cache is rebuilt when a source changes or the cache is damaged', async () => {
  const src = tempDir('mnist-src');
  const cache = tempDir('mnist-cache2');
  const mnistDir = spec.defaultDir();
  for (const f of spec.files) copyFileSync(join(mnistDir, f), join(src, f));
  assert.equal((await loadRaw('mnist', { sourceDir: src, cacheDir: cache })).fromCache, false);
  assert.equal((await loadRaw('mnist', { sourceDir: src, cacheDir: cache })).fromCache, true);
  // touching a source invalidates
  const later = new Date(Date.now() + 5000);
  utimesSync(join(src, spec.files[1]!), later, later);
  const touched = await loadRaw('mnist', { sourceDir: src, cacheDir: cache });
  assert.equal(touched.fromCache, false);
  assert.match(touched.cacheNote ?? '', /train-labels-idx1-ubyte changed/);
  assert.equal((await loadRaw('mnist', { sourceDir: src, cacheDir: cache })).fromCache, true);
  // a flipped payload byte fails the digest check: decoded again, not trusted
  const file = join(cache, 'mnist.v1.bin');
  const bytes = readFileSync(file);
  bytes[bytes.length - 20000] ^= 0xff;
  writeFileSync(file, bytes);
  const damaged = await loadRaw('mnist', { sourceDir: src, cacheDir: cache });
  assert.equal(damaged.fromCache, false);
  assert.match(damaged.cacheNote ?? '', /SHA-256/);
  // a truncated cache is detected by its length
  truncateSync(file, 1000);
  const cut = await loadRaw('mnist', { sourceDir: src, cacheDir: cache });
  assert.equal(cut.fromCache, false);
  assert.match(cut.cacheNote ?? '', /length|truncated/);
  assert.equal((await loadRaw('mnist', { sourceDir: src, cacheDir: cache })).fromCache, true);
});

test('missing, truncated or altered sources give a GtnError naming the file', async () => {
  const src = tempDir('mnist-bad');
  const mnistDir = spec.defaultDir();
  const [trX, trY, teX, teY] = spec.files as [string, string, string, string];
  for (const f of [trX, trY, teX]) copyFileSync(join(mnistDir, f), join(src, f));
  await throwsGtn(() => loadRaw('mnist', { sourceDir: src, cache: false }), join(src, teY), 'missing');
  // truncated labels file
  writeFileSync(join(src, teY), readFileSync(join(mnistDir, teY)).subarray(0, 5000));
  await throwsGtn(() => loadRaw('mnist', { sourceDir: src, cache: false }), join(src, teY), 'truncated IDX data');
  // wrong dims: a test-labels file in place of the training labels
  copyFileSync(join(mnistDir, teY), join(src, teY));
  copyFileSync(join(mnistDir, teY), join(src, trY));
  await throwsGtn(() => loadRaw('mnist', { sourceDir: src, cache: false }), join(src, trY), 'IDX dims [10000], expected [60000]');
  // one altered pixel still decodes, but fails the pinned checksum
  copyFileSync(join(mnistDir, trY), join(src, trY));
  const img = readFileSync(join(mnistDir, teX));
  img[img.length - 100] ^= 0x01;
  writeFileSync(join(src, teX), img);
  await throwsGtn(() => loadRaw('mnist', { sourceDir: src, cache: false }), 'mnist test images', src, 'SHA-256');
});
