import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/tensor/rng.js';

const draw = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.u32());

test('same seed gives the same stream, different seeds differ', () => {
  assert.deepEqual(draw(new Rng(42), 100), draw(new Rng(42), 100));
  assert.notDeepEqual(draw(new Rng(42), 100), draw(new Rng(43), 100));
  // seeds beyond 32 bits and negative seeds are distinct too
  assert.notDeepEqual(draw(new Rng(2 ** 40 + 1), 20), draw(new Rng(1), 20));
  assert.notDeepEqual(draw(new Rng(-1), 20), draw(new Rng(2 ** 32 - 1), 20));
});

test('int(n) stays in range and is roughly uniform', () => {
  const r = new Rng(7);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100000; i++) {
    const v = r.int(10);
    assert.ok(v >= 0 && v < 10 && Number.isInteger(v));
    counts[v]!++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `count ${c} far from 10000`);
  const f = new Rng(8);
  for (let i = 0; i < 1000; i++) {
    const v = f.float();
    assert.ok(v >= 0 && v < 1);
  }
});

test('permutation is a permutation and depends on the seed', () => {
  const p = new Rng(1).permutation(1000);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual([...p], [...new Rng(2).permutation(1000)]);
});

test('fork gives reproducible independent streams and does not advance the parent', () => {
  const a = new Rng(5);
  const b = new Rng(5);
  assert.deepEqual(draw(a.fork(1), 10), draw(b.fork(1), 10));
  assert.notDeepEqual(draw(a.fork(1), 10), draw(a.fork(2), 10));
  assert.deepEqual(draw(a, 10), draw(new Rng(5), 10));
});

test('rejects a non-integer seed', () => {
  assert.throws(() => new Rng(1.5), RangeError);
});
