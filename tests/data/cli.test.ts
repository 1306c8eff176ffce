// `gtn data` as a user runs it: the JSON listing and the error path.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { tempDir } from './helpers.js';

// dist/tests/data/cli.test.js -> repository root
const bin = fileURLToPath(new URL('../../../bin/gtn.js', import.meta.url));
const env = { ...process.env, GTN_CACHE_DIR: tempDir('cli-cache') };
const gtn = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, cwd: '/' });

test('gtn data --json prints one JSON object per dataset and nothing else', () => {
  const r = gtn('data', '--json');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(rows.map((o) => o.name), ['mnist', 'fashion-mnist', 'cifar10']);
  for (const o of rows) assert.deepEqual(Object.keys(o), ['name', 'available', 'train', 'validation', 'test', 'shape', 'classes']);
  assert.deepEqual(rows[0], { name: 'mnist', available: true, train: 50000, validation: 10000, test: 10000, shape: [1, 28, 28], classes: 10 });
  assert.deepEqual(rows[2], { name: 'cifar10', available: true, train: 45000, validation: 5000, test: 10000, shape: [3, 32, 32], classes: 10 });
});

test('gtn data lists the datasets in a table; an unknown dataset is a clear error', () => {
  const r = gtn('data', 'mnist');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /mnist\s+yes\s+50000\s+10000\s+10000\s+1x28x28\s+10/);
  const bad = gtn('data', 'imagenet');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /gtn: unknown dataset 'imagenet' \(known: mnist, fashion-mnist, cifar10\)/);
});
