// Autodiff mechanics: functional grad over trees, grad-of-grad, noGrad, checkpoint, clear shape errors,
// seeded randomness.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import type { Tensor } from '../../src/tensor/index.js';

describe('grad and valueAndGrad', () => {
  it('differentiates over records and arrays of tensors', () => {
    const f = (p: { a: Tensor; bs: Tensor[] }) => T.sum(T.mul(p.a, T.add(p.bs[0], p.bs[1])));
    const a = T.tensor([1, 2]);
    const g = T.grad(f)({ a, bs: [T.tensor([3, 4]), T.tensor([5, 6])] });
    assert.deepEqual(Array.from(g.a.data), [8, 10]);
    assert.deepEqual(Array.from(g.bs[0].data), [1, 2]);
    assert.deepEqual(Array.from(g.bs[1].data), [1, 2]);
  });

  it('returns the value and zeros for unused inputs', () => {
    const [v, g] = T.valueAndGrad((xs: Tensor[]) => T.sum(T.square(xs[0])))([T.tensor([3]), T.tensor([1, 1])]);
    assert.equal(v.item(), 9);
    assert.deepEqual(Array.from(g[0].data), [6]);
    assert.deepEqual(Array.from(g[1].data), [0, 0]);
  });

  it('gives exact third derivatives of x^4 by nesting', () => {
    const f = (x: Tensor) => T.sum(T.powScalar(x, 4));
    const d1 = (x: Tensor) => T.sum(T.grad(f, { createGraph: true })(x));
    const d2 = (x: Tensor) => T.sum(T.grad(d1, { createGraph: true })(x));
    const d3 = T.grad(d2)(T.tensor([2]));
    assert.ok(Math.abs(d3.item() - 48) < 1e-4, `d3 = ${d3.item()}`);
  });

  it('builds no graph under noGrad', () => {
    const x = T.tensor([1, 2]);
    const y = T.noGrad(() => T.grad((q: Tensor) => T.sum(T.exp(q)), { createGraph: true })(x));
    assert.equal(y.requiresGrad, false);
  });

  it('rejects non-scalar functions with a clear message', () => {
    assert.throws(() => T.grad((x: Tensor) => T.mul(x, 2))(T.tensor([1, 2])), /grad: the function must return a scalar tensor, got \[2\]/);
  });

  it('handles graphs deeper than the JS stack', () => {
    const g = T.grad((x: Tensor) => {
      let y = x;
      for (let i = 0; i < 20000; i++) y = T.mulScalar(y, 1);
      return T.sum(y);
    })(T.tensor([1]));
    assert.equal(g.item(), 1);
  });
});

describe('checkpoint', () => {
  it('recomputes to exactly the same gradient; second order through it agrees to rounding', () => {
    const fn = (a: Tensor, b: Tensor) => [T.tanh(T.matmul(a, b)), T.exp(a)];
    const a = T.randn([3, 4], T.Rng.seeded(1));
    const b = T.randn([4, 2], T.Rng.seeded(2));
    const loss = (ps: Tensor[], ck: boolean) => {
      const [y, e] = (ck ? T.checkpoint(fn) : fn)(ps[0], ps[1]);
      return T.add(T.sum(T.square(y)), T.sum(e));
    };
    const hv = (ck: boolean) =>
      T.grad((ps: Tensor[]) => T.sum(T.grad((qs: Tensor[]) => loss(qs, ck), { createGraph: true })(ps)[0]))([a, b]);
    const first = (ck: boolean) => T.grad((ps: Tensor[]) => loss(ps, ck))([a, b]);
    first(false).forEach((g, i) => assert.deepEqual(Array.from(first(true)[i].data), Array.from(g.data)));
    // Differentiating *through* a checkpoint's backward pass sums the same terms in another order (the
    // recomputed forward is a second copy of the graph), so only rounding may differ.
    const plain = hv(false);
    const ck = hv(true);
    plain.forEach((g, i) => g.data.forEach((v, k) => assert.ok(Math.abs(ck[i].data[k] - v) <= 1e-6 * (1 + Math.abs(v)), `${ck[i].data[k]} vs ${v}`)));
  });
});

