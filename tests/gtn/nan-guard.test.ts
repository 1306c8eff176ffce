// A non-finite meta-loss or meta-gradient, or one over skipNorm, skips the update (parameters and optimiser state
// untouched).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { initLearner } from '../../src/models/index.js';
import { initMetaParams } from '../../src/gtn/metaParams.js';
import { initAdam } from '../../src/gtn/metaOptim.js';
import { metaStep } from '../../src/gtn/metaStep.js';
import type { UnrollConfig } from '../../src/gtn/unroll.js';

const cfg: UnrollConfig = {
  teacher: 'gtn', steps: 2, batch: 4, classes: 2, imageShape: [1, 4, 4], learner: { kind: 'mlp', hidden: [3] }, optimizer: 'sgd',
  curriculum: 'full', generator: { noiseDim: 2, classes: 2, hidden: 4, channels: 2, imageShape: [1, 4, 4], weightNorm: true },
  intermediateEvery: 1, checkpoint: false, bnStats: 'last', softLabels: false,
};
const adamCfg = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, iterations: 10, finalFraction: 0.1, clipNorm: 0 };
const batch = { x: T.randn([4, 1, 4, 4], T.Rng.seeded(1)), y: T.tensor(Int32Array.from([0, 1, 0, 1])) };
const data = { intermediate: [batch, batch], final: batch };

it('skips a meta-step whose loss is not finite, and takes a finite one', () => {
  const meta = initMetaParams(cfg, { innerLr: 0.1, innerMomentum: 0.5 }, T.Rng.seeded(2));
  const learner = initLearner(cfg.learner, cfg.imageShape, cfg.classes, T.Rng.seeded(3));
  const adam = initAdam(T.treeLeaves(meta));
  const poisoned = { ...meta, logLr: T.full([2], Number.POSITIVE_INFINITY) };
  const bad = metaStep(cfg, adamCfg, adam, poisoned, learner, data, T.Rng.seeded(4));
  assert.equal(bad.skipped, true);
  assert.equal(bad.meta, poisoned);
  assert.equal(adam.step, 0, 'the optimiser state is untouched');
  const good = metaStep(cfg, adamCfg, adam, meta, learner, data, T.Rng.seeded(4));
  assert.equal(good.skipped, false);
  assert.ok(Number.isFinite(good.metaLoss));
  assert.notDeepEqual(Array.from(good.meta.logLr.data), Array.from(meta.logLr.data));
});

it('skips a meta-step whose gradient norm is over skipNorm, and takes it under a higher one', () => {
  const meta = initMetaParams(cfg, { innerLr: 0.1, innerMomentum: 0.5 }, T.Rng.seeded(2));
  const learner = initLearner(cfg.learner, cfg.imageShape, cfg.classes, T.Rng.seeded(3));
  const adam = initAdam(T.treeLeaves(meta));
  const free = metaStep(cfg, adamCfg, initAdam(T.treeLeaves(meta)), meta, learner, data, T.Rng.seeded(4));
  assert.ok(free.gradNorm > 0 && Number.isFinite(free.gradNorm));
  const over = metaStep(cfg, { ...adamCfg, skipNorm: free.gradNorm * 0.99 }, adam, meta, learner, data, T.Rng.seeded(4));
  assert.equal(over.skipped, true);
  assert.equal(over.meta, meta);
  assert.equal(over.gradNorm, free.gradNorm, 'the norm is reported for the skipped step');
  assert.equal(adam.step, 0, 'the optimiser state is untouched');
  const under = metaStep(cfg, { ...adamCfg, skipNorm: free.gradNorm * 1.01 }, adam, meta, learner, data, T.Rng.seeded(4));
  assert.equal(under.skipped, false);
  assert.deepEqual(Array.from(under.meta.logLr.data), Array.from(free.meta.logLr.data), 'a step under the bound is the plain step');
});
