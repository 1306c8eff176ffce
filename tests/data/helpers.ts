// Shared helpers for the data tests (not a test file itself).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { GtnError } from '../../src/errors.js';
import type { Split } from '../../src/data/index.js';

/** A temp directory removed when the test file finishes. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gtn-test-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Asserts fn throws a GtnError whose message contains every fragment (the file name, the fault). */
export async function throwsGtn(fn: () => unknown, ...fragments: string[]): Promise<GtnError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof GtnError, `expected a GtnError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  for (const f of fragments) assert.ok(caught.message.includes(f), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(f)}`);
  return caught;
}

/** A small synthetic split whose pixel values encode (image, channel, position), so moves are traceable. */
export function fakeSplit(count: number, shape: [number, number, number] = [3, 8, 8], classes = 10): Split {
  const [C, H, W] = shape;
  const x = new Float32Array(count * C * H * W);
  for (let i = 0; i < x.length; i++) x[i] = i;
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) y[i] = i % classes;
  return { x, y, count, shape: [C, H, W], classes, mean: new Array<number>(C).fill(0.5), std: new Array<number>(C).fill(0.25) };
}
