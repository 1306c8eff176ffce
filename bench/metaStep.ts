// The meta-step workloads of the native-backend issue, defined exactly as bench/torch_meta_step.py defines
// its twin: MNIST-shaped inputs, full curriculum z[T, B, 128], learned per-step lr and momentum, a real-data
// loss after every inner step plus a final one, exact second-order backward, one Adam update.
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
}

export const WORKLOADS: Workload[] = [
  { name: 'conv-t8-b64', hidden: 1024, channels: 128, learner: { kind: 'conv', widths: [64, 128, 256] }, steps: 8, batch: 64 },
  { name: 'mlp-t32-b128', hidden: 1024, channels: 128, learner: { kind: 'mlp', hidden: [256, 128] }, steps: 32, batch: 128 },
  { name: 'mlp-small-t32-b128', hidden: 256, channels: 32, learner: { kind: 'mlp', hidden: [128, 128] }, steps: 32, batch: 128 },
  { name: 'conv-small-t16-b64', hidden: 256, channels: 32, learner: { kind: 'conv', widths: [16, 32, 64] }, steps: 16, batch: 64 },
  { name: 'conv-t32-b128-cpu', hidden: 256, channels: 32, learner: { kind: 'conv', widths: [32, 64, 128] }, steps: 32, batch: 128 },
];

export function workloadConfig(w: Workload, checkpoint: boolean): UnrollConfig {
  return {
    teacher: 'gtn',
    steps: w.steps,
    batch: w.batch,
    classes: 10,
    imageShape: [1, 28, 28],
    learner: w.learner,
    optimizer: 'sgd',
    curriculum: 'full',
    generator: { noiseDim: 128, classes: 10, hidden: w.hidden, channels: w.channels, imageShape: [1, 28, 28], weightNorm: true },
    intermediateEvery: 1,
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
  // Timing only: real data are fixed random normalised tensors of MNIST shape (as in the PyTorch twin).
  const realRng = rng.fork('real');
  const batch = (i: number): Batch => ({
    x: randn([REAL_BATCH, 1, 28, 28], realRng.fork(i)),
    y: tensor(Int32Array.from({ length: REAL_BATCH }, (_, k) => (k * 7 + i) % 10), [REAL_BATCH]),
  });
  const data = { intermediate: Array.from({ length: w.steps }, (_, i) => batch(i)), final: batch(w.steps) };
  const times: number[] = [];
  for (let r = 0; r <= opts.repeats; r++) {
    const learner0 = initLearner(w.learner, [1, 28, 28], 10, rng.fork(`learner${r}`));
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
