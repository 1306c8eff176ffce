// The NAS-Bench-201 network: cell strings, layout, evaluation-mode BN, and gradients of the whole network
// (first and second order) against finite differences.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { avgPool3x3ExcludePad } from '../../src/nn/index.js';
import { formatCell, initLearner, learnerForward, nb201Forward, paramCount, parseCell, type LearnerSpec, type Nb201Params, type Nb201Spec } from '../../src/models/index.js';
import { probe } from '../helpers/gradcheck.js';

const BEST = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const MIXED = '|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|';

describe('NB201 cell strings', () => {
  it('parse and print round-trip, edges in string order', () => {
    const c = parseCell(MIXED);
    assert.deepEqual(c, ['nor_conv_1x1', 'skip_connect', 'avg_pool_3x3', 'none', 'nor_conv_3x3', 'skip_connect']);
    assert.equal(formatCell(c), MIXED);
  });

  it('bad strings name the node, the edge and the op', () => {
    assert.throws(() => parseCell('|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|'), /edge 0->1 has unknown op 'conv_5x5'/);
    assert.throws(() => parseCell('|none~0|+|none~0|none~1|+|none~0|none~1|avg_pool_3x3~1|'), /edge 'avg_pool_3x3~1' into node 3 must come from node 2, not '1'/);
    assert.throws(() => parseCell('|none~0|+|none~0|+|none~0|none~1|none~2|'), /node 2 needs 2 input edge\(s\), found 1/);
    assert.throws(() => parseCell('|none~0|+|none~0|none~1|'), /expected 3 nodes/);
    assert.throws(() => parseCell('none~0|+|none~0|none~1|+|none~0|none~1|none~2|'), /node 1 must look like/);
  });
});

