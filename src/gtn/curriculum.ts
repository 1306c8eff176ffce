// Curricula: which generator input z the learner's data comes from at inner step t (shared/reference/GTN.md).
import { Rng, Tensor, indexSelect, randn, reshape, slice } from '../tensor/index.js';

export type Curriculum = 'none' | 'all-shuffled' | 'shuffled-batch' | 'full';
export const CURRICULA: readonly Curriculum[] = ['none', 'all-shuffled', 'shuffled-batch', 'full'];

/** Shape of the learned noise tensor, or null when the curriculum learns none. */
export function noiseShape(c: Curriculum, steps: number, batch: number, noiseDim: number): number[] | null {
  switch (c) {
    case 'none':
      return null;
    case 'all-shuffled':
      return [steps * batch, noiseDim];
    case 'shuffled-batch':
    case 'full':
      return [steps, batch, noiseDim];
  }
}

/** Fixed, class-balanced labels: slot i has label i mod classes. */
export function balancedLabels(batch: number, classes: number): Int32Array {
  return Int32Array.from({ length: batch }, (_, i) => i % classes);
}

export interface StepInput {
  z: Tensor; // [B, noiseDim]
  labels: Int32Array; // [B]
}

/**
 * The generator input at step t. `rng` supplies this outer iteration's random choices (fresh noise for
 * 'none', draws for the shuffled curricula); the same rng gives the same choices.
 */
export function stepInput(c: Curriculum, noise: Tensor | undefined, t: number, batch: number, noiseDim: number, classes: number, rng: Rng): StepInput {
  const r = rng.fork(t);
  switch (c) {
    case 'none': {
      const labels = Int32Array.from({ length: batch }, () => r.int(classes));
      return { z: randn([batch, noiseDim], r), labels };
    }
    case 'all-shuffled': {
      const pool = noise!.shape[0];
      const idx = Int32Array.from({ length: batch }, () => r.int(pool));
      return { z: indexSelect(noise!, 0, idx), labels: Int32Array.from(idx, (i) => i % classes) };
    }
    case 'shuffled-batch': {
      const j = r.int(noise!.shape[0]);
      return { z: reshape(slice(noise!, [j, 0, 0], [1, batch, noiseDim]), [batch, noiseDim]), labels: balancedLabels(batch, classes) };
    }
    case 'full':
      return { z: reshape(slice(noise!, [t, 0, 0], [1, batch, noiseDim]), [batch, noiseDim]), labels: balancedLabels(batch, classes) };
  }
}
