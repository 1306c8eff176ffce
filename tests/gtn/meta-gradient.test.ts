// The real GTN pieces (generator with BN and reflect padding, conv learner with max pooling and mean-only BN,
// full curriculum, learned lr and momentum, intermediate losses) give a meta-gradient that matches finite
// differences, with and without gradient checkpointing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { initLearner } from '../../src/models/index.js';
import { initMetaParams } from '../../src/gtn/metaParams.js';
import { unroll, type MetaParams, type UnrollConfig } from '../../src/gtn/unroll.js';
import { availableBackends } from '../helpers/gradcheck.js';
import { tinyBatch, tinyUnroll } from '../helpers/gtnFixture.js';

const base = tinyUnroll;
const batch = tinyBatch;
const data = { intermediate: [batch(1), batch(2)], final: batch(3) };

let cfg = base;

function loss(meta: MetaParams, checkpoint: boolean): T.Tensor {
  const learner0 = initLearner(cfg.learner, cfg.imageShape, cfg.classes, T.Rng.seeded(9));
  return unroll({ ...cfg, checkpoint }, meta, learner0, data, T.Rng.seeded(4)).metaLoss;
}

/** Central difference of the loss along one coordinate of one leaf, in float64 arithmetic on float32 losses. */
function fd(meta: MetaParams, leaf: (m: MetaParams) => T.Tensor, k: number, eps: number): number {
  const at = (delta: number) => {
    const leaves = T.treeLeaves(meta);
    const target = leaf(meta);
    const moved = leaves.map((t) => {
      if (t !== target) return t;
      const d = new Float32Array(t.data);
      d[k] += delta;
      return T.tensor(d, t.shape);
    });
    return T.noGrad(() => loss(T.treeUnflatten(meta, moved), false)).item();
  };
  return (at(eps) - at(-eps)) / (2 * eps);
}

const learners: UnrollConfig['learner'][] = [{ kind: 'mlp', hidden: [5] }, { kind: 'conv', widths: [2, 3, 4] }];

for (const be of availableBackends()) {
  describe(`GTN meta-gradient (${be})`, () => {
    for (const learner of learners)
    it(`${learner.kind} learner: matches finite differences for lr, momentum, z and generator weights; checkpointing changes nothing`, () => {
      T.setBackend(be);
      cfg = { ...base, learner };
      const meta = initMetaParams(cfg, { innerLr: 0.1, innerMomentum: 0.5 }, T.Rng.seeded(5));
      const [, g] = T.valueAndGrad((m: MetaParams) => loss(m, false))(meta);
      const [, gc] = T.valueAndGrad((m: MetaParams) => loss(m, true))(meta);
      T.treeLeaves(g).forEach((t, i) => assert.deepEqual(Array.from(T.treeLeaves(gc)[i].data), Array.from(t.data)));
      const probes: [string, (m: MetaParams) => T.Tensor, (m: MetaParams) => T.Tensor, number[]][] = [
        ['logLr', (m) => m.logLr, (m) => m.logLr, [0, 1]],
        ['momentumLogit', (m) => m.momentumLogit, (m) => m.momentumLogit, [0]],
        ['z', (m) => m.noise!, (m) => m.noise!, [0, 5, 13, 20]],
        ['generator fc1.v', (m) => (m.generator!.fc1 as { v: T.Tensor }).v, (m) => (m.generator!.fc1 as { v: T.Tensor }).v, [0, 7, 30]],
        ['generator conv2.g', (m) => (m.generator!.conv2 as { g: T.Tensor }).g, (m) => (m.generator!.conv2 as { g: T.Tensor }).g, [0]],
        ['generator bn3.gamma', (m) => m.generator!.bn3.gamma, (m) => m.generator!.bn3.gamma, [1]],
      ];
      for (const [name, pick, pickMeta, coords] of probes) {
        const analytic = pick(g as MetaParams);
        for (const k of coords) {
          // Max pooling makes the loss only piecewise smooth: a step can cross a kink (an argmax switch), so
          // the check passes when the difference quotient agrees at one of four step sizes (down to 3e-4, where float32 rounding is still well inside the tolerance).
          const a = analytic.data[k];
          const nums = [1e-2, 3e-3, 1e-3, 3e-4].map((eps) => fd(meta, pickMeta, k, eps));
          const ok = nums.some((num) => Math.abs(a - num) <= 2e-3 + 3e-2 * Math.abs(num));
          assert.ok(ok, `${name}[${k}]: autodiff ${a} vs finite differences ${nums.join(', ')}`);
        }
      }
      assert.ok(Math.abs((g as MetaParams).logLr.data[0]) > 1e-4, 'the lr gradient is not trivially zero');
    });
  });
}

describe('native and reference backends', () => {
  it('give the same GTN meta-gradient (relative difference < 1e-4 of the largest component)', (t) => {
    if (!availableBackends().includes('native')) {
      t.skip('native backend not built');
      return;
    }
    cfg = { ...base, learner: { kind: 'conv', widths: [2, 3, 4] } };
    const grads = (['js', 'native'] as const).map((be) => {
      T.setBackend(be);
      const meta = initMetaParams(cfg, { innerLr: 0.1, innerMomentum: 0.5 }, T.Rng.seeded(5));
      return T.treeLeaves(T.grad((m: MetaParams) => loss(m, true))(meta));
    });
    // Float32 sums in another order differ by rounding: bound the difference by the gradient's largest component.
    const scale = Math.max(...grads[0].map((g) => Math.max(...Array.from(g.data, Math.abs))));
    assert.ok(scale > 1e-3, 'the meta-gradient is not trivially small');
    grads[0].forEach((g, i) => {
      const worst = Math.max(...Array.from(g.data, (v, k) => Math.abs(v - grads[1][i].data[k])));
      assert.ok(worst <= 1e-4 * scale, `leaf ${i}: max difference ${worst} vs scale ${scale}`);
    });
  });
});
