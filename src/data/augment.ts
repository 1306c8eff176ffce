// CIFAR-style augmentation applied in place to a float32 NCHW batch: random crop from a zero-padded image
// (pad 4) and a horizontal flip, as torchvision's RandomCrop(32, padding=4) + RandomHorizontalFlip.
import type { Rng } from '../tensor/rng.js';
import type { Batch } from './sampler.js';
import type { Split } from './splits.js';

export type Augment = (batch: Batch, rng: Rng) => void;

/** Per-image parameters: the crop window's shift from centre (each in [-pad, pad]) and whether to mirror. */
export interface CropFlip {
  dx: number;
  dy: number;
  flip: boolean;
}

/**
 * The padding value per channel, in normalised units: torchvision pads the raw image with 0 (black) before
 * normalising, so the pad is (0 - mean) / std, not 0.
 */
export function blackFill(split: Pick<Split, 'mean' | 'std'>): number[] {
  return split.mean.map((m, c) => -m / split.std[c]!);
}

/**
 * Shifts then mirrors image `i` of the batch in place:
 * out[c][y][x] = in[c][y + dy][x' + dx] with x' = flip ? W-1-x : x, or fill[c] outside the image.
 * `scratch` must hold at least H*W floats.
 */
export function applyCropFlip(batch: Batch, i: number, p: CropFlip, fill: number[], scratch: Float32Array): void {
  const [, C, H, W] = batch.shape;
  const x = batch.x;
  const plane = H * W;
  for (let c = 0; c < C; c++) {
    const base = (i * C + c) * plane;
    const f = fill[c] ?? 0;
    for (let y = 0; y < H; y++) {
      const sy = y + p.dy;
      const row = y * W;
      if (sy < 0 || sy >= H) {
        scratch.fill(f, row, row + W);
        continue;
      }
      const srow = base + sy * W;
      for (let xx = 0; xx < W; xx++) {
        const sx = (p.flip ? W - 1 - xx : xx) + p.dx;
        scratch[row + xx] = sx >= 0 && sx < W ? x[srow + sx]! : f;
      }
    }
    x.set(scratch.subarray(0, plane), base);
  }
}

/** Random crop (shift in [-pad, pad] both ways) and a coin-flip mirror, drawn per image. */
export function randomCropFlip(opts: { pad?: number; flip?: boolean; fill: number[] }): Augment {
  const pad = opts.pad ?? 4;
  const doFlip = opts.flip ?? true;
  let scratch = new Float32Array(0);
  return (batch, rng) => {
    const [B, , H, W] = batch.shape;
    if (scratch.length < H * W) scratch = new Float32Array(H * W);
    for (let i = 0; i < B; i++) {
      const dx = rng.int(2 * pad + 1) - pad;
      const dy = rng.int(2 * pad + 1) - pad;
      const flip = doFlip && (rng.u32() & 1) === 1;
      if (dx !== 0 || dy !== 0 || flip) applyCropFlip(batch, i, { dx, dy, flip }, opts.fill, scratch);
    }
  };
}

/** The paper's CIFAR-10 augmentation for a split: pad 4 with black, random crop, horizontal flip. */
export function cifarAugment(split: Pick<Split, 'mean' | 'std'>): Augment {
  return randomCropFlip({ pad: 4, flip: true, fill: blackFill(split) });
}
