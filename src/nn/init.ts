// Parameter initialisation.
import { Rng, Tensor, randn } from '../tensor/index.js';

/** Kaiming-normal (He) init for a layer followed by LeakyReLU(slope): std = gain / sqrt(fanIn). */
export function kaimingNormal(shape: readonly number[], fanIn: number, rng: Rng, slope = 0): Tensor {
  const gain = Math.sqrt(2 / (1 + slope * slope));
  return randn(shape, rng, gain / Math.sqrt(fanIn));
}
