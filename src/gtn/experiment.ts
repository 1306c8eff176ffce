// Turns a validated TrainConfig into the pieces the inner loop needs: the unroll config for one outer
// iteration (learner widths may be sampled), fresh learners, and real batches drawn from a split.
import { Rng, tensor } from '../tensor/index.js';
import { GtnError } from '../errors.js';
import { DATASETS, type DatasetName } from '../data/registry.js';
import { cifarAugment, type Augment } from '../data/augment.js';
import { gather } from '../data/sampler.js';
import type { Split } from '../data/splits.js';
import { useCheckpointing, type TrainConfig } from './config.js';
import { canonicalArch, initLearner, sampleLearner, type LearnerParams, type LearnerSpec } from '../models/index.js';
import type { Batch, UnrollConfig, UnrollData } from './unroll.js';
import { rankTargetWeights } from './rankTargets.js';

export function datasetShape(name: DatasetName): { imageShape: [number, number, number]; classes: number } {
  const spec = DATASETS[name];
  return { imageShape: spec.shape, classes: spec.classNames.length };
}

/** The learner of rank-target pool cell k: the configured NB201 network with that cell. */
export function poolCellSpec(cfg: TrainConfig, k: number): LearnerSpec {
  // parseConfig has refused other learners already; this narrows the type.
  if (cfg.learner.kind !== 'nb201') throw new GtnError(`rank targets need an nb201 learner, not '${cfg.learner.kind}'`);
  return { ...cfg.learner, cell: cfg.rankTargets[k].cell };
}

/**
 * The learner of one outer iteration (the configured one, or a sampled variant of it) and the weight of its
 * meta-loss: 1, except with rank targets, whose pool the cell is drawn from (src/gtn/rankTargets.ts).
 */
export function sampleLearnerSpec(cfg: TrainConfig, rng: Rng): { spec: LearnerSpec; weight: number } {
  if (cfg.rankTargets.length) {
    const k = rng.int(cfg.rankTargets.length); // a pool cell, uniformly
    return { spec: poolCellSpec(cfg, k), weight: rankTargetWeights(cfg.rankTargets, cfg.rankWeight)[k] };
  }
  return { spec: sampleLearner(cfg.learner, cfg.learnerSampling, rng, new Set(cfg.heldOutCells.map(canonicalArch))), weight: 1 };
}

/** The augmentation the config asks for on real batches of `split` (synthetic batches are never augmented). */
export function realAugment(cfg: Pick<TrainConfig, 'augment'>, split: Split): Augment | undefined {
  return cfg.augment === 'crop-flip' ? cifarAugment(split) : undefined;
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
    metaGradient: cfg.metaGradient,
    curvature: cfg.curvature,
    curvatureHorizon: cfg.curvatureHorizon,
  };
}

export function freshLearner(cfg: TrainConfig, spec: LearnerSpec, rng: Rng): LearnerParams {
  const { imageShape, classes } = datasetShape(cfg.dataset);
  return initLearner(spec, imageShape, classes, rng, cfg.learnerWeightNorm);
}

/** A batch of `n` images drawn uniformly with replacement (reproducible from rng). Never from the test split. */
export function randomBatch(split: Split, n: number, rng: Rng, augment?: Augment): Batch {
  if (split.role === 'test') throw new GtnError('the test split is for final reports only: no training batch may come from it');
  const b = gather(split, Int32Array.from({ length: n }, () => rng.int(split.count)));
  augment?.(b, rng);
  return { x: tensor(b.x, b.shape), y: tensor(b.y, [n]) };
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

/**
 * The real data one outer iteration uses: intermediate and final loss batches, and T batches for teacher
 * 'real', all from `train` and augmented as the config says.
 */
export function iterationData(cfg: TrainConfig, train: Split, rng: Rng): UnrollData {
  const augment = realAugment(cfg, train);
  const nInter = cfg.intermediateEvery > 0 ? Math.floor(cfg.steps / cfg.intermediateEvery) : 0;
  const r = rng.fork('real');
  const data: UnrollData = {
    intermediate: Array.from({ length: nInter }, (_, i) => randomBatch(train, cfg.realBatch, r.fork(i), augment)),
    final: randomBatch(train, cfg.realBatch, r.fork('final'), augment),
  };
  if (cfg.teacher === 'real') data.teacherBatch = realTeacherBatches(train, cfg.batch, rng, augment);
  return data;
}

/** The training batch of inner step t of a real-data learner: reproducible from rng and t alone. */
export function realTeacherBatches(train: Split, batch: number, rng: Rng, augment?: Augment): (t: number) => Batch {
  const tr = rng.fork('teacher');
  return (t) => randomBatch(train, batch, tr.fork(t), augment);
}
