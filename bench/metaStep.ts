// The meta-step workloads of the native-backend issue, defined exactly as bench/torch_meta_step.py defines
// its twin: MNIST-shaped inputs (or CIFAR-shaped, per workload), full curriculum z[T, B, 128], learned per-step
// lr and momentum, a real-data loss after every k-th inner step (k = intermediateEvery, 1 unless a workload says
// otherwise) plus a final one, meta-loss = final + mean(intermediate), exact second-order backward, one Adam update.
import { Rng, randn, tensor } from '../src/tensor/index.js';
import { initLearner, type LearnerSpec } from '../src/models/index.js';
import { initMetaParams } from '../src/gtn/metaParams.js';
import { initAdam, type AdamConfig } from '../src/gtn/metaOptim.js';
import { metaStep } from '../src/gtn/metaStep.js';
import { treeLeaves } from '../src/tensor/index.js';
import type { Batch, UnrollConfig } from '../src/gtn/unroll.js';

export interface Workload {
  name: string;
  hidden: number;
  channels: number;
  learner: LearnerSpec;
  steps: number;
  batch: number;
  /** Image shape [C, H, W] of the synthetic and real data (default MNIST's [1, 28, 28]). */
  imageShape?: readonly [number, number, number];
  /** A real-data loss after every k-th inner step (default 1: after every step). */
  intermediateEvery?: number;
}

const MNIST_SHAPE = [1, 28, 28] as const;
const imageShapeOf = (w: Workload): readonly [number, number, number] => w.imageShape ?? MNIST_SHAPE;
const intermediateEveryOf = (w: Workload): number => w.intermediateEvery ?? 1;

export const WORKLOADS: Workload[] = [
  { name: 'conv-t8-b64', hidden: 1024, channels: 128, learner: { kind: 'conv', widths: [64, 128, 256] }, steps: 8, batch: 64 },
  { name: 'mlp-t32-b128', hidden: 1024, channels: 128, learner: { kind: 'mlp', hidden: [256, 128] }, steps: 32, batch: 128 },
  { name: 'mlp-small-t32-b128', hidden: 256, channels: 32, learner: { kind: 'mlp', hidden: [128, 128] }, steps: 32, batch: 128 },
  { name: 'conv-small-t16-b64', hidden: 256, channels: 32, learner: { kind: 'conv', widths: [16, 32, 64] }, steps: 16, batch: 64 },
  { name: 'conv-t32-b128-cpu', hidden: 256, channels: 32, learner: { kind: 'conv', widths: [32, 64, 128] }, steps: 32, batch: 128 },
  // CIFAR_PRESETS.cpu's shapes: 32x32x3, learner cifar 16-32-32-64-64, generator 256/32, T 32, B 64, a real-data
  // loss after inner steps 16 and 32 plus the final one (the bench keeps the mean weighting, as every workload).
  {
    name: 'cifar-t32-b64-cpu',
    hidden: 256,
    channels: 32,
    learner: { kind: 'cifar', widths: [16, 32, 32, 64, 64] },
    steps: 32,
    batch: 64,
    imageShape: [3, 32, 32],
    intermediateEvery: 16,
  },
];

export function workloadConfig(w: Workload, checkpoint: boolean): UnrollConfig {
  return {
    teacher: 'gtn',
    steps: w.steps,
    batch: w.batch,
    classes: 10,
    imageShape: imageShapeOf(w),
    learner: w.learner,
    optimizer: 'sgd',
    curriculum: 'full',
    generator: { noiseDim: 128, classes: 10, hidden: w.hidden, channels: w.channels, imageShape: imageShapeOf(w), weightNorm: true },
    intermediateEvery: intermediateEveryOf(w),
    checkpoint,
    bnStats: 'last',
    softLabels: false,
  };
}

const REAL_BATCH = 128;

/** Runs `repeats` meta-steps after one warm-up; returns the seconds of each. */
export function timeMetaStep(w: Workload, opts: { repeats: number; checkpoint: boolean; seed?: number; afterWarmup?: () => void }): number[] {
  const cfg = workloadConfig(w, opts.checkpoint);
  const rng = Rng.seeded(opts.seed ?? 0);
  let meta = initMetaParams(cfg, { innerLr: 0.02, innerMomentum: 0.5 }, rng.fork('meta'));
  const adamCfg: AdamConfig = { lr: 0.02, beta1: 0.9, beta2: 0.999, eps: 1e-8, iterations: 2000, finalFraction: 0.1, clipNorm: 0 };
  const adam = initAdam(treeLeaves(meta));
  // Timing only: real data are fixed random normalised tensors of the workload's image shape (as in the PyTorch
  // twin): one batch per intermediate loss (floor(T / k) of them, used in order) and one for the final loss.
  const shape = imageShapeOf(w);
  const realRng = rng.fork('real');
  const batch = (i: number): Batch => ({
    x: randn([REAL_BATCH, ...shape], realRng.fork(i)),
    y: tensor(Int32Array.from({ length: REAL_BATCH }, (_, k) => (k * 7 + i) % 10), [REAL_BATCH]),
  });
  const nIntermediate = Math.floor(w.steps / intermediateEveryOf(w));
  const data = { intermediate: Array.from({ length: nIntermediate }, (_, i) => batch(i)), final: batch(w.steps) };
  const times: number[] = [];
  for (let r = 0; r <= opts.repeats; r++) {
    const learner0 = initLearner(w.learner, shape, 10, rng.fork(`learner${r}`));
    const t0 = process.hrtime.bigint();
    meta = metaStep(cfg, adamCfg, adam, meta, learner0, data, rng.fork(`step${r}`)).meta;
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r > 0) times.push(dt);
    else opts.afterWarmup?.();
  }
  return times;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
