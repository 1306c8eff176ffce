// Rank-aware meta-training: pool weights standardise the scores, a weight scales the meta-gradient exactly
// (negative weights reverse it), and pools that would leak held-out cells or cannot rank are refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { initLearner } from '../../src/models/index.js';
import { initMetaParams } from '../../src/gtn/metaParams.js';
import { initAdam } from '../../src/gtn/metaOptim.js';
import { metaStep, pairMetaGradient } from '../../src/gtn/metaStep.js';
import { unroll, windowedTrainLoss } from '../../src/gtn/unroll.js';
import { parseConfig, presetConfig } from '../../src/gtn/config.js';
import { sampleLearnerSpec } from '../../src/gtn/experiment.js';
import { rankTargetWeights, readRankTargets, samplePair } from '../../src/gtn/rankTargets.js';
import { recordScores } from '../../src/nas/rank.js';
import { tinyBatch, tinyUnroll } from '../helpers/gtnFixture.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-rank-targets-'));
after(() => rmSync(work, { recursive: true, force: true }));

const A = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|';
const B = '|none~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|none~2|';
const C = '|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|';
const pool = [
  { cell: A, score: -1.0 },
  { cell: B, score: -2.0 },
  { cell: C, score: -1.5 },
];

describe('rank targets', () => {
  it('weights are 1 + lambda * standardised rank: mean 1, ordered like the scores, ties shared, outliers tamed', () => {
    const w = rankTargetWeights(pool, 1);
    assert.ok(Math.abs(w.reduce((s, x) => s + x, 0) / 3 - 1) < 1e-12);
    // ranks 2, 0, 1 around their mean 1, std sqrt(2/3)
    assert.ok(Math.abs(w[0] - (1 + Math.sqrt(1.5))) < 1e-12, `${w[0]}`);
    assert.ok(Math.abs(w[1] - (1 - Math.sqrt(1.5))) < 1e-12, `${w[1]}`);
    assert.equal(w[2], 1);
    assert.deepEqual(rankTargetWeights(pool, 0), [1, 1, 1]);
    const outlier = rankTargetWeights([...pool, { cell: A, score: -1e6 }], 1);
    assert.deepEqual(outlier, rankTargetWeights([...pool, { cell: A, score: -3 }], 1), 'only the order counts');
    const tied = rankTargetWeights([{ cell: A, score: 1 }, { cell: B, score: 1 }, { cell: C, score: 3 }], 1);
    assert.equal(tied[0], tied[1]);
    assert.ok(tied[2] > tied[0]);
  });

  it('a weight scales the meta-gradient and the step; a negative one reverses it', () => {
    const meta = initMetaParams(tinyUnroll, { innerLr: 0.1, innerMomentum: 0.5 }, T.Rng.seeded(2));
    const learner = initLearner(tinyUnroll.learner, tinyUnroll.imageShape, tinyUnroll.classes, T.Rng.seeded(3));
    const data = { intermediate: [tinyBatch(5), tinyBatch(6)], final: tinyBatch(7) };
    const adamCfg = { lr: 0.01, beta1: 0, beta2: 0, eps: 1e-12, iterations: 10, finalFraction: 1, clipNorm: 0 };
    const step = (w: number) => metaStep(tinyUnroll, adamCfg, initAdam(T.treeLeaves(meta)), meta, learner, data, T.Rng.seeded(4), w);
    const one = step(1);
    const neg = step(-0.5);
    assert.equal(neg.metaLoss, one.metaLoss, 'the reported loss is unweighted');
    assert.ok(Math.abs(neg.gradNorm - 0.5 * one.gradNorm) < 1e-6 * one.gradNorm);
    // With beta1 = beta2 = 0 an Adam step is -lr * sign(g): a negative weight moves every parameter the other way.
    const d = (m: typeof meta) => T.treeLeaves(m).flatMap((t, k) => Array.from(t.data, (x, i) => x - T.treeLeaves(meta)[k].data[i]));
    const d1 = d(one.meta);
    const dn = d(neg.meta);
    let moved = 0;
    d1.forEach((x, i) => {
      if (Math.abs(x) > 1e-6) {
        moved++;
        // float32 parameters: the two steps round differently by ~1e-6; a step not reversed is off by 2 * lr.
        assert.ok(Math.abs(dn[i] + x) < 1e-5, `parameter ${i}: ${dn[i]} is not ${-x}`);
      }
    });
    assert.ok(moved > 100, `${moved} parameters moved`);
  });

  it('iterations draw pool cells only, each with its weight', () => {
    const cfg = parseConfig({ ...presetConfig('tinynas', 'cifar10'), rankTargets: pool, rankWeight: 0.5 }, 'test');
    const w = rankTargetWeights(pool, 0.5);
    const drawn = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const { spec, weight } = sampleLearnerSpec(cfg, T.Rng.seeded(i));
      assert.equal(spec.kind, 'nb201');
      const k = pool.findIndex((p) => spec.kind === 'nb201' && p.cell === spec.cell);
      assert.ok(k >= 0, 'a pool cell');
      assert.equal(weight, w[k]);
      drawn.add(pool[k].cell);
    }
    assert.equal(drawn.size, 3);
  });

  it('refuses a pool that holds a held-out cell, one without spread, and targets for a non-NB201 learner', () => {
    const base = presetConfig('tinynas', 'cifar10');
    // B in another (isomorphic) spelling: its none edge's source differs, the network is the same.
    const heldB = '|none~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|none~2|';
    assert.throws(() => parseConfig({ ...base, rankTargets: pool, heldOutCells: [heldB] }, 'cfg.json'), /cfg\.json: rank-target cell .*none~0.* is held out/);
    assert.throws(() => parseConfig({ ...base, rankTargets: pool.map((p) => ({ ...p, score: 1 })) }, 'cfg.json'), /at least two different scores/);
    assert.throws(() => parseConfig({ ...presetConfig('tiny', 'cifar10'), rankTargets: pool }, 'cfg.json'), /rank targets need an nb201 learner, not 'cifar'/);
  });

  it('reads the pool from a rank log, naming the file and line of bad records', () => {
    const log = join(work, 'log.jsonl');
    writeFileSync(log, pool.map((p) => JSON.stringify({ arch: p.cell, proxyKey: 'k', score: p.score, seconds: 1 })).join('\n') + '\n');
    assert.deepEqual(readRankTargets(log), pool);
    const mixed = join(work, 'mixed.jsonl');
    writeFileSync(mixed, `${JSON.stringify({ arch: A, proxyKey: 'k', score: 1 })}\n${JSON.stringify({ arch: B, proxyKey: 'j', score: 2 })}\n`);
    assert.throws(() => readRankTargets(mixed), /mixed\.jsonl: records of 2 proxy settings/);
    const bad = join(work, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ arch: A, proxyKey: 'k', score: 1 })}\n${JSON.stringify({ arch: '|conv~0|', proxyKey: 'k', score: 2 })}\n`);
    assert.throws(() => readRankTargets(bad), /bad\.jsonl:2: /);
    assert.throws(() => readRankTargets(join(work, 'none.jsonl')), /none\.jsonl: no records/);
  });

  it("reads a vote's log through the vote scorer it is given, a member's null ranking lowest", () => {
    const log = join(work, 'vote.jsonl');
    const rec = (arch: string, parts: (number | null)[]) => JSON.stringify({ arch, proxyKey: 'v', score: null, seconds: 1, parts });
    writeFileSync(log, [rec(A, [-1, 5]), rec(B, [-3, null]), rec(C, [-2, 7])].join('\n') + '\n');
    const got = readRankTargets(log, recordScores);
    // member 1 ranks A > C > B, member 2 C > A > B (null lowest): mean normalised ranks 0.75, 0, 0.75
    assert.deepEqual(got, [
      { cell: A, score: 0.75 },
      { cell: B, score: 0 },
      { cell: C, score: 0.75 },
    ]);
    assert.throws(() => readRankTargets(log), /vote\.jsonl: the log of a vote/);
    const bad = join(work, 'vote-bad.jsonl');
    writeFileSync(bad, `${rec(A, [-1, 5])}\n${JSON.stringify({ arch: B, proxyKey: 'v', score: null })}\n`);
    assert.throws(() => readRankTargets(bad, recordScores), /vote-bad\.jsonl:2: expected .*"parts"/);
  });

  it('pairs are two cells of different scores, each cell drawn on both sides', () => {
    const tied = [...pool, { cell: A, score: -1.5 }]; // C and this A tie
    const sides = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const { a, b } = samplePair(tied, T.Rng.seeded(i));
      assert.notEqual(tied[a].score, tied[b].score, `pair ${a}, ${b}`);
      sides.add(`a${a}`).add(`b${b}`);
    }
    assert.equal(sides.size, 8);
    assert.deepEqual(samplePair(tied, T.Rng.seeded(9)), samplePair(tied, T.Rng.seeded(9)));
  });

  it('with a top fraction, one cell of every pair is among the best of the pool and the other is anywhere', () => {
    const big = Array.from({ length: 20 }, (_, i) => ({ cell: A, score: i % 2 ? i : -i }));
    const best = new Set(big.map((_, i) => i).sort((i, j) => big[j].score - big[i].score).slice(0, 5));
    const seenA = new Set<number>();
    const seenB = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const { a, b } = samplePair(big, T.Rng.seeded(i), 0.25);
      assert.ok(best.has(a), `a = ${a} (score ${big[a].score}) is not among the best quarter`);
      assert.notEqual(a, b);
      seenA.add(a);
      seenB.add(b);
    }
    assert.equal(seenA.size, 5);
    assert.ok(seenB.size > 15, `${seenB.size} cells on the other side`);
    // A fraction of 1 draws exactly as before the option existed (older runs replay the same pairs).
    const whole = Array.from({ length: 30 }, (_, i) => samplePair(big, T.Rng.seeded(i), 1));
    assert.deepEqual(whole, Array.from({ length: 30 }, (_, i) => samplePair(big, T.Rng.seeded(i))));
    assert.ok(new Set(whole.map((p) => p.a)).size > 10);
  });

  it('the pairwise gradient is the mean meta-gradient plus the logistic order loss, recomputed term by term', () => {
    const steps4 = { ...tinyUnroll, steps: 4 }; // a window of one step
    const meta = initMetaParams(steps4, { innerLr: 0.1, innerMomentum: 0.5 }, T.Rng.seeded(2));
    const la = initLearner(tinyUnroll.learner, tinyUnroll.imageShape, tinyUnroll.classes, T.Rng.seeded(3));
    const lb = initLearner(tinyUnroll.learner, tinyUnroll.imageShape, tinyUnroll.classes, T.Rng.seeded(8));
    const data = { intermediate: [tinyBatch(5), tinyBatch(6), tinyBatch(7), tinyBatch(10)], final: tinyBatch(11) };
    const rng = () => T.Rng.seeded(4);
    const flat = (m: object) => T.treeLeaves(m as typeof meta).flatMap((t) => Array.from(t.data));
    const g = (f: (m: typeof meta) => T.Tensor) => flat(T.grad(f)(meta));
    const gMa = g((m) => unroll(steps4, m, la, data, rng()).metaLoss);
    const gMb = g((m) => unroll(steps4, m, lb, data, rng()).metaLoss);
    const gSa = g((m) => windowedTrainLoss(unroll(steps4, m, la, data, rng()).trainLosses));
    const gSb = g((m) => windowedTrainLoss(unroll(steps4, m, lb, data, rng()).trainLosses));
    const S = (l: typeof la) => T.noGrad(() => unroll(steps4, meta, l, data, rng()).trainLosses[3].item());
    const d = S(la) - S(lb);
    for (const aBetter of [true, false]) {
      const o = { aBetter, weight: 0.7, temperature: 0.05 };
      const res = pairMetaGradient({ cfg: steps4, learner0: la }, { cfg: steps4, learner0: lb }, meta, data, rng, o);
      const x = ((aBetter ? 1 : -1) * d) / o.temperature;
      assert.ok(Math.abs(res.trainLossDiff - d) < 1e-6, `${res.trainLossDiff} vs ${d}`);
      assert.ok(Math.abs(res.rankLoss - Math.log1p(Math.exp(x))) < 1e-4 * Math.max(1, Math.abs(x)), `${res.rankLoss} vs softplus(${x})`);
      const c = (o.weight * (aBetter ? 1 : -1)) / o.temperature / (1 + Math.exp(-x)); // weight * d softplus / d (Sa - Sb)
      const want = gMa.map((v, i) => 0.5 * (v + gMb[i]) + c * (gSa[i] - gSb[i]));
      const got = flat(res.grads);
      const scale = Math.max(...want.map(Math.abs));
      let maxErr = 0;
      got.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - want[i]))));
      assert.ok(maxErr < 1e-4 * scale, `max error ${maxErr} against a gradient scale ${scale}`);
      assert.ok(Math.abs(c) * Math.max(...gSa.map((v, i) => Math.abs(v - gSb[i]))) > 0.05 * scale, 'the order term is not negligible');
    }
    // One learner against itself: the same data for both, so no order to learn and the plain meta-gradient.
    const same = pairMetaGradient({ cfg: steps4, learner0: la }, { cfg: steps4, learner0: la }, meta, data, rng, { aBetter: true, weight: 3, temperature: 0.1 });
    assert.equal(same.trainLossDiff, 0);
    flat(same.grads).forEach((v, i) => assert.ok(Math.abs(v - gMa[i]) <= 1e-5 * Math.max(1, Math.abs(gMa[i])), `parameter ${i}`));
  });
});
