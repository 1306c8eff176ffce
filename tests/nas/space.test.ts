// The NAS-Bench-201 space: enumeration, mutation and the canonical form that merges cells computing the same
// function.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EDGES, NB201_OPS, formatCell, parseCell } from '../../src/models/index.js';
import { SPACE_SIZE, canonicalArch, canonicalCell, cellDistance, enumerateCells, mutateCell, sampleCell } from '../../src/nas/space.js';
import { Rng } from '../../src/tensor/index.js';

describe('NB201 space', () => {
  it('enumerates all 5^6 cells once', () => {
    const all = enumerateCells();
    assert.equal(all.length, 15625);
    assert.equal(SPACE_SIZE, 15625);
    assert.equal(new Set(all.map(formatCell)).size, 15625);
  });

  it('samples every op on every edge, reproducibly', () => {
    const rng = Rng.seeded(3);
    const seen = EDGES.map(() => new Set<string>());
    for (let i = 0; i < 400; i++) sampleCell(rng).forEach((op, k) => seen[k].add(op));
    seen.forEach((s) => assert.equal(s.size, NB201_OPS.length));
    assert.deepEqual(sampleCell(Rng.seeded(9)), sampleCell(Rng.seeded(9)));
  });

  it('a mutation changes exactly one edge', () => {
    const rng = Rng.seeded(4);
    for (let i = 0; i < 200; i++) {
      const c = sampleCell(rng);
      assert.equal(cellDistance(c, mutateCell(c, rng)), 1);
    }
  });

  it('the canonical form merges cells that compute the same function, and only those', () => {
    const same = [
      // only skip_connect 0->3 survives: the output is the input
      ['|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|', '|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'],
      // a path through a zero node vanishes
      ['|none~0|+|none~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|', '|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|'],
      // skips are transparent: conv(x) reached through node 1 or directly
      ['|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|', '|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|'],
      // sums are unordered
      ['|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|none~1|skip_connect~2|', '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|skip_connect~2|'],
    ];
    for (const [a, b] of same) assert.equal(canonicalArch(a), canonicalArch(b), `${a} vs ${b}`);
    const different = [
      // two convolutions of x are not one
      ['|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|', '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|'],
      // order of ops along a path matters
      ['|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|', '|avg_pool_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|'],
    ];
    for (const [a, b] of different) assert.notEqual(canonicalArch(a), canonicalArch(b), `${a} vs ${b}`);
    assert.equal(canonicalArch('|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|'), '0');
  });

  it('has 4,930 distinct networks among its 15,625 cells', () => {
    assert.equal(new Set(enumerateCells().map(canonicalCell)).size, 4930);
    assert.equal(canonicalCell(parseCell('|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|')), 'x');
  });
});
