// Proxies: the GTN proxy is the teacher's own inner loop (replaying its frozen batches changes nothing), one
// training run scores every step count, scores are reproducible, and the zero-cost proxies compute what they
// claim.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadTrainingSplits, type TrainingSplits } from '../../src/data/load.js';
import { presetConfig } from '../../src/gtn/config.js';
import { splitScore, trainFresh } from '../../src/gtn/evaluate.js';
import { loadRunState } from '../../src/gtn/runState.js';
import { runFiles, train } from '../../src/gtn/trainer.js';
import { initNb201, nb201Forward, paramCount, parseCell } from '../../src/models/index.js';
import { conv } from '../../src/nn/index.js';
import { randomBatch } from '../../src/gtn/experiment.js';
import { augmentedReplay } from '../../src/nas/proxies/gtn.js';
import { buildProxy, parseProxy, proxyRuns } from '../../src/nas/proxies/index.js';
import { networkSpec } from '../../src/nas/proxies/training.js';
import { rowCorrelation, symmetricEigenvalues } from '../../src/nas/proxies/linalg.js';
import { Rng, noGrad, randn, tensor } from '../../src/tensor/index.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-proxies-'));
after(() => rmSync(work, { recursive: true, force: true }));
const teacher = join(work, 'teacher');
const cell = parseCell('|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|');
let data: TrainingSplits;

before(async () => {
  data = await loadTrainingSplits('cifar10');
  const cfg = presetConfig('tinynas', 'cifar10');
  await train(teacher, { ...cfg, meta: { ...cfg.meta, iterations: 2 }, evalEvery: 2 }, { data });
});

