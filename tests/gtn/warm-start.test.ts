// Warm starts (`gtn train --init-from RUN`): another teacher's meta-parameters in this run's layout, its per-step
// schedule and curriculum repeated when this run has k times its inner steps; mismatches named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as T from '../../src/tensor/index.js';
import { initMetaParams, repeatSteps, warmStartMetaParams } from '../../src/gtn/metaParams.js';
import type { UnrollConfig } from '../../src/gtn/unroll.js';
import { tinyUnroll } from '../helpers/gtnFixture.js';

const init = { innerLr: 0.1, innerMomentum: 0.5 };
const meta = (cfg: UnrollConfig, seed: number) => initMetaParams(cfg, init, T.Rng.seeded(seed));
const values = (t: T.Tensor) => Array.from(t.data as Float32Array);

describe('warm start', () => {
  it('repeatSteps repeats the first axis cyclically', () => {
    const t = T.tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    const r = repeatSteps(t, 7);
    assert.deepEqual(r.shape, [7, 2]);
    assert.deepEqual(values(r), [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2]);
  });

  it('copies the generator and repeats schedule and curriculum to k times the steps', () => {
    const src = meta(tinyUnroll, 1);
    src.logLr = T.tensor(Float32Array.from([-1, -2]), [2]);
    const cfg = { ...tinyUnroll, steps: 6 };
    const fresh = meta(cfg, 2);
    const warm = warmStartMetaParams(fresh, src, 'runs/src');
    assert.deepEqual(values(warm.logLr), [-1, -2, -1, -2, -1, -2]);
    assert.deepEqual(warm.momentumLogit.shape, [6]);
    const noise = warm.noise!;
    assert.deepEqual(noise.shape, [6, tinyUnroll.batch, tinyUnroll.generator.noiseDim]);
    const row = (t: T.Tensor, i: number) => values(t).slice(i * t.shape[1] * t.shape[2], (i + 1) * t.shape[1] * t.shape[2]);
    for (let s = 0; s < 6; s++) assert.deepEqual(row(noise, s), row(src.noise!, s % 2));
    const srcLeaves = T.treeLeaves(src.generator!);
    const warmLeaves = T.treeLeaves(warm.generator!);
    const freshLeaves = T.treeLeaves(fresh.generator!);
    assert.equal(warmLeaves.length, srcLeaves.length);
    warmLeaves.forEach((l, i) => assert.deepEqual(values(l), values(srcLeaves[i])));
    assert.notDeepEqual(values(warmLeaves[0]), values(freshLeaves[0]), 'the fresh initialisation is replaced');
  });

  it('names what does not fit: steps that are not a multiple, another generator size, another teacher kind', () => {
    const src = meta(tinyUnroll, 1);
    assert.throws(() => warmStartMetaParams(meta({ ...tinyUnroll, steps: 3 }, 2), src, 'runs/src'), /--init-from runs\/src: this run's 3 inner steps are not a multiple of its 2/);
    const wider = { ...tinyUnroll, generator: { ...tinyUnroll.generator, hidden: 7 } };
    assert.throws(() => warmStartMetaParams(meta(wider, 2), src, 'runs/src'), /--init-from runs\/src: 'generator\.[\w.]+' is \[[\d,]+\] there and \[[\d,]+\] here/);
    const distill = meta({ ...tinyUnroll, teacher: 'distill' }, 2);
    assert.throws(() => warmStartMetaParams(distill, src, 'runs/src'), /--init-from runs\/src: its teacher has parameters this run has not \(generator/);
  });
});
