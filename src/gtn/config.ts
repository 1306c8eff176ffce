// Training configuration: one schema, validated once at the edge (CLI or a run folder's config.json), and
// the presets. Everything below this point trusts the config.
import { z } from 'zod';
import { GtnError } from '../errors.js';
import { CURRICULA } from './curriculum.js';
import { LEARNER_SAMPLING, learnerSpecSchema } from '../models/index.js';
import { checkRankTargets } from './rankTargets.js';

// Run folders written before `learnerSampling` existed said `randomWidths: true|false`.
function upgrade(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || !('randomWidths' in raw)) return raw;
  const { randomWidths, ...rest } = raw as Record<string, unknown>;
  return { learnerSampling: randomWidths === true ? 'widths' : 'fixed', ...rest };
}

const configObject = z
  .object({
    dataset: z.enum(['mnist', 'fashion-mnist', 'cifar10']),
    teacher: z.enum(['gtn', 'real', 'distill']),
    curriculum: z.enum(CURRICULA as unknown as [string, ...string[]]),
    /** Inner steps T and synthetic batch size B. */
    steps: z.number().int().positive(),
    batch: z.number().int().positive(),
    learner: learnerSpecSchema,
    /**
     * Vary the learner every outer iteration so that the teacher does not fit one network: 'widths' samples
     * conv / CIFAR widths, 'cells' a random NAS-Bench-201 cell.
     */
    learnerSampling: z.enum(LEARNER_SAMPLING).default('fixed'),
    /**
     * NB201 cells (strings) whose networks 'cells' sampling never draws: keep the cells a proxy will be evaluated
     * on out of its teacher's meta-training (`gtn train --hold-out FILE`). Compared by canonical form.
     */
    heldOutCells: z.array(z.string()).default([]),
    /**
     * Rank-aware meta-training (src/gtn/rankTargets.ts): NB201 cells with scores from a long, trusted proxy
     * (`gtn train --rank-targets LOG`). When given, every outer iteration's learner is one of these cells and its
     * meta-loss weighs 1 + rankWeight * z, z its standardised rank in the pool ('weighted'); or ('pairwise') two
     * pool cells train per iteration and rankWeight weighs a logistic loss on their order under the proxy's
     * training-loss score, at differences of the order of rankTemperature; one cell of every pair comes from the
     * best rankTopFraction of the pool.
     */
    rankTargets: z.array(z.object({ cell: z.string(), score: z.number() }).strict()).default([]),
    rankWeight: z.number().default(0),
    rankLoss: z.enum(['weighted', 'pairwise']).default('weighted'),
    rankTemperature: z.number().positive().default(0.1),
    rankTopFraction: z.number().gt(0).max(1).default(1),
    innerOptimizer: z.enum(['sgd', 'adam']),
    innerLr: z.number().positive(),
    innerMomentum: z.number().min(0).lt(1),
    generator: z.object({
      noiseDim: z.number().int().positive(),
      hidden: z.number().int().positive(),
      channels: z.number().int().min(2),
      weightNorm: z.boolean(),
    }),
    learnerWeightNorm: z.boolean(),
    intermediateEvery: z.number().int().min(0),
    /**
     * Meta-loss = final loss + the intermediate losses' mean (each weighs 1/k) or their sum (each weighs 1, as
     * the public code). Run folders written before this setting existed used the mean.
     */
    intermediateWeighting: z.enum(['mean', 'sum']).default('mean'),
    /** Gradient checkpointing of each inner step: on, off, or on when steps >= 16. */
    checkpoint: z.union([z.boolean(), z.literal('auto')]),
    bnStats: z.enum(['last', 'running']),
    softLabels: z.boolean(),
    /** The meta-gradient through the unroll: exact, or first-order (no learner curvature; src/gtn/unroll.ts). */
    metaGradient: z.enum(['exact', 'first-order']).default('exact'),
    /** The fraction of the learner's curvature the exact meta-gradient keeps (1: all; src/gtn/unroll.ts). */
    curvature: z.number().min(0).max(1).default(1),
    /** Keep that curvature in the last K inner steps' Jacobians only (0: all steps). */
    curvatureHorizon: z.number().int().min(0).default(0),
    realBatch: z.number().int().positive(),
    /** Augmentation of the real batches (never of the synthetic ones): CIFAR's random crop (pad 4) + flip. */
    augment: z.enum(['none', 'crop-flip']).default('none'),
    meta: z.object({
      lr: z.number().positive(),
      beta1: z.number().min(0).lt(1),
      beta2: z.number().min(0).lt(1),
      eps: z.number().positive(),
      iterations: z.number().int().positive(),
      finalFraction: z.number().min(0).max(1),
      clipNorm: z.number().min(0),
      /** Skip meta-steps whose gradient norm exceeds this (0: never); `gtn train --skip-norm`. */
      skipNorm: z.number().min(0).optional(),
    }),
    /** Validate (and keep the best checkpoint) every this many outer iterations. */
    evalEvery: z.number().int().positive(),
    /** Fresh learners and validation images used for each validation. */
    evalLearners: z.number().int().positive(),
    evalImages: z.number().int().positive(),
    /**
     * A run folder whose best meta-parameters this run started from (`gtn train --init-from`) instead of a fresh
     * initialisation; its per-step schedule and curriculum are repeated when this run has k times its steps.
     */
    initFrom: z.string().optional(),
    /** Stop after this many consecutive non-finite meta-steps. */
    maxSkips: z.number().int().positive(),
    seed: z.number().int().min(0),
  })
  .strict();