describe('NAS proxies', () => {
  it('gtn: training on the replayed teacher batches is training on the live teacher', async () => {
    const proxy = await buildProxy(parseProxy(`gtn:${teacher}`, { steps: [4], valImages: 300 }), data);
    const viaProxy = proxy.score(cell);
    const cfg = presetConfig('tinynas', 'cifar10');
    const meta = loadRunState(runFiles(teacher).best).meta;
    const spec = networkSpec(cell, { channels: 2, cells: 1 });
    const live = trainFresh({ ...cfg, learner: spec }, meta, 0, { learner: spec });
    const direct = splitScore(spec, live.params, live.stats, data.validation, 300);
    assert.equal(viaProxy.score, direct.accuracy);
    assert.equal(viaProxy.bySteps![0].scores['val-loss'], -direct.loss);
  });

  it('one training run scores every step count, as separate runs would', async () => {
    const both = (await buildProxy(parseProxy(`gtn:${teacher}`, { steps: [2, 6], valImages: 200 }), data)).score(cell);
    const two = (await buildProxy(parseProxy(`gtn:${teacher}`, { steps: [2], valImages: 200 }), data)).score(cell);
    assert.deepEqual(both.bySteps!.map((s) => s.steps), [2, 6]);
    assert.deepEqual(both.bySteps![0].scores, two.bySteps![0].scores);
    assert.equal(both.score, both.bySteps![1].scores['val-acc']);
    const real = await buildProxy(parseProxy('real', { steps: [3], valImages: 200, channels: 2, batch: 16 }), data);
    assert.deepEqual(real.score(cell).bySteps![0].scores, real.score(cell).bySteps![0].scores);
  });

  it("gtn --past-teacher fresh: the same steps up to the teacher's T, new generator batches after it", async () => {
    const opts = { steps: [4, 7], score: 'train-loss' as const, valImages: 100 };
    const replay = (await buildProxy(parseProxy(`gtn:${teacher}`, opts), data)).score(cell);
    const fresh = (await buildProxy(parseProxy(`gtn:${teacher}`, { ...opts, pastTeacher: 'fresh' }), data)).score(cell);
    assert.deepEqual(fresh.bySteps![0].scores, replay.bySteps![0].scores); // T = 4: identical so far
    assert.notEqual(fresh.bySteps![1].scores['train-loss'], replay.bySteps![1].scores['train-loss']);
    assert.ok(Number.isFinite(fresh.score));
    // 'replay' is the default: the same spec (and record key) as leaving it out
    assert.deepEqual(parseProxy(`gtn:${teacher}`, { pastTeacher: 'replay' }), parseProxy(`gtn:${teacher}`));
    assert.throws(() => parseProxy(`gtn:${teacher}`, { pastTeacher: 'never' as never }), /--past-teacher must be one of replay, fresh, flip, augment/);
    assert.throws(() => parseProxy('real', { pastTeacher: 'fresh' }), /--past-teacher applies to the gtn proxy only/);
  });

  it('gtn --past-teacher flip | augment: past T, the replayed images mirrored / shifted per image, the same for every cell', async () => {
    const [B, C, H, W] = [6, 3, 8, 8];
    const rng = Rng.seeded(5);
    const batches = [0, 1].map(() => ({ x: randn([B, C, H, W], rng), y: tensor(Int32Array.from({ length: B }, (_, i) => i % 10), [B]) }));
    const split = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
    const before = batches.map((b) => Float32Array.from(b.x.data as Float32Array));
    const flipped = augmentedReplay(batches, 6, 'flip', split, 0);
    assert.equal(flipped.length, 4); // steps 2..5
    const plane = H * W;
    let mirrored = 0, same = 0;
    flipped.forEach((b, k) => {
      const src = batches[(k + 2) % 2];
      assert.equal(b.y, src.y); // labels untouched
      const xs = src.x.data as Float32Array, xd = b.x.data as Float32Array;
      for (let i = 0; i < B; i++) {
        const at = (a: Float32Array, c: number, y: number, x: number) => a[(i * C + c) * plane + y * W + x];
        let isSame = true, isMirror = true;
        for (let c = 0; c < C; c++)
          for (let y = 0; y < H; y++)
            for (let x = 0; x < W; x++) {
              if (at(xd, c, y, x) !== at(xs, c, y, x)) isSame = false;
              if (at(xd, c, y, x) !== at(xs, c, y, W - 1 - x)) isMirror = false;
            }
        assert.ok(isSame || isMirror, `step ${k + 2} image ${i}: neither the image nor its mirror`);
        if (isMirror && !isSame) mirrored++;
        if (isSame) same++;
      }
    });
    assert.ok(mirrored > 0 && same > 0, `${mirrored} mirrored, ${same} kept`);
    assert.deepEqual(batches.map((b) => b.x.data), before); // the teacher's batches are left as they were
    // the same draws for the same seed (every candidate), others for another
    const again = augmentedReplay(batches, 6, 'augment', split, 0);
    assert.deepEqual(again.map((b) => b.x.data), augmentedReplay(batches, 6, 'augment', split, 0).map((b) => b.x.data));
    assert.notDeepEqual(again.map((b) => b.x.data), augmentedReplay(batches, 6, 'augment', split, 1).map((b) => b.x.data));
    // 'augment' shifts: some pixels take the black frame's value, (0 - mean) / std = -2
    assert.ok(again.some((b) => (b.x.data as Float32Array).some((v) => v === -2)));
    assert.ok(!flipped.some((b) => (b.x.data as Float32Array).some((v) => v === -2)));
    const opts = { steps: [4, 7], score: 'train-loss' as const, valImages: 0 };
    const replay = (await buildProxy(parseProxy(`gtn:${teacher}`, opts), data)).score(cell);
    const flip = (await buildProxy(parseProxy(`gtn:${teacher}`, { ...opts, pastTeacher: 'flip' }), data)).score(cell);
    assert.deepEqual(flip.bySteps![0].scores, replay.bySteps![0].scores); // T = 4: identical so far
    assert.notEqual(flip.bySteps![1].scores['train-loss'], replay.bySteps![1].scores['train-loss']);
  });

  it("gtn:A:B: the teachers' curricula and schedules in turn (a teacher with itself is its own replay)", async () => {
    const opts = { steps: [4, 8, 11], score: 'train-loss' as const, valImages: 50 };
    const one = await buildProxy(parseProxy(`gtn:${teacher}`, opts), data);
    const twice = await buildProxy(parseProxy(`gtn:${teacher}:${teacher}`, opts), data);
    const scores = (p: Awaited<ReturnType<typeof buildProxy>>) => p.score(cell).bySteps!.map((s) => [s.steps, s.scores]);
    assert.deepEqual(scores(twice), scores(one));
    assert.equal(twice.settings.teacherSteps, 8); // T = 4, twice
    assert.deepEqual(proxyRuns(parseProxy(`gtn:${teacher}:${teacher}`)), [teacher, teacher]);
    await assert.rejects(async () => buildProxy(parseProxy(`gtn:${teacher}:${teacher}`, { ...opts, pastTeacher: 'fresh' }), data), /--past-teacher fresh takes one teacher/);
    assert.throws(() => parseProxy(`gtn:${teacher}:${join(work, 'nowhere')}`), /nowhere/);
  });

  it('score kinds: higher is better, train-loss needs no validation images', async () => {
    const r = (await buildProxy(parseProxy(`gtn:${teacher}`, { steps: [4], score: 'train-loss', valImages: 0 }), data)).score(cell);
    assert.ok(r.score < 0 && Number.isFinite(r.score));
    assert.equal(r.bySteps![0].scores['val-acc'], undefined);
  });

  it('zero-cost proxies: params counts, synflow is positive, nwot is a finite log-determinant', async () => {
    const params = await buildProxy(parseProxy('params', { channels: 4, cells: 1 }));
    const spec = networkSpec(cell, { channels: 4, cells: 1 });
    assert.equal(params.score(cell).score, paramCount(initNb201(spec, [3, 32, 32], 10, Rng.seeded(0), false)));
    const synflow = (await buildProxy(parseProxy('synflow', { channels: 4, cells: 1 }))).score(cell).score;
    assert.ok(synflow > 0 && Number.isFinite(synflow));
    const nwot = (await buildProxy(parseProxy('nwot', { channels: 4, cells: 1, nwotBatch: 16 }), data)).score(cell).score;
    assert.ok(Number.isFinite(nwot) && nwot > 0);
  });

  it("meco: every module of NAS-Bench-201's PyTorch network, as its forward hooks see them", async () => {
    const spec = networkSpec(cell, { channels: 4, cells: 1 });
    const p = initNb201(spec, [3, 32, 32], 10, Rng.seeded(0), false);
    let taps = 0;
    noGrad(() => nb201Forward(spec, p, randn([2, 3, 32, 32], Rng.seeded(1)), undefined, { module: () => taps++ }));
    // stem 3 (conv, BN, Sequential); a cell 19 (conv edges 5 each: ReLU, conv, BN, Sequential, ReLUConvBN; skip 1;
    // pool 2; the cell 1; none's zeros left out); a reduction 14 (two ReLUConvBNs, avg-pool + conv1x1 + Sequential,
    // the block); lastact 3 (BN, ReLU, Sequential)
    assert.equal(taps, 3 + 3 * 19 + 2 * 14 + 3);
    const meco = (c: typeof cell, channels = 4) => buildProxy(parseProxy('meco', { channels, cells: 1, nwotBatch: 8 }), data).then((m) => m.score(c).score);
    const score = await meco(cell);
    assert.ok(score > 0 && score < taps, `each module adds a correlation matrix's smallest eigenvalue, in [0, 1]: ${score}`);
    // With every edge 'none' only the stem's three outputs carry signal (the rest is zeros, whose correlations are
    // 0), and batch norm, per channel, keeps the conv's correlations: meco is 3 x the stem conv's smallest eigenvalue.
    const none = parseCell('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|');
    const s = networkSpec(none, { channels: 6, cells: 1 });
    const x = randomBatch(data.train, 8, Rng.seeded(0).fork('meco')).x;
    const stem = noGrad(() => conv(initNb201(s, [3, 32, 32], 10, Rng.seeded(0), false).stem.conv, x, { padding: 1 }));
    const lmin = symmetricEigenvalues(rowCorrelation(stem.data.subarray(0, 6 * 1024), 6, 1024), 6)[0];
    assert.ok(lmin > 0.01);
    // (to float32: batch norm rescales in float32)
    assert.ok(Math.abs((await meco(none, 6)) - 3 * lmin) < 1e-6);
  });

  it('--reduction pool: every proxy scores the network with parameter-free reductions; resnet is the default and its key', async () => {
    assert.deepEqual(parseProxy(`gtn:${teacher}`, { reduction: 'resnet' }), parseProxy(`gtn:${teacher}`), 'resnet: the same key as before the option');
    assert.throws(() => parseProxy('params', { reduction: 'conv' as never }), /--reduction must be one of resnet, pool; got 'conv'/);
    const params = (reduction?: 'pool') => buildProxy(parseProxy('params', { channels: 4, cells: 1, reduction })).then((p) => p.score(cell).score);
    assert.equal(await params('pool'), paramCount(initNb201({ ...networkSpec(cell, { channels: 4, cells: 1 }), reduction: 'pool' }, [3, 32, 32], 10, Rng.seeded(0), false)));
    assert.ok((await params('pool')) < (await params()));
    const opts = { steps: [4], score: 'train-loss' as const, valImages: 0 };
    const resnet = (await buildProxy(parseProxy(`gtn:${teacher}`, opts), data)).score(cell).score;
    const pooled = (await buildProxy(parseProxy(`gtn:${teacher}`, { ...opts, reduction: 'pool' }), data)).score(cell).score;
    assert.ok(Number.isFinite(pooled) && pooled !== resnet, `pool ${pooled}, resnet ${resnet}`);
    const member = parseProxy(`gtn:${teacher},reduction=pool+params`, { channels: 4, cells: 1 });
    assert.deepEqual(member.parts!.map((p) => p.reduction), ['pool', undefined]);
  });

  it('bad proxy names and options are named in the error', () => {
    assert.throws(() => parseProxy('gtn'), /needs the teacher's run folder/);
    assert.throws(() => parseProxy('zen'), /--proxy must be one of/);
    assert.throws(() => parseProxy('params', { score: 'speed' as never }), /--score must be one of/);
    assert.throws(() => parseProxy(`gtn:${join(work, 'nothing')}`), /is not a run folder/);
    assert.throws(() => parseProxy('params+'), /no empty member/);
    assert.throws(() => parseProxy('params,cells=2'), /are for the members of a vote/);
    assert.throws(() => parseProxy('params,depth=2+nwot'), /'depth=2' is not an option of a vote member/);
    assert.throws(() => parseProxy('params,cells=two+nwot'), /cells must be a number, got 'two'/);
  });

  it('vote: each member with its own options over the shared ones, scored on the cell in order', async () => {
    const spec = parseProxy(`gtn:${teacher},channels=2,steps=3+params,cells=2+nwot`, { channels: 4, cells: 1, valImages: 0, score: 'train-loss', nwotBatch: 16 });
    assert.equal(spec.kind, 'vote');
    assert.deepEqual(spec.parts!.map((p) => [p.kind, p.channels, p.cells, p.steps]), [['gtn', 2, 1, [3]], ['params', 4, 2, [128]], ['nwot', 4, 1, [128]]]);
    const vote = await buildProxy(spec, data);
    const r = vote.score(cell);
    assert.ok(Number.isNaN(r.score), "a vote's own score is relative to other cells");
    const alone = await Promise.all(spec.parts!.map((p) => buildProxy(p, data)));
    assert.deepEqual(r.parts, alone.map((p) => p.score(cell).score));
  });
});
