// Loading a dataset: the disk cache when it is fresh, else decode the sources, verify, and write the cache.
import { join } from 'node:path';
import { GtnError } from '../errors.js';
import { cacheDir, cachePath, hashFile, readCache, stampSources, writeCache } from './cache.js';
import { availability, getDataset, type DatasetName, type DatasetSpec, type SplitName } from './registry.js';
import type { RawDataset } from './sources.js';
import { carveValidation, makeSplit, type Split } from './splits.js';
import { expectDigest, expectLabelCounts } from './verify.js';

export interface LoadOptions {
  /** Where the source files are (default: the dataset's package or system directory). */
  sourceDir?: string;
  /** Cache directory (default: $GTN_CACHE_DIR, else ~/.cache/gtn). */
  cacheDir?: string;
  /** false: always decode the sources and do not write a cache. */
  cache?: boolean;
}

export interface RawLoad {
  spec: DatasetSpec;
  data: RawDataset;
  fromCache: boolean;
  cacheFile?: string;
  /** Why the cache was not used or not written; loading still succeeded. */
  cacheNote?: string;
}

export async function loadRaw(name: DatasetName | string, opts: LoadOptions = {}): Promise<RawLoad> {
  const spec = getDataset(name);
  const avail = availability(spec, opts.sourceDir);
  if (!avail.available) throw new GtnError(`${spec.title} is not available: ${avail.reason}`);
  const dir = avail.dir!;
  const files = spec.files.map((f) => join(dir, f));
  const useCache = opts.cache !== false;
  const file = useCache ? cachePath(spec.name, opts.cacheDir ?? cacheDir()) : undefined;
  let note: string | undefined;
  if (file) {
    const hit = readCache(file, spec.name, stampSources(files));
    if ('data' in hit) {
      // A cache that does not match the pinned digests is ignored and rebuilt, not trusted.
      try {
        verify(spec, hit.data, file);
        return { spec, data: hit.data, fromCache: true, cacheFile: file };
      } catch (err) {
        note = `cache not used: ${(err as Error).message}`;
      }
    } else if (hit.miss !== 'no cache file') note = `cache not used: ${hit.miss}`;
  }
  const data = spec.decode(dir);
  verify(spec, data, dir);
  if (file) {
    try {
      const stamps = stampSources(files).map((s) => ({ ...s, sha256: hashFile(s.file) }));
      writeCache(file, spec.name, stamps, data);
    } catch (err) {
      note = `cache not written: ${(err as Error).message}`;
    }
  }
  return { spec, data, fromCache: false, cacheFile: file, cacheNote: note };
}

function verify(spec: DatasetSpec, d: RawDataset, where: string): void {
  const what = (part: string): string => `${spec.name} ${part} (${where})`;
  expectLabelCounts(d.train.y, spec.labelCounts.train, what('train labels'));
  expectLabelCounts(d.test.y, spec.labelCounts.test, what('test labels'));
  expectDigest(d.train.y, spec.digests.trainY, what('train labels'));
  expectDigest(d.test.y, spec.digests.testY, what('test labels'));
  expectDigest(d.train.x, spec.digests.trainX, what('train images'));
  expectDigest(d.test.x, spec.digests.testX, what('test images'));
}

export type Dataset = { name: DatasetName; spec: DatasetSpec } & Record<SplitName, Split>;

/** Builds the requested splits (all three by default) from raw data. */
export function splitRaw(spec: DatasetSpec, raw: RawDataset, which: SplitName[] = ['train', 'validation', 'test']): Partial<Record<SplitName, Split>> {
  const { train, validation } = carveValidation(raw.train.count, spec.sizes.validation);
  const idx: Record<SplitName, Int32Array | undefined> = { train, validation, test: undefined };
  const out: Partial<Record<SplitName, Split>> = {};
  for (const s of which) {
    const part = s === 'test' ? raw.test : raw.train;
    out[s] = { ...makeSplit(part, spec.shape, spec.classNames.length, spec.mean, spec.std, idx[s]), role: s };
  }
  return out;
}

/** Loads train, validation and test splits (float32 NCHW, normalised; int32 labels). */
export async function loadDataset(name: DatasetName | string, opts: LoadOptions = {}): Promise<Dataset> {
  const { spec, data } = await loadRaw(name, opts);
  const s = splitRaw(spec, data) as Record<SplitName, Split>;
  return { name: spec.name, spec, ...s };
}

export type TrainingSplits = { name: DatasetName; spec: DatasetSpec } & Record<'train' | 'validation', Split>;

/**
 * The splits meta-training, tuning and model selection may use: train and validation. The test split is not
 * even built, so nothing downstream can touch it.
 */
export async function loadTrainingSplits(name: DatasetName | string, opts: LoadOptions = {}): Promise<TrainingSplits> {
  const { spec, data } = await loadRaw(name, opts);
  const s = splitRaw(spec, data, ['train', 'validation']) as Record<'train' | 'validation', Split>;
  return { name: spec.name, spec, train: s.train, validation: s.validation };
}

/** Loads a single split, without materialising the other two. */
export async function loadSplit(name: DatasetName | string, split: SplitName, opts: LoadOptions = {}): Promise<Split> {
  const { spec, data } = await loadRaw(name, opts);
  return splitRaw(spec, data, [split])[split]!;
}
