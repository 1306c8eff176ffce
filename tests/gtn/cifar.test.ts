// The CIFAR-10 pipeline: crop + flip on real batches only (seeded), a tiny meta-training run end to end through
// the CLI, `gtn eval --vs-real`'s report, and no path from meta-training or tuning to the test split.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadDataset, type Dataset } from '../../src/data/load.js';
import { parseConfig, presetConfig } from '../../src/gtn/config.js';
import { iterationData, randomBatch } from '../../src/gtn/experiment.js';
import { initMetaParams } from '../../src/gtn/metaParams.js';
import { syntheticBatch } from '../../src/gtn/samples.js';
import { train } from '../../src/gtn/trainer.js';
import { unrollConfig } from '../../src/gtn/experiment.js';
import { gridCandidates, stepsToMatch, tuneReal } from '../../src/gtn/realBaseline.js';
import { Rng } from '../../src/tensor/index.js';

const root = new URL('../../../', import.meta.url).pathname;
const bin = join(root, 'bin', 'gtn.js');
const work = mkdtempSync(join(tmpdir(), 'gtn-cifar-'));
after(() => rmSync(work, { recursive: true, force: true }));
let data: Dataset;
before(async () => {
  data = await loadDataset('cifar10');
});

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);

describe('CIFAR-10 meta-training', () => {
  it('augments the real batches (crop + flip, reproducible from the seed) and never the synthetic ones', () => {
    const cfg = presetConfig('tiny', 'cifar10');
    assert.equal(cfg.augment, 'crop-flip');
    const plain = { ...cfg, augment: 'none' as const };
    const a = iterationData(cfg, data.train, Rng.seeded(1));
    const b = iterationData(cfg, data.train, Rng.seeded(1));
    const n = iterationData(plain, data.train, Rng.seeded(1));
    assert.ok(same(a.final!.x.data, b.final!.x.data), 'same seed, same augmented batch');
    assert.ok(same(a.final!.y.data, n.final!.y.data), 'augmentation does not change which images are drawn');
    assert.ok(!same(a.final!.x.data, n.final!.x.data), 'the real batch is augmented');
    assert.ok(!same(a.final!.x.data, iterationData(cfg, data.train, Rng.seeded(2)).final!.x.data));
    const real = iterationData({ ...cfg, teacher: 'real' }, data.train, Rng.seeded(1));
    const realPlain = iterationData({ ...plain, teacher: 'real' }, data.train, Rng.seeded(1));
    assert.ok(!same(real.teacherBatch!(0).x.data, realPlain.teacherBatch!(0).x.data), "the real-data learner's batches are augmented too");
    const meta = initMetaParams(unrollConfig(cfg), { innerLr: 0.1, innerMomentum: 0.5 }, Rng.seeded(3));
    assert.ok(same(syntheticBatch(cfg, meta, 1)!.x, syntheticBatch(plain, meta, 1)!.x), 'synthetic batches are never augmented');
  });

  it('keeps the test split out of training and tuning', async () => {
    assert.throws(() => randomBatch(data.test, 4, Rng.seeded(0)), /test split is for final reports only/);
    const cfg = presetConfig('tiny', 'cifar10');
    // Meta-training handed the test split as its training data refuses to start its first iteration.
    await assert.rejects(train(join(work, 'leak'), { ...cfg, meta: { ...cfg.meta, iterations: 1 } }, { data: { name: 'cifar10', spec: data.spec, train: data.test, validation: data.validation } }), /test split is for final reports only/);
    assert.throws(() => tuneReal(cfg, gridCandidates(8), [4, 8], { train: data.test, validation: data.validation }, { seeds: [1], images: 10 }), /test split is for final reports only/);
  });

  it('presets: paper keeps the paper sizes; unknown pairs are named', () => {
    const paper = presetConfig('paper', 'cifar10');
    assert.deepEqual([paper.steps, paper.batch, paper.realBatch, paper.intermediateEvery, paper.meta.lr, paper.meta.beta2, paper.meta.eps, paper.meta.iterations], [128, 128, 256, 16, 0.004, 0.9, 1e-5, 2000]);
    assert.deepEqual(paper.learner, { kind: 'cifar', widths: [64, 128, 128, 256, 256] });
    assert.throws(() => presetConfig('nas', 'mnist'), /--preset nas is not defined for mnist/);
    assert.throws(() => parseConfig({ ...paper, learner: { kind: 'nb201', cell: '|x~0|', channels: 8, cells: 1 } }, 'test'), /learner.cell: cell '\|x~0\|'/);
  });

  it('the speed-up is read off the real curve on log steps', () => {
    assert.deepEqual(stepsToMatch([[32, 0.3], [64, 0.4], [128, 0.5]], 0.45), { steps: Math.exp((Math.log(64) + Math.log(128)) / 2), how: 'interpolated' });
    assert.deepEqual(stepsToMatch([[32, 0.5], [64, 0.6]], 0.45), { steps: 32, how: 'at-or-below' });
    assert.deepEqual(stepsToMatch([[32, 0.3], [64, 0.4]], 0.45), { steps: null, how: 'beyond' });
  });

  it('gtn train --dataset cifar10 and gtn eval --vs-real run end to end', () => {
    const env = { ...process.env, GTN_THREADS: '1' };
    const run = join(work, 'tiny');
    const t = spawnSync(process.execPath, [bin, 'train', '--dataset', 'cifar10', '--preset', 'tiny', '--iterations', '3', '--out', run, '--quiet'], { env, encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const e = spawnSync(process.execPath, [bin, 'eval', run, '--vs-real', '--seeds', '2', '--tune-images', '100', '--grid-lr', '0.05,0.2', '--grid-momentum', '0.9', '--json'], { env, encoding: 'utf8' });
    assert.equal(e.status, 0, e.stderr);
    const lines = e.stdout.trim().split('\n');
    const r = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
    for (const k of ['dataset', 'teacher_steps', 'teacher_accuracy', 'real_steps_to_match', 'speedup', 'real_curve']) assert.ok(k in r, `missing ${k}`);
    assert.equal(r.dataset, 'cifar10');
    assert.equal(r.teacher_steps, 4);
    assert.deepEqual((r.real_curve as [number, number][]).map((p) => p[0]), [4, 8, 16, 32, 64]);
    for (const [, acc] of r.real_curve as [number, number][]) assert.ok(acc >= 0 && acc <= 1);
    if (r.speedup !== null) assert.ok(Math.abs((r.speedup as number) - (r.real_steps_to_match as number) / 4) < 1e-9);
    const bad = spawnSync(process.execPath, [bin, 'eval', run, '--vs-real', '--grid-lr', 'fast'], { env, encoding: 'utf8' });
    assert.match(bad.stderr, /--grid-lr expects a comma-separated list of numbers, got 'fast'/);
  });
});
