// metaGradient 'first-order': the same unroll (same losses), and a meta-gradient that follows every update but not
// the learner's curvature. Checked against the formula computed here from its pieces: with momentum off, the
// data of step s gets -lr_s J_s^T (the sum of the later losses' weight gradients) plus its own loss's direct
// derivative, J_s the Jacobian of step s's weight gradient in its data, taken at the weights of step s.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { initLearner, learnerForward, type LearnerParams } from '../../src/models/index.js';
import { initMetaParams } from '../../src/gtn/metaParams.js';
import { unroll, type MetaParams, type UnrollConfig } from '../../src/gtn/unroll.js';
import { availableBackends } from '../helpers/gradcheck.js';
import { tinyBatch, tinyUnroll } from '../helpers/gtnFixture.js';

const STEPS = 3;
const cfg: UnrollConfig = { ...tinyUnroll, teacher: 'distill', steps: STEPS, learner: { kind: 'mlp', hidden: [] }, intermediateEvery: 0 }; // no BN: the final loss sees no statistics of the synthetic batch
const data = { intermediate: [], final: tinyBatch(3) };
const labels = T.tensor(Int32Array.from({ length: cfg.batch }, (_, i) => i % cfg.classes));
const learner0 = () => initLearner(cfg.learner, cfg.imageShape, cfg.classes, T.Rng.seeded(9));

function metaParams(): MetaParams {
  const meta = initMetaParams(cfg, { innerLr: 0.3, innerMomentum: 0.5 }, T.Rng.seeded(5));
  // lr varies by step; momentum off (sigmoid(-40) is 4e-18) so that step s moves the final weights by -lr_s g_s
  return { ...meta, logLr: T.tensor(new Float32Array([Math.log(0.3), Math.log(0.5), Math.log(0.2)])), momentumLogit: T.full([STEPS], -40) };
}

/** The final real loss plus the last step's training loss, and the trained weights after every step. */
function run(meta: MetaParams, metaGradient: 'exact' | 'first-order') {
  const l0 = learner0();
  const after: LearnerParams[] = [];
  const res = unroll({ ...cfg, metaGradient }, meta, l0, data, T.Rng.seeded(4), (_t, p) => after.push(p));
  return { loss: T.add(res.finalLoss, res.trainLosses[STEPS - 1]), trainLosses: res.trainLosses.map((l) => l.item()), weights: [l0, ...after] };
}

const xOf = (meta: MetaParams, s: number) => T.reshape(T.slice(meta.pixels!, [s, 0, 0, 0, 0], [1, cfg.batch, ...cfg.imageShape]), [cfg.batch, ...cfg.imageShape]);
const ce = (w: LearnerParams, x: T.Tensor, y: T.Tensor) => T.crossEntropy(learnerForward(cfg.learner, w, x).logits, y);
const weightGrad = (w: LearnerParams, x: T.Tensor, y: T.Tensor) => T.treeLeaves(T.grad((q: LearnerParams) => ce(q, x, y))(w));

for (const be of availableBackends()) {
  describe(`first-order meta-gradient (${be})`, () => {
    it('leaves every loss as it is', () => {
      T.setBackend(be);
      const meta = metaParams();
      const exact = T.noGrad(() => run(meta, 'exact'));
      const first = run(meta, 'first-order');
      assert.deepEqual(first.trainLosses, exact.trainLosses);
      assert.equal(first.loss.item(), exact.loss.item());
    });

    it('is -lr_s J_s^T (the later losses\' weight gradients) + the direct term, and differs from the exact one', () => {
      T.setBackend(be);
      const meta = metaParams();
      const g = T.grad((m: MetaParams) => run(m, 'first-order').loss)(meta).pixels!;
      const gExact = T.grad((m: MetaParams) => run(m, 'exact').loss)(meta).pixels!;
      const { weights } = T.noGrad(() => run(meta, 'first-order'));
      const lrs = Array.from(meta.logLr.data, Math.exp);
      // u: the final real loss's gradient at the trained weights; w: the last training loss's at the weights it was taken at
      const u = weightGrad(weights[STEPS], data.final.x, data.final.y);
      const w = weightGrad(weights[STEPS - 1], xOf(meta, STEPS - 1), labels);
      const size = cfg.batch * cfg.imageShape.reduce((a, b) => a * b);
      let exactDiffers = 0;
      for (let s = 0; s < STEPS; s++) {
        const v = s < STEPS - 1 ? u.map((ui, i) => T.add(ui, w[i])) : u;
        const jv = T.grad((x: T.Tensor) => {
          const gs = T.treeLeaves(T.grad((q: LearnerParams) => ce(q, x, labels), { createGraph: true })(weights[s]));
          return gs.map((gi, i) => T.sum(T.mul(gi, v[i]))).reduce((a, b) => T.add(a, b));
        })(xOf(meta, s));
        let expected = T.mulScalar(jv, -lrs[s]);
        if (s === STEPS - 1) expected = T.add(expected, T.grad((x: T.Tensor) => ce(weights[s], x, labels))(xOf(meta, s)));
        const scale = Math.max(...Array.from(expected.data, Math.abs));
        assert.ok(scale > 1e-4, `step ${s}: the expected gradient is not trivially zero`);
        for (let k = 0; k < size; k++) {
          const got = g.data[s * size + k];
          assert.ok(Math.abs(got - expected.data[k]) <= 1e-5 + 1e-4 * scale, `step ${s}, pixel ${k}: ${got} vs ${expected.data[k]}`);
          exactDiffers = Math.max(exactDiffers, Math.abs(gExact.data[s * size + k] - got) / scale);
        }
      }
      // the learner's curvature is what the exact gradient adds: on this problem it moves it by far more than rounding
      assert.ok(exactDiffers > 1e-2, `exact and first-order agree to ${exactDiffers}: the option changes nothing`);
    });

    it('is the exact meta-gradient after one inner step, where no curvature enters', () => {
      T.setBackend(be);
      const one: UnrollConfig = { ...cfg, steps: 1 };
      const meta = initMetaParams(one, { innerLr: 0.3, innerMomentum: 0.5 }, T.Rng.seeded(5));
      const grads = (['exact', 'first-order'] as const).map((mg) =>
        T.treeLeaves(T.grad((m: MetaParams) => unroll({ ...one, metaGradient: mg }, m, learner0(), data, T.Rng.seeded(4)).finalLoss)(meta)),
      );
      grads[0].forEach((e, i) => Array.from(e.data).forEach((v, k) => assert.ok(Math.abs(v - grads[1][i].data[k]) <= 1e-6 + 1e-5 * Math.abs(v), `leaf ${i}[${k}]: ${v} vs ${grads[1][i].data[k]}`)));
    });
  });
}
