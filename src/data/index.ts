// Public surface of src/data: real datasets as plain typed arrays, independent of the tensor engine.
export { DATASETS, DATASET_NAMES, availability, getDataset } from './registry.js';
export type { DatasetName, DatasetSpec, SplitName, Digests, Availability } from './registry.js';
export { loadDataset, loadRaw, loadSplit, loadTrainingSplits, splitRaw } from './load.js';
export type { Dataset, LoadOptions, RawLoad, TrainingSplits } from './load.js';
export type { Split } from './splits.js';
export { BatchSampler, IndexSampler, epochBatches, gather } from './sampler.js';
export type { Batch, SamplerOptions } from './sampler.js';
export { applyCropFlip, blackFill, cifarAugment, randomCropFlip } from './augment.js';
export type { Augment, CropFlip } from './augment.js';
export { cacheDir, cachePath } from './cache.js';
export { renderGrid, writeGrid } from './grid.js';
