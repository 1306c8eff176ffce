import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readIdxFile } from '../../src/data/idx.js';
import { tempDir, throwsGtn } from './helpers.js';

const dir = tempDir('idx');

function idx(dims: number[], data: number[], type = 0x08): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, Buffer.from(data)]);
}

function put(name: string, bytes: Buffer): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

test('decodes plain and gzipped IDX', () => {
  const bytes = idx([2, 3], [1, 2, 3, 4, 5, 6]);
  for (const f of [put('ok', bytes), put('ok.gz', gzipSync(bytes))]) {
    const a = readIdxFile(f);
    assert.deepEqual(a.dims, [2, 3]);
    assert.deepEqual([...a.data], [1, 2, 3, 4, 5, 6]);
  }
});

test('missing file names the file', async () => {
  const f = join(dir, 'nope-idx1-ubyte');
  await throwsGtn(() => readIdxFile(f), f, 'not found');
});

test('truncated data names the file and the sizes', async () => {
  const f = put('trunc', idx([2, 3], [1, 2, 3, 4]));
  await throwsGtn(() => readIdxFile(f), f, 'truncated IDX data', '[2, 3]');
});

test('truncated header', async () => {
  const f = put('short', Buffer.from([0, 0, 8, 3, 0, 0]));
  await throwsGtn(() => readIdxFile(f), f, 'truncated IDX header');
  const g = put('tiny', Buffer.from([0, 0]));
  await throwsGtn(() => readIdxFile(g), g, 'too short');
});

test('bad magic, unsupported type, trailing bytes', async () => {
  const bad = idx([1], [1]);
  bad[0] = 0x42;
  const f = put('magic', bad);
  await throwsGtn(() => readIdxFile(f), f, 'not an IDX file');
  const g = put('float', idx([1], [0, 0, 0, 0], 0x0d));
  await throwsGtn(() => readIdxFile(g), g, 'unsupported IDX element type 0d');
  const h = put('trailing', Buffer.concat([idx([2], [1, 2]), Buffer.from([9])]));
  await throwsGtn(() => readIdxFile(h), h, 'trailing');
});

test('corrupt and truncated gzip', async () => {
  const gz = gzipSync(idx([100], new Array(100).fill(7)));
  const f = put('cut.gz', gz.subarray(0, gz.length - 10));
  await throwsGtn(() => readIdxFile(f), f, 'gzip');
  const bad = Buffer.from(gz);
  bad.fill(0xff, 12, 30);
  const g = put('bad.gz', bad);
  await throwsGtn(() => readIdxFile(g), g, 'gzip');
});
