// Initial meta-parameters for a teacher.
import { Rng, full, randn, tensor, zeros } from '../tensor/index.js';
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
