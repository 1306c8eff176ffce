// The teacher's synthetic data as numbers and pictures: the batch a learner sees at each inner step.
import { Rng, noGrad, tensor } from '../tensor/index.js';
import { renderGrid } from '../data/grid.js';
import { DATASETS } from '../data/registry.js';
import type { Split } from '../data/splits.js';
import type { TrainConfig } from './config.js';
import { stepInput } from './curriculum.js';
import { datasetShape, unrollConfig } from './experiment.js';
import { generate } from './generator.js';
import type { MetaParams } from './unroll.js';

export interface SyntheticBatch {
  x: Float32Array; // [B, C, H, W], normalised like the real data
  y: Int32Array;
}

/**
 * The synthetic batch of inner step t (for 'real' teachers there is none). `fresh`: a GTN's generator on fresh
 * noise and random labels (the 'none' curriculum's draw for step t) instead of its learned curriculum.
 */
export function syntheticBatch(cfg: TrainConfig, meta: MetaParams, t: number, seed = 0, fresh = false): SyntheticBatch | null {
  const u = unrollConfig(cfg);
  return noGrad(() => {
    if (cfg.teacher === 'gtn') {
      const s = stepInput(fresh ? 'none' : u.curriculum, meta.noise, t, u.batch, u.generator.noiseDim, u.classes, Rng.seeded(seed));
      const x = generate(u.generator, meta.generator!, s.z, tensor(s.labels, [u.batch]));
      return { x: x.data as Float32Array, y: s.labels };
    }
    if (cfg.teacher === 'distill') {
      const [, b, c, h, w] = meta.pixels!.shape;
      const img = b * c * h * w;
      return { x: (meta.pixels!.data as Float32Array).slice(t * img, (t + 1) * img), y: Int32Array.from({ length: b }, (_, i) => i % u.classes) };
    }
    return null;
  });
}

/** A batch as a Split (what the grid writer and IDX export take). */
export function batchAsSplit(cfg: TrainConfig, b: SyntheticBatch): Split {
  const spec = DATASETS[cfg.dataset];
  const { imageShape, classes } = datasetShape(cfg.dataset);
  return { x: b.x, y: b.y, count: b.y.length, shape: imageShape, classes, mean: spec.mean, std: spec.std };
}

/** PNG grid of the synthetic batch at step t: one row per class. */
export function syntheticGrid(cfg: TrainConfig, meta: MetaParams, t: number): Buffer | null {
  const b = syntheticBatch(cfg, meta, t);
  return b && renderGrid(batchAsSplit(cfg, b), { perClass: Math.min(12, Math.ceil(b.y.length / 10)) });
}