export const trainConfigSchema = z.preprocess(upgrade, configObject);

export type TrainConfig = z.infer<typeof configObject> & { curriculum: (typeof CURRICULA)[number] };

const base: Omit<TrainConfig, 'dataset'> = {
  teacher: 'gtn',
  curriculum: 'full',
  steps: 32,
  batch: 128,
  learner: { kind: 'conv', widths: [64, 128, 256] },
  learnerSampling: 'fixed',
  heldOutCells: [],
  rankTargets: [],
  rankWeight: 0,
  rankLoss: 'weighted',
  rankTemperature: 0.1,
  rankTopFraction: 1,
  innerOptimizer: 'sgd',
  innerLr: 0.02,
  innerMomentum: 0.5,
  generator: { noiseDim: 128, hidden: 1024, channels: 128, weightNorm: true },
  learnerWeightNorm: true,
  intermediateEvery: 1,
  // The public code's weighting (every intermediate loss weighs as much as the final one): it meta-trains
  // markedly faster than the mean (README, "Tuning the cpu preset").
  intermediateWeighting: 'sum',
  checkpoint: 'auto',
  bnStats: 'last',
  metaGradient: 'exact',
  curvature: 1,
  curvatureHorizon: 0,
  softLabels: false,
  realBatch: 128,
  augment: 'none',
  meta: { lr: 0.02, beta1: 0.9, beta2: 0.999, eps: 1e-8, iterations: 2000, finalFraction: 0.1, clipNorm: 0 },
  evalEvery: 50,
  evalLearners: 2,
  evalImages: 10000,
  maxSkips: 20,
  seed: 0,
};

/** Presets for the 28x28 grey datasets (MNIST, Fashion-MNIST). */
export const PRESETS = {
  /** The paper's MNIST configuration (a GPU or a long run). */
  paper: base,
  /**
   * Tuned for a 2-core CPU: a strong MNIST teacher in under an hour. The learner and generator are the
   * smaller ones of shared/reference (conv 32-64-128, generator 256/32); T = 32 keeps the paper's few-step
   * task; without checkpointing the unroll fits in memory and saves the recomputation.
   */
  cpu: {
    ...base,
    learner: { kind: 'conv', widths: [32, 64, 128] },
    generator: { noiseDim: 128, hidden: 256, channels: 32, weightNorm: true },
    checkpoint: false,
    // Learned lrs settle near 0.15-0.3, so start there rather than at the paper's 0.02 (meta-trains faster).
    innerLr: 0.2,
    // 850 iterations fit the hour: 2.6 s each, 39 min in all (commit 500f3a8; 3.2 s and 48 min one round earlier;
    // 700 at 4.4 s, 600 at 5.2 s, 320 before).
    meta: { ...base.meta, iterations: 850, clipNorm: 10 },
    evalEvery: 30,
    // Two learners on the whole validation split (~5 s per evaluation): with one learner on 2,000 images the
    // sampling noise alone (0.33 points at 97.8%) exceeded the differences between late checkpoints.
    evalLearners: 2,
    evalImages: 10000,
  },
  /** Small and quick: the curricula / baselines comparison (bench/curricula.ts). */
  compare: {
    ...base,
    steps: 16,
    batch: 64,
    learner: { kind: 'conv', widths: [16, 32, 64] },
    innerLr: 0.1,
    generator: { noiseDim: 64, hidden: 128, channels: 16, weightNorm: true },
    meta: { ...base.meta, iterations: 60, clipNorm: 10 },
    evalEvery: 20,
    evalLearners: 1,
    evalImages: 1000,
  },
  /** Seconds, not hours: for tests and smoke runs. */
  tiny: {
    ...base,
    steps: 4,
    batch: 20,
    learner: { kind: 'conv', widths: [4, 8, 16] },
    generator: { noiseDim: 16, hidden: 32, channels: 8, weightNorm: true },
    realBatch: 32,
    meta: { ...base.meta, iterations: 6 },
    evalEvery: 3,
    evalLearners: 1,
    evalImages: 200,
  },
} satisfies Record<string, Omit<TrainConfig, 'dataset'>>;

const cifarBase: Omit<TrainConfig, 'dataset'> = {
  ...base,
  learner: { kind: 'cifar', widths: [64, 128, 128, 256, 256] },
  augment: 'crop-flip',
};

