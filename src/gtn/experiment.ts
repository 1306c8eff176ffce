// Turns a validated TrainConfig into the pieces the inner loop needs: the unroll config for one outer
// iteration (learner widths may be sampled), fresh learners, and real batches drawn from a split.
import { Rng, tensor } from '../tensor/index.js';
import { DATASETS, type DatasetName } from '../data/registry.js';
import type { Augment } from '../data/augment.js';
import type { Split } from '../data/splits.js';
import { useCheckpointing, type TrainConfig } from './config.js';
import { initLearner, type LearnerParams, type LearnerSpec } from './learner.js';
import type { Batch, UnrollConfig, UnrollData } from './unroll.js';

export function datasetShape(name: DatasetName): { imageShape: [number, number, number]; classes: number } {
  const spec = DATASETS[name];
  return { imageShape: spec.shape, classes: spec.classNames.length };
}

/** Conv learner widths sampled as in the paper: conv1 in [32,128), conv2 in [64,256), fc in [64,256). */
export function sampleLearnerSpec(cfg: TrainConfig, rng: Rng): LearnerSpec {
  if (!cfg.randomWidths || cfg.learner.kind !== 'conv') return cfg.learner;
  return { kind: 'conv', widths: [32 + rng.int(96), 64 + rng.int(192), 64 + rng.int(192)] };
}

export function unrollConfig(cfg: TrainConfig, learner: LearnerSpec = cfg.learner): UnrollConfig {
  const { imageShape, classes } = datasetShape(cfg.dataset);
  return {
    teacher: cfg.teacher,
    steps: cfg.steps,
    batch: cfg.batch,
    classes,
    imageShape,
    learner,
    optimizer: cfg.innerOptimizer,
    curriculum: cfg.curriculum,
    generator: { ...cfg.generator, classes, imageShape },
    intermediateEvery: cfg.intermediateEvery,
    intermediateWeighting: cfg.intermediateWeighting,
    checkpoint: useCheckpointing(cfg),
    bnStats: cfg.bnStats,
    softLabels: cfg.softLabels,
  };
}

export function freshLearner(cfg: TrainConfig, spec: LearnerSpec, rng: Rng): LearnerParams {
  const { imageShape, classes } = datasetShape(cfg.dataset);
  return initLearner(spec, imageShape, classes, rng, cfg.learnerWeightNorm);
}

/** A batch of `n` images drawn uniformly with replacement (reproducible from rng). */
export function randomBatch(split: Split, n: number, rng: Rng, augment?: Augment): Batch {
  const img = split.x.length / split.count;
  const x = new Float32Array(n * img);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(split.count);
    x.set(split.x.subarray(k * img, (k + 1) * img), i * img);
    y[i] = split.y[k];
  }
  if (augment) augment({ x, y, shape: [n, ...split.shape] }, rng);
  return { x: tensor(x, [n, ...split.shape]), y: tensor(y, [n]) };
}

/** Contiguous images [start, start + n) of a split (for evaluation). */
export function sliceBatch(split: Split, start: number, n: number): Batch {
  const img = split.x.length / split.count;
  const end = Math.min(split.count, start + n);
  return {
    x: tensor(split.x.slice(start * img, end * img), [end - start, ...split.shape]),
    y: tensor(split.y.slice(start, end), [end - start]),
  };
}

/** The real data one outer iteration uses: intermediate and final loss batches, and T batches for teacher 'real'. */
export function iterationData(cfg: TrainConfig, train: Split, rng: Rng, augment?: Augment): UnrollData {
  const nInter = cfg.intermediateEvery > 0 ? Math.floor(cfg.steps / cfg.intermediateEvery) : 0;
  const r = rng.fork('real');
  const data: UnrollData = {
    intermediate: Array.from({ length: nInter }, (_, i) => randomBatch(train, cfg.realBatch, r.fork(i), augment)),
    final: randomBatch(train, cfg.realBatch, r.fork('final'), augment),
  };
  if (cfg.teacher === 'real') data.teacherBatches = realTeacherBatches(cfg, train, rng, augment);
  return data;
}

/** The T training batches of the real-data teacher. */
export function realTeacherBatches(cfg: TrainConfig, train: Split, rng: Rng, augment?: Augment): Batch[] {
  const tr = rng.fork('teacher');
  return Array.from({ length: cfg.steps }, (_, i) => randomBatch(train, cfg.batch, tr.fork(i), augment));
}
