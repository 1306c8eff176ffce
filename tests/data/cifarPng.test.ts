import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { readCifarLabels, readCifarPng } from '../../src/data/cifarPng.js';
import { tempDir, throwsGtn } from './helpers.js';

const dir = tempDir('cifarpng');

/** A sprite of `rows` images; pixel p of row i has R = (i + p) & 255, G = p & 255, B = (7 * p + i) & 255. */
function sprite(width: number, rows: number, colorType: 0 | 2 | 6 = 2): Buffer {
  const png = new PNG({ width, height: rows });
  for (let i = 0; i < rows; i++) {
    for (let p = 0; p < width; p++) {
      const d = (i * width + p) * 4;
      png.data[d] = (i + p) & 255;
      png.data[d + 1] = p & 255;
      png.data[d + 2] = (7 * p + i) & 255;
      png.data[d + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType });
}

function put(name: string, bytes: Buffer | string): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

test('decodes rows into NCHW channel planes', () => {
  const x = readCifarPng(put('ok.png', sprite(1024, 3)), 3);
  assert.equal(x.length, 3 * 3 * 1024);
  for (const i of [0, 2]) {
    for (const p of [0, 1, 33, 1023]) {
      assert.equal(x[i * 3072 + p], (i + p) & 255, `R of image ${i} pixel ${p}`);
      assert.equal(x[i * 3072 + 1024 + p], p & 255, `G of image ${i} pixel ${p}`);
      assert.equal(x[i * 3072 + 2048 + p], (7 * p + i) & 255, `B of image ${i} pixel ${p}`);
    }
  }
});

test('rejects a wrong image count or width, naming the file', async () => {
  const f = put('three.png', sprite(1024, 3));
  await throwsGtn(() => readCifarPng(f, 10000), f, '1024x3', 'expected 1024x10000');
  const g = put('narrow.png', sprite(512, 3));
  await throwsGtn(() => readCifarPng(g, 3), g, '512x3');
});

test('rejects a non-RGB PNG', async () => {
  const f = put('gray.png', sprite(1024, 2, 0));
  await throwsGtn(() => readCifarPng(f, 2), f, 'colour type 0');
  const g = put('rgba.png', sprite(1024, 2, 6));
  await throwsGtn(() => readCifarPng(g, 2), g, 'colour type 6');
});

test('rejects missing, non-PNG, truncated and corrupt files', async () => {
  const m = join(dir, 'missing.png');
  await throwsGtn(() => readCifarPng(m, 2), m, 'not found');
  const t = put('text.png', 'hello, not a png');
  await throwsGtn(() => readCifarPng(t, 2), t, 'not a PNG');
  const good = sprite(1024, 4);
  const cut = put('cut.png', good.subarray(0, Math.floor(good.length / 2)));
  await throwsGtn(() => readCifarPng(cut, 4), cut, 'corrupt or truncated PNG');
  const bad = Buffer.from(good);
  bad.fill(0x55, 60, 120); // inside the compressed IDAT data: CRC and inflate both fail
  const c = put('corrupt.png', bad);
  await throwsGtn(() => readCifarPng(c, 4), c, 'corrupt or truncated PNG');
});

test('labels: a JSON array of 0..9, with clear errors', async () => {
  assert.deepEqual([...readCifarLabels(put('l.json', '[3,8,0]'), 3)], [3, 8, 0]);
  const n = put('n.json', '[3,8]');
  await throwsGtn(() => readCifarLabels(n, 3), n, '2 labels, expected 3');
  const v = put('v.json', '[3,10,1]');
  await throwsGtn(() => readCifarLabels(v, 3), v, 'label 1 is 10');
  const j = put('j.json', '[3,8,');
  await throwsGtn(() => readCifarLabels(j, 3), j, 'not valid JSON');
  const o = put('o.json', '{"a":1}');
  await throwsGtn(() => readCifarLabels(o, 1), o, 'JSON array');
  const m = join(dir, 'none.json');
  await throwsGtn(() => readCifarLabels(m, 1), m, 'not found');
});
