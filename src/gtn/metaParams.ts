// Initial meta-parameters for a teacher.
import { Rng, Tensor, full, randn, tensor, treeUnflatten, zeros, type Tree } from '../tensor/index.js';
import { GtnError } from '../errors.js';
import { namedLeaves } from './checkpointFile.js';
import { initGenerator } from './generator.js';
import { noiseShape } from './curriculum.js';
import type { MetaParams, UnrollConfig } from './unroll.js';

export interface MetaInit {
  /** Initial inner learning rate (paper: 0.02) and momentum (0.5). */
  innerLr: number;
  innerMomentum: number;
}

/** A constant inner schedule as meta-parameters (what a plain SGD + momentum learner of T steps uses). */
export function constantSchedule(steps: number, lr: number, momentum: number): MetaParams {
  return { logLr: full([steps], Math.log(lr)), momentumLogit: full([steps], Math.log(momentum / (1 - momentum))) };
}

export function initMetaParams(cfg: UnrollConfig, init: MetaInit, rng: Rng): MetaParams {
  const T = cfg.steps;
  const meta = constantSchedule(T, init.innerLr, init.innerMomentum);
  if (cfg.teacher === 'gtn') {
    meta.generator = initGenerator(cfg.generator, rng.fork('generator'));
    const shape = noiseShape(cfg.curriculum, T, cfg.batch, cfg.generator.noiseDim);
    if (shape) meta.noise = randn(shape, rng.fork('noise'));
  } else if (cfg.teacher === 'distill') {
    meta.pixels = randn([T, cfg.batch, ...cfg.imageShape], rng.fork('pixels'));
  }
  if (cfg.softLabels) {
    // Start close to the fixed one-hot labels: logit 0 everywhere, +log(9 * (classes - 1)) on the true class
    // puts 90% of the mass there.
    const logits = zeros([cfg.batch, cfg.classes]).data as Float32Array;
    for (let i = 0; i < cfg.batch; i++) logits[i * cfg.classes + (i % cfg.classes)] = Math.log(9 * (cfg.classes - 1));
    meta.labelLogits = tensor(logits, [cfg.batch, cfg.classes]);
  }
  return meta;
}

/** `t` with its first axis (the inner steps) repeated cyclically to length `steps`. */
export function repeatSteps(t: Tensor, steps: number): Tensor {
  const src = t.data as Float32Array;
  const row = t.size / t.shape[0];
  const out = new Float32Array(steps * row);
  for (let s = 0; s < steps; s++) out.set(src.subarray((s % t.shape[0]) * row, ((s % t.shape[0]) + 1) * row), s * row);
  return tensor(out, [steps, ...t.shape.slice(1)]);
}

// The meta-parameters indexed by inner step: a warm start repeats them when the new run has more steps.
const PER_STEP = new Set(['logLr', 'momentumLogit', 'noise']);

/**
 * A warm start: `source` (another run's meta-parameters) in the layout of `fresh` (this run's initial ones).
 * Every tensor must match in shape, except the per-step ones (schedule, curriculum), which are repeated
 * cyclically when this run's T is a multiple of the source's: a teacher of T steps becomes one of kT whose
 * learners see exactly what the replaying proxy shows them, and meta-training goes on from there.
 */
export function warmStartMetaParams(fresh: MetaParams, source: MetaParams, sourceName: string): MetaParams {
  const src = new Map(namedLeaves(source as Tree));
  const mine = namedLeaves(fresh as Tree);
  const names = new Set(mine.map(([n]) => n));
  const extra = [...src.keys()].filter((k) => !names.has(k));
  if (extra.length) throw new GtnError(`--init-from ${sourceName}: its teacher has parameters this run has not (${extra.join(', ')})`);
  const out = mine.map(([name, t]) => {
    const s = src.get(name);
    if (!s) throw new GtnError(`--init-from ${sourceName}: its teacher has no '${name}' (different teacher kind, curriculum or labels)`);
    let v = s;
    if (PER_STEP.has(name.split('.')[0]) && s.shape[0] !== t.shape[0]) {
      if (t.shape[0] % s.shape[0] !== 0) throw new GtnError(`--init-from ${sourceName}: this run's ${t.shape[0]} inner steps are not a multiple of its ${s.shape[0]}`);
      v = repeatSteps(s, t.shape[0]);
    }
    if (v.shape.join() !== t.shape.join()) throw new GtnError(`--init-from ${sourceName}: '${name}' is [${s.shape}] there and [${t.shape}] here (generator size, batch or noise size differ)`);
    return v;
  });
  return treeUnflatten(fresh as Tree, out) as MetaParams;
}
