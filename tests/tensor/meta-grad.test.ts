// The GTN meta-gradient in miniature: a small MLP learner trained K unrolled SGD+momentum steps on x = G(z; θ),
// loss on fixed "real" data, differentiated back into θ, the per-step learning rates, the momentum and z
// (second order: every inner gradient is itself differentiated). Checked against finite differences, and with
// gradient checkpointing around each inner step, which must give identical numbers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import type { Tensor } from '../../src/tensor/index.js';
import { assertClose, availableBackends, numericGrad, rand } from '../helpers/gradcheck.js';

const K = 4;
const B = 6;
const labels = T.tensor(Int32Array.from({ length: B }, (_, i) => i % 3));
const realX = rand([8, 4], 21);
const realY = T.tensor(Int32Array.from({ length: 8 }, (_, i) => (i * 7) % 3));

function learnerInit(): Tensor[] {
  return [rand([4, 5], 31, 0.5), T.zeros([5]), rand([5, 3], 32, 0.5), T.zeros([3])];
}

function learner(p: Tensor[], x: Tensor): Tensor {
  const h = T.tanh(T.add(T.matmul(x, p[0]), p[1]));
  return T.add(T.matmul(h, p[2]), p[3]);
}

function generator(theta: Tensor[], z: Tensor): Tensor {
  return T.tanh(T.add(T.matmul(z, theta[0]), theta[1]));
}

/** One inner step: [...params, ...velocity, x, lr, m] -> [...params', ...velocity']. */
function innerStep(...flat: Tensor[]): Tensor[] {
  const p = flat.slice(0, 4);
  const v = flat.slice(4, 8);
  const [x, lr, m] = flat.slice(8);
  const g = T.grad((q: Tensor[]) => T.crossEntropy(learner(q, x), labels), { createGraph: true })(p);
  const v2 = v.map((vi, i) => T.add(T.mul(m, vi), g[i]));
  const p2 = p.map((pi, i) => T.sub(pi, T.mul(lr, v2[i])));
  return [...p2, ...v2];
}

/** Meta-loss as a function of [θ0, θ1, lr[K], m, z[K, B, 3]]. */
function metaLoss(metaParams: Tensor[], useCheckpoint: boolean): Tensor {
  const [t0, t1, lrs, m, z] = metaParams;
  const step = useCheckpoint ? T.checkpoint(innerStep) : innerStep;
  let state = [...learnerInit(), ...learnerInit().map((p) => T.zeros(p.shape))];
  let intermediate: Tensor = T.scalar(0);
  for (let t = 0; t < K; t++) {
    const zt = T.reshape(T.slice(z, [t, 0, 0], [1, B, 3]), [B, 3]);
    const x = generator([t0, t1], zt);
    const lr = T.reshape(T.slice(lrs, [t], [1]), []);
    state = step(...state, x, lr, m);
    intermediate = T.add(intermediate, T.crossEntropy(learner(state.slice(0, 4), realX), realY));
  }
  return T.add(T.crossEntropy(learner(state.slice(0, 4), realX), realY), T.mulScalar(intermediate, 1 / K));
}

function metaParams(): Tensor[] {
  return [rand([3, 4], 41), rand([4], 42, 0.1), T.full([K], 0.3), T.scalar(0.5), rand([K, B, 3], 43)];
}

for (const be of availableBackends()) {
  describe(`meta-gradient through ${K} unrolled SGD+momentum steps (${be})`, () => {
    it('matches finite differences for θ, lr, momentum and z', () => {
      T.setBackend(be);
      const mp = metaParams();
      const analytic = T.grad((ps: Tensor[]) => metaLoss(ps, false))(mp);
      const numeric = numericGrad((ps) => metaLoss(ps, false), mp, 1e-2);
      const names = ['θ weight', 'θ bias', 'lr', 'momentum', 'z'];
      analytic.forEach((g, i) => assertClose(`d meta-loss / d ${names[i]}`, g.data, numeric[i], 3e-2, 2e-3));
      // The check must be able to fail: the gradients are not trivially zero.
      for (const g of analytic) assert.ok(g.data.some((v) => Math.abs(v) > 1e-4), 'gradient is not all zeros');
    });

    it('is identical with gradient checkpointing around each inner step', () => {
      T.setBackend(be);
      const mp = metaParams();
      const [v1, g1] = T.valueAndGrad((ps: Tensor[]) => metaLoss(ps, false))(mp);
      const [v2, g2] = T.valueAndGrad((ps: Tensor[]) => metaLoss(ps, true))(mp);
      assert.equal(v2.item(), v1.item());
      g1.forEach((g, i) => assert.deepEqual(Array.from(g2[i].data), Array.from(g.data), `gradient ${i}`));
    });
  });
}
