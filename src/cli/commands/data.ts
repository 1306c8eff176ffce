// `gtn data`: which real datasets are available, where they come from, their splits; optional sample grids.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { availability, cachePath, DATASET_NAMES, getDataset, loadRaw, splitRaw, writeGrid, type DatasetSpec } from '../../data/index.js';

interface DataOptions {
  json?: boolean;
  grid?: string;
  perClass: number;
  scale: number;
  load?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function registerDataCommand(program: Command): void {
  program
    .command('data')
    .description('list the real datasets (MNIST, Fashion-MNIST, CIFAR-10): origin, availability, split sizes')
    .argument('[names...]', `datasets to show (${DATASET_NAMES.join(', ')}; default all)`)
    .option('--json', 'print one JSON object per dataset per line, and nothing else, on stdout')
    .option('--grid <dir>', 'write <dir>/<name>-grid.png: one row per class of validation images')
    .option('--per-class <n>', 'images per class in the grid', positiveInt, 10)
    .option('--scale <n>', 'grid upscaling factor', positiveInt, 3)
    .option('--load', 'decode (or read the cache), verify checksums and report the load time')
    .action(async (names: string[], opts: DataOptions) => {
      const specs = (names.length ? names : DATASET_NAMES).map((n) => getDataset(n));
      // With --json, stdout carries only the JSON lines; progress goes to stderr.
      const say = opts.json ? (s: string) => console.error(s) : (s: string) => console.log(s);
      if (opts.json) {
        for (const spec of specs) console.log(JSON.stringify(summary(spec)));
      } else {
        printTable(specs);
      }
      if (!opts.load && !opts.grid) return;
      for (const spec of specs) {
        if (!availability(spec).available) continue;
        const t0 = performance.now();
        const raw = await loadRaw(spec.name);
        const secs = (performance.now() - t0) / 1000;
        say(`${spec.name}: loaded ${raw.fromCache ? 'from cache' : 'by decoding the sources'} in ${secs.toFixed(2)} s, checksums ok (cache ${raw.cacheFile ?? 'off'})`);
        if (raw.cacheNote) console.error(`${spec.name}: ${raw.cacheNote}`);
        if (opts.grid) {
          const file = join(opts.grid, `${spec.name}-grid.png`);
          writeGrid(splitRaw(spec, raw.data, ['validation']).validation!, file, { perClass: opts.perClass, scale: opts.scale });
          say(`${spec.name}: wrote ${file} (rows: ${spec.classNames.join(', ')})`);
        }
      }
    });
}

function summary(spec: DatasetSpec): Record<string, unknown> {
  return {
    name: spec.name,
    available: availability(spec).available,
    train: spec.sizes.train,
    validation: spec.sizes.validation,
    test: spec.sizes.test,
    shape: spec.shape,
    classes: spec.classNames.length,
  };
}

function printTable(specs: DatasetSpec[]): void {
  const rows = [['dataset', 'available', 'train', 'validation', 'test', 'shape', 'classes', 'cached']];
  const notes: string[] = [];
  for (const spec of specs) {
    const a = availability(spec);
    rows.push([
      spec.name, a.available ? 'yes' : 'no', String(spec.sizes.train), String(spec.sizes.validation), String(spec.sizes.test),
      spec.shape.join('x'), String(spec.classNames.length), existsSync(cachePath(spec.name)) ? 'yes' : 'no',
    ]);
    notes.push(`  ${spec.name}: ${spec.origin}; ${a.available ? a.dir : a.reason}`);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  console.log('sources:');
  for (const n of notes) console.log(n);
  console.log(`cache: ${cachePath('<name>').replace('<name>.', '*.')}`);
}
