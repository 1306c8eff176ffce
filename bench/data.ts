// Load-time benchmark of the real datasets: a cold load (decode the sources, verify, write the cache) into a
// fresh temporary cache directory, then a warm load (read and verify the cache), then building the three
// normalised splits. Prints nothing; the bench runner formats the rows.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATASET_NAMES, availability, getDataset, loadRaw, splitRaw } from '../src/data/index.js';

export interface DataBenchRow {
  name: string;
  seconds: number;
  dataset: string;
  phase: 'cold' | 'warm' | 'splits';
  /** Bytes of decoded uint8 pixels and labels. */
  bytes: number;
}

export async function benchData(): Promise<DataBenchRow[]> {
  const rows: DataBenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'gtn-bench-data-'));
  try {
    for (const name of DATASET_NAMES) {
      const spec = getDataset(name);
      if (!availability(spec).available) continue;
      const time = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => {
        const t0 = performance.now();
        const r = await f();
        return [r, (performance.now() - t0) / 1000];
      };
      const [cold, coldS] = await time(() => loadRaw(name, { cacheDir: dir }));
      const bytes = cold.data.train.x.length + cold.data.train.y.length + cold.data.test.x.length + cold.data.test.y.length;
      rows.push({ name: `data/${name}/cold`, seconds: coldS, dataset: name, phase: 'cold', bytes });
      const [warm, warmS] = await time(() => loadRaw(name, { cacheDir: dir }));
      if (!warm.fromCache) throw new Error(`benchData: ${name} warm load missed the cache (${warm.cacheNote ?? 'no reason'})`);
      rows.push({ name: `data/${name}/warm`, seconds: warmS, dataset: name, phase: 'warm', bytes });
      const [, splitS] = await time(() => splitRaw(spec, warm.data));
      rows.push({ name: `data/${name}/splits`, seconds: splitS, dataset: name, phase: 'splits', bytes });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
