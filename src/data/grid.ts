// A PNG contact sheet of a split: one row per class, the first `perClass` images of that class, upscaled
// with nearest neighbour so a person can look at it.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import type { Split } from './splits.js';

export interface GridOptions {
  perClass?: number;
  /** Upscaling factor per pixel (default 3). */
  scale?: number;
  /** Gap between cells in output pixels (default 2). */
  gap?: number;
}

export function renderGrid(split: Split, opts: GridOptions = {}): Buffer {
  const perClass = opts.perClass ?? 10;
  const scale = opts.scale ?? 3;
  const gap = opts.gap ?? 2;
  const [C, H, W] = split.shape;
  const plane = H * W;
  const cellW = W * scale;
  const cellH = H * scale;
  const width = perClass * (cellW + gap) + gap;
  const height = split.classes * (cellH + gap) + gap;
  const png = new PNG({ width, height });
  png.data.fill(40); // dark grey background, opaque after the alpha pass below
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  const seen = new Array<number>(split.classes).fill(0);
  for (let n = 0; n < split.count; n++) {
    const cls = split.y[n]!;
    const col = seen[cls]!;
    if (col >= perClass) continue;
    seen[cls] = col + 1;
    const ox = gap + col * (cellW + gap);
    const oy = gap + cls * (cellH + gap);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const rgb = [0, 0, 0];
        for (let k = 0; k < 3; k++) {
          const c = C === 1 ? 0 : k;
          const v = split.x[(n * C + c) * plane + y * W + x]!;
          rgb[k] = Math.max(0, Math.min(255, Math.round((v * split.std[c]! + split.mean[c]!) * 255)));
        }
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            const d = ((oy + y * scale + sy) * width + ox + x * scale + sx) * 4;
            png.data[d] = rgb[0]!;
            png.data[d + 1] = rgb[1]!;
            png.data[d + 2] = rgb[2]!;
          }
        }
      }
    }
  }
  return PNG.sync.write(png, { colorType: 2 });
}

export function writeGrid(split: Split, file: string, opts: GridOptions = {}): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, renderGrid(split, opts));
}
