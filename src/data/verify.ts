// Integrity checks of decoded data against digests and label counts pinned in the registry.
import { createHash } from 'node:crypto';
import { GtnError } from '../errors.js';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Per-class counts; `what` names the data in the error for an out-of-range label. */
export function labelCounts(y: Uint8Array, classes: number, what = 'labels'): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    if (c >= classes) throw new GtnError(`${what}: label ${i} is ${c}, expected 0..${classes - 1}`);
    counts[c]!++;
  }
  return counts;
}

/** Throws a GtnError naming `what` (e.g. "mnist train labels from <dir>") when the data differ. */
export function expectDigest(bytes: Uint8Array, expected: string, what: string): void {
  const got = sha256(bytes);
  if (got !== expected) throw new GtnError(`${what}: SHA-256 ${got} does not match the pinned ${expected} (corrupt or different data)`);
}

export function expectLabelCounts(y: Uint8Array, expected: number[], what: string): void {
  const got = labelCounts(y, expected.length, what);
  if (got.some((c, i) => c !== expected[i])) {
    throw new GtnError(`${what}: per-class label counts [${got.join(' ')}], expected [${expected.join(' ')}]`);
  }
}
