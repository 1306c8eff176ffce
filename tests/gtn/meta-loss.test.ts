// How the meta-loss combines the real-data losses: final + mean (or sum) of the intermediate ones, and the
// `gtn train --set` override that reaches every setting of a run's config.json.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { initLearner } from '../../src/models/index.js';
import { initMetaParams } from '../../src/gtn/metaParams.js';
import { unroll, type UnrollConfig } from '../../src/gtn/unroll.js';
import { tinyBatch, tinyUnroll } from '../helpers/gtnFixture.js';

const cfg: UnrollConfig = { ...tinyUnroll, steps: 3, learner: { kind: 'mlp', hidden: [5] } };
const batch = tinyBatch;
const data = { intermediate: [batch(1), batch(2), batch(3)], final: batch(4) };

describe('meta-loss weighting', () => {
  it('sum adds every intermediate loss at weight 1, mean at weight 1/k', () => {
    const meta = initMetaParams(cfg, { innerLr: 0.1, innerMomentum: 0.5 }, T.Rng.seeded(5));
    const run = (w: 'mean' | 'sum') =>
      unroll({ ...cfg, intermediateWeighting: w }, meta, initLearner(cfg.learner, cfg.imageShape, cfg.classes, T.Rng.seeded(9)), data, T.Rng.seeded(4));
    const mean = run('mean');
    const sum = run('sum');
    const inter = sum.intermediate.map((t) => t.item());
    assert.equal(inter.length, 3);
    const total = inter.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum.metaLoss.item() - (sum.finalLoss.item() + total)) < 1e-5);
    assert.ok(Math.abs(mean.metaLoss.item() - (mean.finalLoss.item() + total / 3)) < 1e-5);
    assert.ok(Math.abs(run(undefined as unknown as 'mean').metaLoss.item() - mean.metaLoss.item()) < 1e-7, 'mean is the default');
  });
});

const root = new URL('../../../', import.meta.url).pathname; // dist/tests/gtn -> repo root
const bin = join(root, 'bin', 'gtn.js');
const work = mkdtempSync(join(tmpdir(), 'gtn-set-'));
after(() => rmSync(work, { recursive: true, force: true }));
const gtn = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, GTN_CACHE_DIR: join(work, 'cache') } });

describe('gtn train --set', () => {
  it('overrides nested settings and records them in config.json', () => {
    const out = join(work, 'run');
    const r = gtn('train', '--preset', 'tiny', '--iterations', '1', '--quiet', '--out', out, '--inner-lr', '0.05', '--set', 'intermediateWeighting=mean', '--set', 'generator.hidden=24', '--set', 'learner.widths=[3,5,7]');
    assert.equal(r.status, 0, r.stderr);
    const c = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(c.innerLr, 0.05);
    assert.equal(c.intermediateWeighting, 'mean');
    assert.equal((c.generator as { hidden: number }).hidden, 24);
    assert.deepEqual((c.learner as { widths: number[] }).widths, [3, 5, 7]);
  });

  it('rejects unknown settings and bad values with a message naming them', () => {
    const unknown = gtn('train', '--preset', 'tiny', '--out', join(work, 'x'), '--set', 'generator.hiden=24');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown setting 'generator\.hiden'/);
    assert.doesNotMatch(unknown.stderr, /at .*\.js:\d+/, 'no stack trace');
    const bad = gtn('train', '--preset', 'tiny', '--out', join(work, 'y'), '--set', 'intermediateWeighting=median');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /intermediateWeighting/);
    const malformed = gtn('train', '--preset', 'tiny', '--out', join(work, 'z'), '--set', 'steps');
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /--set expects key=value/);
  });
});
