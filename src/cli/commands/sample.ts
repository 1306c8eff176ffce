// `gtn sample`: the teacher's curriculum as PNG grids (one per inner step) and as an IDX dataset.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { loadRunState } from '../../gtn/runState.js';
import { readRunConfig, runFiles } from '../../gtn/trainer.js';
import { batchAsSplit, syntheticBatch } from '../../gtn/samples.js';
import { renderGrid } from '../../data/grid.js';
import { encodeIdx } from '../../data/idxWrite.js';
import { DATASETS } from '../../data/registry.js';
import { GtnError } from '../../errors.js';

export function registerSampleCommand(program: Command): void {
  program
    .command('sample <run>')
    .description("write the teacher's synthetic training data: a PNG grid per inner step and IDX files")
    .requiredOption('--out <dir>', 'output folder')
    .option('--checkpoint <which>', 'best | last', 'best')
    .action((run: string, f: { out: string; checkpoint: string }) => {
      const cfg = readRunConfig(run);
      if (cfg.teacher === 'real') throw new GtnError(`${run} is a real-data baseline: it has no synthetic data to sample`);
      const files = runFiles(run);
      const file = f.checkpoint === 'last' || !existsSync(files.best) ? files.last : files.best;
      const state = loadRunState(file);
      const spec = DATASETS[cfg.dataset];
      const images: Uint8Array[] = [];
      const labels: number[] = [];
      for (let t = 0; t < cfg.steps; t++) {
        const b = syntheticBatch(cfg, state.meta, t)!;
        const split = batchAsSplit(cfg, b);
        writeFileAtomic(join(f.out, `step-${String(t + 1).padStart(3, '0')}.png`), renderGrid(split, { perClass: Math.ceil(b.y.length / split.classes) }));
        // Back to 8-bit pixels with the dataset's normalisation undone (values outside [0, 255] are clipped).
        const [C, H, W] = split.shape;
        const u8 = new Uint8Array(b.x.length);
        for (let i = 0; i < b.x.length; i++) {
          const c = Math.floor(i / (H * W)) % C;
          u8[i] = Math.max(0, Math.min(255, Math.round((b.x[i] * spec.std[c] + spec.mean[c]) * 255)));
        }
        images.push(u8);
        labels.push(...b.y);
      }
      const [C, H, W] = spec.shape;
      const n = labels.length;
      const pixels = new Uint8Array(images.reduce((s, a) => s + a.length, 0));
      let off = 0;
      for (const a of images) {
        pixels.set(a, off);
        off += a.length;
      }
      writeFileAtomic(join(f.out, 'images-idx-ubyte'), encodeIdx(pixels, C === 1 ? [n, H, W] : [n, C, H, W]));
      writeFileAtomic(join(f.out, 'labels-idx1-ubyte'), encodeIdx(Uint8Array.from(labels), [n]));
      console.log(`wrote ${cfg.steps} PNG grids and ${n} images (IDX) to ${f.out} from ${file}`);
    });
}
