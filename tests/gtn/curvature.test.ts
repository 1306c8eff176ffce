// curvature c: the exact meta-gradient with each step's weight Jacobian I - c lr H. Through two inner steps one
// Hessian enters (the second step's, in the first step's data), so the meta-gradient is linear in c: at c it
// must be (1 - c) times the first-order one plus c times the exact one. Through three steps two Hessians multiply
// and it is a quadratic in c with a c^2 term: the option damps the product rather than mixing two gradients.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { initLearner } from '../../src/models/index.js';
import { initMetaParams } from '../../src/gtn/metaParams.js';
import { unroll, type MetaParams, type UnrollConfig } from '../../src/gtn/unroll.js';
import { parseConfig, presetConfig } from '../../src/gtn/config.js';
import { availableBackends } from '../helpers/gradcheck.js';
import { tinyBatch, tinyUnroll } from '../helpers/gtnFixture.js';

const base: UnrollConfig = { ...tinyUnroll, teacher: 'distill', learner: { kind: 'mlp', hidden: [6] }, intermediateEvery: 0 };
const data = { intermediate: [], final: tinyBatch(3) };

/** The meta-gradient (pixels and schedule, flattened) of the final real loss plus the last training loss. */
function metaGrad(steps: number, c: number | 'first-order', curvatureHorizon = 0): Float32Array {
  const cfg: UnrollConfig = { ...base, steps, curvatureHorizon, ...(c === 'first-order' ? { metaGradient: 'first-order' } : { curvature: c }) };
  const meta: MetaParams = initMetaParams(cfg, { innerLr: 0.4, innerMomentum: 0.5 }, T.Rng.seeded(5));
  const g = T.grad((m: MetaParams) => {
    const res = unroll(cfg, m, initLearner(cfg.learner, cfg.imageShape, cfg.classes, T.Rng.seeded(9)), data, T.Rng.seeded(4));
    return T.add(res.finalLoss, res.trainLosses[steps - 1]);
  })(meta);
  return Float32Array.from([...g.pixels!.data, ...g.logLr.data, ...g.momentumLogit.data]);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

for (const be of availableBackends()) {
  describe(`damped curvature (${be})`, () => {
    it('is (1 - c) first-order + c exact through two steps, where one Hessian enters', () => {
      T.setBackend(be);
      const [g0, g1, gc] = [metaGrad(2, 'first-order'), metaGrad(2, 1), metaGrad(2, 0.3)];
      const spread = maxAbsDiff(g0, g1);
      assert.ok(spread > 1e-3, `exact and first-order agree to ${spread}: no curvature to damp`);
      const mixed = g0.map((v, i) => 0.7 * v + 0.3 * g1[i]);
      assert.ok(maxAbsDiff(gc, mixed) < 1e-3 * spread, `c = 0.3 is ${maxAbsDiff(gc, mixed) / spread} of the spread off the mix`);
    });

    it('is quadratic in c through three steps, where two Hessians multiply, and c = 0 is first order', () => {
      T.setBackend(be);
      const f = new Map([0, 0.25, 0.5, 0.75, 1].map((c) => [c, metaGrad(3, c)]));
      const at = (c: number) => f.get(c)!;
      const spread = maxAbsDiff(at(0), at(1));
      // second differences of a quadratic a c^2 + b c + k: over steps of 0.5 they are a / 2, over 0.25 a / 8
      const wide = at(0).map((v, i) => v - 2 * at(0.5)[i] + at(1)[i]);
      const narrow = at(0.25).map((v, i) => 4 * (v - 2 * at(0.5)[i] + at(0.75)[i]));
      const curved = Math.max(...Array.from(wide, Math.abs));
      assert.ok(curved > 1e-3 * spread, `the c^2 term is only ${curved / spread} of the spread: the Hessians do not multiply`);
      assert.ok(maxAbsDiff(wide, narrow) < 0.05 * curved, `not quadratic in c: second differences ${maxAbsDiff(wide, narrow)} apart (c^2 term ${curved})`);
      assert.equal(maxAbsDiff(at(0), metaGrad(3, 'first-order')), 0, 'curvature 0 differs from first-order');
    });

    it('with a horizon of one step keeps one Hessian (linear in c again); of T - 1 steps, all that matter', () => {
      T.setBackend(be);
      const f = new Map([0, 0.5, 1].map((c) => [c, metaGrad(3, c, 1)]));
      const at = (c: number) => f.get(c)!;
      const spread = maxAbsDiff(at(0), at(1));
      assert.ok(spread > 1e-3, `the last step's curvature changes nothing (${spread})`);
      const wide = at(0).map((v, i) => v - 2 * at(0.5)[i] + at(1)[i]);
      assert.ok(Math.max(...Array.from(wide, Math.abs)) < 1e-3 * spread, 'a c^2 term with one step of curvature');
      assert.ok(maxAbsDiff(at(1), metaGrad(3, 1)) > 1e-3 * spread, 'a horizon of 1 gives the exact meta-gradient');
      // step 0's gradient is taken at the fresh learner, which no meta-parameter moves: its curvature never enters
      assert.ok(maxAbsDiff(metaGrad(3, 1, 2), metaGrad(3, 1)) <= 1e-6 * spread, 'a horizon of T - 1 steps differs from the exact');
    });
  });
}

describe('curvature in a run configuration', () => {
  it('refuses values outside [0, 1] and a curvature with first-order, naming the source', () => {
    const raw = { ...presetConfig('tiny', 'mnist') } as Record<string, unknown>;
    assert.throws(() => parseConfig({ ...raw, curvature: 1.5 }, 'config.json'), /config\.json.*curvature/);
    assert.throws(() => parseConfig({ ...raw, curvature: 0.5, metaGradient: 'first-order' }, 'config.json'), /config\.json: curvature 0\.5/);
    assert.throws(() => parseConfig({ ...raw, curvatureHorizon: 4, metaGradient: 'first-order' }, 'config.json'), /config\.json: curvatureHorizon 4/);
    assert.throws(() => parseConfig({ ...raw, curvatureHorizon: -1 }, 'config.json'), /config\.json.*curvatureHorizon/);
    assert.equal(parseConfig({ ...raw, curvature: 0.5 }, 'config.json').curvature, 0.5);
  });
});