describe('NB201 network', () => {
  const net = (cell: string, channels = 4, cells = 1): LearnerSpec => ({ kind: 'nb201', cell, channels, cells });

  it('has the NAS-Bench-201 layout: each conv3x3 edge adds 9C^2 + 2C per cell and stage', () => {
    const none = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';
    const oneConv = '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|';
    const count = (cell: string) => paramCount(initLearner(net(cell, 16, 5), [3, 32, 32], 10, T.Rng.seeded(0), false));
    const perEdge = [16, 32, 64].reduce((s, c) => s + 5 * (9 * c * c + 2 * c), 0);
    assert.equal(count(oneConv) - count(none), perEdge);
    assert.equal(count(BEST) - count(none), 5 * perEdge);
    const out = learnerForward(net(BEST, 4, 2), initLearner(net(BEST, 4, 2), [3, 32, 32], 10, T.Rng.seeded(1)), T.randn([2, 3, 32, 32], T.Rng.seeded(2)));
    assert.deepEqual(out.logits.shape, [2, 10]);
    // stem + 3 stages x 2 cells x 5 convs + 2 reductions x 2 + head BN, each [mean, variance]
    assert.equal(out.stats.length, 2 * (1 + 3 * 2 * 5 + 2 * 2 + 1));
  });

  it('pool reductions: no parameters and no batch norm between stages, the input pooled 2x2 and its channels repeated', () => {
    const C = 4;
    const resnet = net(BEST, C, 2) as Nb201Spec;
    const pool: Nb201Spec = { ...resnet, reduction: 'pool' };
    const count = (spec: LearnerSpec) => paramCount(initLearner(spec, [3, 32, 32], 10, T.Rng.seeded(0), false));
    // a residual reduction c -> 2c: conv3x3 c->2c, conv3x3 2c->2c, conv1x1 c->2c, two BNs of 2c
    const block = (c: number) => 9 * c * 2 * c + 9 * 2 * c * 2 * c + c * 2 * c + 2 * 2 * (2 * c);
    assert.equal(count(resnet) - count(pool), block(C) + block(2 * C));
    const x = T.randn([2, 3, 32, 32], T.Rng.seeded(2));
    const out = learnerForward(pool, initLearner(pool, [3, 32, 32], 10, T.Rng.seeded(1)), x);
    assert.deepEqual(out.logits.shape, [2, 10]);
    assert.equal(out.stats.length, 2 * (1 + 3 * 2 * 5 + 1));
    // With identity cells (skip edges only into the output) the network between stem and head is the reductions
    // alone: the last stage sees the stem's output pooled 4x4 and repeated 4 times over the channels.
    const identity = '|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|';
    const spec: Nb201Spec = { kind: 'nb201', cell: identity, channels: C, cells: 1, reduction: 'pool' };
    const p = initLearner(spec, [3, 32, 32], 10, T.Rng.seeded(3)) as Nb201Params;
    let stem: T.Tensor | undefined;
    let last: T.Tensor | undefined;
    T.noGrad(() =>
      nb201Forward(spec, p, x, undefined, {
        module: (t) => {
          if (t.shape[2] === 32) stem = t; // the last one at full size: the first stage's (identity) cell output
          if (!last && t.shape[2] === 8 && t.shape[1] === 4 * C) last = t; // the second reduction's output
        },
      }),
    );
    const pooled = T.avgPool2d(stem!, { kernel: 4, stride: 4 }); // two 2x2 poolings
    assert.deepEqual(last!.shape, [2, 4 * C, 8, 8]);
    for (let rep = 0; rep < 4; rep++)
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < C; c++)
          for (let k = 0; k < 64; k++) {
            const want = pooled.data[(b * C + c) * 64 + k];
            const got = last!.data[(b * 4 * C + rep * C + c) * 64 + k];
            assert.ok(Math.abs(got - want) < 1e-5, `image ${b}, channel ${rep * C + c}, pixel ${k}: ${got} against ${want}`);
          }
  });

  it('a cell whose output is zero still gives finite logits', () => {
    const dead = '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|';
    const spec = net(dead);
    const out = learnerForward(spec, initLearner(spec, [3, 16, 16], 10, T.Rng.seeded(1)), T.randn([3, 3, 16, 16], T.Rng.seeded(2)));
    assert.ok(Array.from(out.logits.data).every(Number.isFinite));
  });

  it("evaluation mode with the batch's own statistics reproduces training mode", () => {
    const spec = net(MIXED);
    const p = initLearner(spec, [3, 16, 16], 10, T.Rng.seeded(3));
    const x = T.randn([4, 3, 16, 16], T.Rng.seeded(4));
    const train = learnerForward(spec, p, x);
    const evalMode = learnerForward(spec, p, x, train.stats);
    assert.deepEqual(Array.from(evalMode.logits.data), Array.from(train.logits.data));
    const other = learnerForward(spec, p, T.randn([4, 3, 16, 16], T.Rng.seeded(5)), train.stats);
    assert.notDeepEqual(Array.from(other.logits.data), Array.from(learnerForward(spec, p, T.randn([4, 3, 16, 16], T.Rng.seeded(5))).logits.data));
  });

  it('average pooling leaves padding out of the divisor', () => {
    const x = T.tensor(Float32Array.from({ length: 9 }, (_, i) => i + 1), [1, 1, 3, 3]);
    const y = avgPool3x3ExcludePad(x).data;
    assert.ok(Math.abs(y[0] - (1 + 2 + 4 + 5) / 4) < 1e-6, `corner ${y[0]}`);
    assert.ok(Math.abs(y[1] - (1 + 2 + 3 + 4 + 5 + 6) / 6) < 1e-6, `edge ${y[1]}`);
    assert.ok(Math.abs(y[4] - 5) < 1e-6, `centre ${y[4]}`);
  });

  for (const reduction of ['resnet', 'pool'] as const)
  it(`gradients of the loss match finite differences where no ReLU flips, first and second order (${reduction} reductions)`, () => {
    // ReLU kinks make a central difference meaningless when the step crosses one, so a coordinate is checked
    // only where the ReLU sign pattern is the same at x - eps, x and x + eps (the function is smooth there).
    const spec = { ...net(MIXED, 2, 1), ...(reduction === 'pool' ? { reduction } : {}) } as Nb201Spec;
    // Seeds chosen so that no ReLU input lies within 5e-4 of zero.
    const p0 = initLearner(spec, [1, 8, 8], 3, T.Rng.seeded(10)) as Nb201Params;
    const leaves = T.treeLeaves(p0 as unknown as T.Tree);
    const x = T.randn([4, 1, 8, 8], T.Rng.seeded(11));
    const score = probe([4, 3]);
    const picks = [0, 4, leaves.length - 2]; // the stem conv, an edge conv, the head
    const withLeaves = (xs: T.Tensor[]) => T.treeUnflatten(p0 as unknown as T.Tree, leaves.map((t, i) => (picks.includes(i) ? xs[picks.indexOf(i)] : t))) as unknown as Nb201Params;
    const f = (xs: T.Tensor[]) => score(nb201Forward(spec, withLeaves(xs), x).logits);
    const pattern = (xs: T.Tensor[]) => {
      let bits = '';
      T.noGrad(() => nb201Forward(spec, withLeaves(xs), x, undefined, { relu: (pre) => (bits += Array.from(pre.data, (v) => (v > 0 ? '1' : '0')).join('')) }));
      return bits;
    };
    const at = picks.map((i) => leaves[i]);
    const base = pattern(at);
    const moved = (i: number, k: number, d: number) => at.map((t, j) => (j === i ? T.tensor(Float32Array.from(t.data, (v, m) => (m === k ? v + d : v)), t.shape) : t));
    const eps = 1e-4;
    const g = T.grad(f)(at);
    let checked = 0;
    at.forEach((t, i) => {
      for (let k = 0; k < t.size; k++) {
        const hi = moved(i, k, eps);
        const lo = moved(i, k, -eps);
        if (pattern(hi) !== base || pattern(lo) !== base) continue;
        const fd = (T.noGrad(() => f(hi)).item() - T.noGrad(() => f(lo)).item()) / (2 * eps);
        assert.ok(Math.abs(fd - g[i].data[k]) <= 2e-2 * Math.abs(fd) + 5e-3, `leaf ${picks[i]}[${k}]: autodiff ${g[i].data[k]}, finite difference ${fd}`);
        checked++;
      }
    });
    assert.ok(checked >= 0.8 * at.reduce((s, t) => s + t.size, 0), `only ${checked} coordinates away from a kink`);
    // Hessian-vector product along a direction whose +-eps steps flip no ReLU.
    for (let seed = 1; seed < 50; seed++) {
      const v = at.map((t) => T.randn(t.shape, T.Rng.seeded(seed)));
      const shift = (d: number) => at.map((t, i) => T.add(t, T.mulScalar(v[i], d)));
      if (pattern(shift(eps)) !== base || pattern(shift(-eps)) !== base) continue;
      const hv = T.grad((ps: T.Tensor[]) => {
        const gi = T.grad(f, { createGraph: true })(ps);
        return gi.map((q, i) => T.sum(T.mul(q, v[i]))).reduce((a, b) => T.add(a, b));
      })(at);
      const gHi = T.grad(f)(shift(eps));
      const gLo = T.grad(f)(shift(-eps));
      hv.forEach((h, i) => {
        for (let k = 0; k < h.size; k++) {
          const fd = (gHi[i].data[k] - gLo[i].data[k]) / (2 * eps);
          assert.ok(Math.abs(fd - h.data[k]) <= 5e-2 * Math.abs(fd) + 1e-2, `Hv leaf ${picks[i]}[${k}]: autodiff ${h.data[k]}, finite difference ${fd}`);
        }
      });
      return;
    }
    assert.fail('no direction without a ReLU flip');
  });
});