describe('bad input', () => {
  it('names the op and the shapes', () => {
    assert.throws(() => T.add(T.zeros([2, 3]), T.zeros([4])), /add: shapes \[2, 3\] and \[4\] cannot be broadcast together/);
    assert.throws(() => T.matmul(T.zeros([2, 3]), T.zeros([4, 5])), /matmul: inner dimensions differ: \[2, 3\] @ \[4, 5\] \(3 vs 4\)/);
    assert.throws(() => T.matmul(T.zeros([3]), T.zeros([3, 1])), /matmul: both operands need rank >= 2, got \[3\]/);
    assert.throws(() => T.conv2d(T.zeros([1, 3, 5, 5]), T.zeros([2, 2, 3, 3])), /conv2d: input \[1, 3, 5, 5\] and weight \[2, 2, 3, 3\] do not match with groups=1/);
    assert.throws(() => T.conv2d(T.zeros([3, 5, 5]), T.zeros([2, 3, 3, 3])), /conv2d: input must be \[N, C, H, W\], got \[3, 5, 5\]/);
    assert.throws(() => T.reshape(T.zeros([2, 3]), [4, 2]), /reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    assert.throws(() => T.sum(T.zeros([2, 3]), 2), /sum: axis 2 is out of range for a tensor of rank 2/);
    assert.throws(() => T.maxPool2d(T.zeros([1, 1, 2, 2]), { kernel: 3 }), /maxPool2d: kernel \[3, 3\] does not fit input \[1, 1, 2, 2\]/);
    assert.throws(() => T.tensor([1, 2, 3], [2, 2]), /tensor: 3 values do not fill shape \[2, 2\]/);
    assert.throws(() => T.slice(T.zeros([4]), [3], [2]), /slice: begin \[3\] size \[2\] is out of bounds for \[4\]/);
    assert.throws(() => T.crossEntropy(T.zeros([2, 3]), T.tensor(Int32Array.from([0, 5]))), /oneHot: label 5 is outside \[0, 3\)/);
  });

  it('rejects the wrong dtype, naming the op', () => {
    const ints = T.tensor(Int32Array.from([1, 2]));
    assert.throws(() => T.exp(ints), /exp: expected float32 tensors, got int32 of shape \[2\]/);
    assert.throws(() => T.matmul(T.zeros([2, 2]), T.tensor(Int32Array.from([1, 2, 3, 4]), [2, 2])), /matmul: expected float32/);
    assert.throws(() => T.crossEntropy(T.zeros([2, 3]), T.zeros([2])), /nllLoss: soft targets \[2\] do not match log-probabilities \[2, 3\]/);
  });
});

describe('seeded randomness', () => {
  it('gives the same numbers for the same seed and different ones otherwise', () => {
    const a = T.randn([100], T.Rng.seeded(42)).data;
    const b = T.randn([100], T.Rng.seeded(42)).data;
    const c = T.randn([100], T.Rng.seeded(43)).data;
    assert.deepEqual(Array.from(a), Array.from(b));
    assert.notDeepEqual(Array.from(a), Array.from(c));
  });

  it('draws standard normals with the right moments and independent forks', () => {
    const x = T.Rng.seeded(1).normal(200000);
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length;
    assert.ok(Math.abs(mean) < 0.01 && Math.abs(variance - 1) < 0.02, `mean ${mean} variance ${variance}`);
    const r = T.Rng.seeded(5);
    assert.notEqual(r.fork('a').u32(), r.fork('b').u32());
    assert.equal(r.fork('a').u32(), T.Rng.seeded(5).fork('a').u32());
    const u = T.Rng.seeded(9).uniform(10000);
    assert.ok(u.every((v) => v >= 0 && v < 1));
  });
});
