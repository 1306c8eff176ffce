// Fashion-MNIST (Debian package dataset-fashion-mnist, gzipped IDX); skipped when it is not installed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { DATASETS, availability, loadRaw, splitRaw } from '../../src/data/index.js';
import { FASHION_DIR } from '../../src/data/sources.js';
import { labelCounts, sha256 } from '../../src/data/verify.js';
import { tempDir, throwsGtn } from './helpers.js';

const absent = existsSync(FASHION_DIR) ? false : `${FASHION_DIR} is absent: apt-get install dataset-fashion-mnist`;

test('real Fashion-MNIST: 6000 / 1000 per class, pinned digests, 50k/10k/10k splits', { skip: absent }, async () => {
  const cacheDir = tempDir('fashion-cache');
  const { data, fromCache } = await loadRaw('fashion-mnist', { cacheDir });
  assert.equal(fromCache, false);
  assert.deepEqual(labelCounts(data.train.y, 10), new Array(10).fill(6000));
  assert.deepEqual(labelCounts(data.test.y, 10), new Array(10).fill(1000));
  assert.equal(sha256(data.train.x), '2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012');
  assert.equal(sha256(data.train.y), '657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7');
  assert.equal(sha256(data.test.x), 'c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a');
  assert.equal(sha256(data.test.y), '3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9');
  const s = splitRaw(DATASETS['fashion-mnist'], data, ['validation', 'test']);
  assert.equal(s.validation!.count, 10000);
  assert.equal(s.test!.count, 10000);
  assert.equal(DATASETS['fashion-mnist'].sizes.train, 50000);
  assert.equal((await loadRaw('fashion-mnist', { cacheDir })).fromCache, true);
});

test('a missing Fashion-MNIST directory is reported, not crashed on', async () => {
  const spec = DATASETS['fashion-mnist'];
  const a = availability(spec, '/nonexistent/fashion');
  assert.equal(a.available, false);
  assert.match(a.reason!, /\/nonexistent\/fashion\/train-images-idx3-ubyte\.gz/);
  await throwsGtn(() => loadRaw('fashion-mnist', { sourceDir: '/nonexistent/fashion' }), 'Fashion-MNIST is not available', '/nonexistent/fashion/train-images-idx3-ubyte.gz');
});