/** Presets for CIFAR-10 (32x32x3): the paper's CIFAR-10 / NAS settings and their CPU-scale versions. */
export const CIFAR_PRESETS = {
  /**
   * The paper's CIFAR-10 configuration: T = 128, B = 128, real batch 256 with crop + flip, intermediate loss
   * every 16 steps, Adam 0.004 with betas (0.9, 0.9) and eps 1e-5, 2,000 iterations (a GPU or a long run).
   */
  paper: {
    ...cifarBase,
    steps: 128,
    intermediateEvery: 16,
    realBatch: 256,
    meta: { ...base.meta, lr: 0.004, beta1: 0.9, beta2: 0.9, eps: 1e-5 },
  },
  /** Tuned for a 2-core CPU within 90 minutes (README, "Tuning the CIFAR-10 cpu preset"). */
  cpu: {
    ...cifarBase,
    steps: 32,
    batch: 64,
    learner: { kind: 'cifar', widths: [16, 32, 32, 64, 64] },
    generator: { noiseDim: 128, hidden: 256, channels: 32, weightNorm: true },
    innerLr: 0.1,
    intermediateEvery: 16,
    checkpoint: false,
    // Meta lr 0.01: 0.02 (the MNIST preset's) saturated the generator's colours and lost validation accuracy.
    meta: { ...base.meta, lr: 0.01, iterations: 850, clipNorm: 10 },
    evalEvery: 50,
    evalLearners: 2,
    evalImages: 2000,
  },
  /**
   * A teacher for architecture search on NAS-Bench-201: its learners are NB201 networks (C = 8, N = 1) with a
   * random cell every outer iteration, so that it teaches the whole space rather than one network.
   * Measured (README, "Architecture search"): at meta lr 0.01 its generator saturated to flat colours; at 0.004 it
   * learns (20.0% validation @450 of 500) but ranks unseen cells worse than the fixed-CNN cpu teacher (0.51 vs 0.61).
   */
  nas: {
    ...cifarBase,
    steps: 32,
    batch: 32,
    learner: { kind: 'nb201', cell: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|', channels: 8, cells: 1 },
    learnerSampling: 'cells',
    // Every NB201 conv is followed by batch norm, which undoes any weight scale: weight norm would only add ops.
    learnerWeightNorm: false,
    generator: { noiseDim: 128, hidden: 256, channels: 32, weightNorm: true },
    innerLr: 0.1,
    intermediateEvery: 16,
    checkpoint: false,
    meta: { ...base.meta, lr: 0.004, iterations: 500, clipNorm: 10 },
    evalEvery: 50,
    evalLearners: 2,
    evalImages: 2000,
  },
  /** Seconds: tests and smoke runs of the CIFAR-10 pipeline. */
  tinynas: {
    ...PRESETS.tiny,
    learner: { kind: 'nb201', cell: '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|', channels: 2, cells: 1 },
    learnerSampling: 'cells',
    augment: 'crop-flip',
    intermediateEvery: 2,
  },
  tiny: {
    ...PRESETS.tiny,
    learner: { kind: 'cifar', widths: [4, 8, 8] },
    augment: 'crop-flip',
    intermediateEvery: 2,
  },
} satisfies Record<string, Omit<TrainConfig, 'dataset'>>;

export type PresetName = keyof typeof PRESETS | keyof typeof CIFAR_PRESETS;
export const PRESET_NAMES = [...new Set([...Object.keys(PRESETS), ...Object.keys(CIFAR_PRESETS)])] as PresetName[];

/** The preset `name` for `dataset`, with the dataset filled in; an unknown pair is named in the error. */
export function presetConfig(name: string, dataset: string): TrainConfig {
  const table: Record<string, Omit<TrainConfig, 'dataset'>> = dataset === 'cifar10' ? CIFAR_PRESETS : PRESETS;
  const p = table[name];
  if (!p) {
    const known = Object.keys(table).join(', ');
    if ((PRESET_NAMES as string[]).includes(name)) throw new GtnError(`--preset ${name} is not defined for ${dataset} (presets for ${dataset}: ${known})`);
    throw new GtnError(`--preset must be one of ${known}; got '${name}'`);
  }
  return structuredClone({ ...p, dataset }) as TrainConfig;
}

/** Validates a config object, naming `source` and the offending fields in the error. */
export function parseConfig(raw: unknown, source: string): TrainConfig {
  const r = trainConfigSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new GtnError(`invalid configuration in ${source}: ${issues}`);
  }
  const cfg = r.data as TrainConfig;
  if (cfg.metaGradient === 'first-order' && (cfg.curvature !== 1 || cfg.curvatureHorizon !== 0)) {
    const what = cfg.curvature !== 1 ? `curvature ${cfg.curvature}` : `curvatureHorizon ${cfg.curvatureHorizon}`;
    throw new GtnError(`invalid configuration in ${source}: ${what} applies to the exact meta-gradient (first-order keeps none of the curvature); set one of the two`);
  }
  checkRankTargets(cfg, `invalid configuration in ${source}`);
  return cfg;
}

export function useCheckpointing(cfg: TrainConfig): boolean {
  return cfg.checkpoint === 'auto' ? cfg.steps >= 16 : cfg.checkpoint;
}
