// The inner loop: a fresh learner trained T steps on the teacher's data, and the meta-loss on real data.
// Everything is Tensor ops, so differentiating the meta-loss gives the exact meta-gradient through all T
// steps (second order: each inner gradient is taken with createGraph). With `checkpoint`, each inner step
// (teacher forward included) keeps only its inputs and is recomputed in the backward pass. With metaGradient
// 'first-order' the meta-gradient follows every update but not the learner's curvature along the way, and with
// curvature c in (0, 1) it keeps the fraction c of it, with curvatureHorizon k in the last k steps only (below).
import {
  Rng,
  Tensor,
  add,
  checkpoint,
  crossEntropy,
  detach,
  exp,
  isRecording,
  mul,
  mulScalar,
  reshape,
  sigmoid,
  slice,
  softmax,
  sub,
  sum,
  tensor,
  treeLeaves,
  treeUnflatten,
  valueAndGrad,
} from '../tensor/index.js';
import { generate, type GeneratorConfig, type GeneratorParams } from './generator.js';
import { learnerForward, type LearnerParams, type LearnerSpec } from '../models/index.js';
import { initState, innerUpdate, stateSize, type InnerOptimizer } from './innerOptim.js';
import { stepInput, type Curriculum } from './curriculum.js';

export type TeacherKind = 'gtn' | 'real' | 'distill';

export interface UnrollConfig {
  teacher: TeacherKind;
  steps: number;
  batch: number;
  classes: number;
  imageShape: readonly [number, number, number];
  learner: LearnerSpec;
  optimizer: InnerOptimizer;
  curriculum: Curriculum;
  generator: GeneratorConfig;
  /** Add a real-data loss after every k-th inner step (0: only the final loss). */
  intermediateEvery: number;
  /** How the intermediate losses enter the meta-loss: their mean (default) or their sum. */
  intermediateWeighting?: 'mean' | 'sum';
  /** Recompute each inner step in the backward pass instead of keeping its graph. */
  checkpoint: boolean;
  /** Statistics the learner's BN layers use on real data: the last synthetic batch's, or their running mean. */
  bnStats: 'last' | 'running';
  /** Learn soft labels for the synthetic batch. */
  softLabels: boolean;
  /**
   * 'exact' (default): the meta-gradient through every inner step, the learner's Hessian included. 'first-order':
   * each step's gradient is taken at a stopped copy of the weights, so the meta-gradient follows every update
   * (and every training loss's exact first derivative) but treats the curvature along the trajectory as zero:
   * the product of T step Jacobians (I - lr H), which explodes through deep learners, becomes the identity.
   */
  metaGradient?: 'exact' | 'first-order';
  /**
   * The fraction c of the learner's curvature the meta-gradient keeps (default 1, exact; 'first-order' is 0): each
   * step's Jacobian in the weights becomes I - c lr H, while the data, lr and momentum keep their exact derivatives
   * and every training loss its exact first derivative. Damps the product of T Jacobians, which explodes through
   * deep learners, without dropping the curvature's sign as first order does.
   */
  curvature?: number;
  /**
   * Keep the curvature (at the fraction `curvature`) in the Jacobians of the last K steps only; the earlier ones are
   * first order (0 or absent: every step). A truncated horizon: no product of more than K Jacobians can explode.
   */
  curvatureHorizon?: number;
}

/** The meta-learned parameters (a Tree: grad returns the same structure). */
export type MetaParams = {
  generator?: GeneratorParams;
  /** Learned generator input for the curriculum (see curriculum.ts for shapes). */
  noise?: Tensor;
  /** Dataset distillation: learned images [T, B, C, H, W]. */
  pixels?: Tensor;
  /** log of the per-step inner learning rate, [T]. */
  logLr: Tensor;
  /** logit of the per-step inner momentum (kept in (0, 1) by a sigmoid), [T]. */
  momentumLogit: Tensor;
  /** Soft-label logits [B, classes]. */
  labelLogits?: Tensor;
};

export interface Batch {
  x: Tensor; // [B, C, H, W]
  y: Tensor; // int32 [B]
}

export interface UnrollResult {
  /** Final real-data loss + the mean (or sum) of the intermediate real-data losses. */
  metaLoss: Tensor;
  finalLoss: Tensor;
  intermediate: Tensor[];
  /** The training loss of every inner step (in the graph: a meta-loss may rank learners by it). */
  trainLosses: Tensor[];
  /** The trained learner and the BN statistics to evaluate it with. */
  params: LearnerParams;
  stats: Tensor[];
}

export interface UnrollData {
  /** Real batches for the intermediate losses (one per intermediate loss) and the final loss. */
  intermediate: Batch[];
  final: Batch | null;
  /**
   * Teacher 'real' (and a frozen teacher replayed as data): the training batch of inner step t, made on demand
   * so that long runs do not hold every batch at once.
   */
  teacherBatch?: (t: number) => Batch;
}

/** What `onStep` sees after inner step t (0-based): the learner, its BN statistics and the step's training loss. */
export type StepObserver = (t: number, params: LearnerParams, stats: Tensor[], trainLoss: number) => void;

/** How many of the last training losses the 'train-loss' score averages: a quarter of the steps, 1 to 16. */
export const trainLossWindow = (steps: number): number => Math.max(1, Math.min(16, Math.floor(steps / 4)));

/** The mean training loss over the last trainLossWindow steps, in the graph (lower is better). */
export function windowedTrainLoss(losses: readonly Tensor[]): Tensor {
  const w = trainLossWindow(losses.length);
  return mulScalar(losses.slice(losses.length - w).reduce((a, b) => add(a, b)), 1 / w);
}

/** The fraction of the learner's curvature the meta-gradient keeps: 1 exact, 0 first order. */
function curvatureKept(cfg: Pick<UnrollConfig, 'metaGradient' | 'curvature'>): number {
  const c = cfg.metaGradient === 'first-order' ? 0 : (cfg.curvature ?? 1);
  if (!(c >= 0 && c <= 1)) throw new Error(`unroll: curvature must be in [0, 1], got ${c}`);
  return c;
}

/** p with the value of p and the derivative c in p (c = 0: a stopped copy). */
const dampedCopy = (p: Tensor, c: number): Tensor => (c === 0 ? detach(p) : add(detach(p), mulScalar(sub(p, detach(p)), c)));

/** Trains `learner0` for cfg.steps inner steps on the teacher and returns the meta-loss. */
export function unroll(
  cfg: UnrollConfig,
  meta: MetaParams,
  learner0: LearnerParams,
  data: UnrollData,
  rng: Rng,
  onStep?: StepObserver,
): UnrollResult {
  const nParams = treeLeaves(learner0).length;
  let params = treeLeaves(learner0);
  let state = initState(cfg.optimizer, params);
  const genLeaves = meta.generator ? treeLeaves(meta.generator) : [];
  const target = meta.labelLogits ? softmax(meta.labelLogits) : null;
  let stats: Tensor[] = [];
  const intermediate: Tensor[] = [];
  const trainLosses: Tensor[] = [];
  let realIndex = 0;
  const cKept = curvatureKept(cfg);
  const horizon = cfg.curvatureHorizon ?? 0;
  if (!(Number.isInteger(horizon) && horizon >= 0)) throw new Error(`unroll: curvatureHorizon must be a whole number >= 0, got ${horizon}`);
  const realLoss = (b: Batch, p: Tensor[], c: Tensor[]) =>
    crossEntropy(learnerForward(cfg.learner, treeUnflatten(learner0, p), b.x, c).logits, b.y);

  for (let t = 0; t < cfg.steps; t++) {
    // This step's teacher inputs (outside the checkpoint: random choices are made here, once).
    let teacherInputs: Tensor[];
    let produce: (ins: Tensor[]) => Tensor;
    let labels: Tensor;
    if (cfg.teacher === 'gtn') {
      const s = stepInput(cfg.curriculum, meta.noise, t, cfg.batch, cfg.generator.noiseDim, cfg.classes, rng);
      labels = tensor(s.labels, [cfg.batch]);
      teacherInputs = [...genLeaves, s.z];
      produce = (ins) => generate(cfg.generator, treeUnflatten(meta.generator!, ins.slice(0, -1)), ins[ins.length - 1], labels);
    } else if (cfg.teacher === 'distill') {
      const [, b, c, h, w] = meta.pixels!.shape;
      teacherInputs = [reshape(slice(meta.pixels!, [t, 0, 0, 0, 0], [1, b, c, h, w]), [b, c, h, w])];
      labels = tensor(Int32Array.from({ length: b }, (_, i) => i % cfg.classes), [b]);
      produce = (ins) => ins[0];
    } else {
      if (!data.teacherBatch) throw new Error(`unroll: teacher '${cfg.teacher}' needs data.teacherBatch`);
      const tb = data.teacherBatch(t);
      teacherInputs = [tb.x];
      labels = tb.y;
      produce = (ins) => ins[0];
    }
    const nTeacher = teacherInputs.length;
    const lr = exp(reshape(slice(meta.logLr, [t], [1]), []));
    const momentum = sigmoid(reshape(slice(meta.momentumLogit, [t], [1]), []));
    const tgt = target ?? labels;
    const c = horizon > 0 && t < cfg.steps - horizon ? 0 : cKept;
    const damped = c < 1 && isRecording(); // under noGrad every c gives the same numbers

    // [...teacher, target, ...params, ...state, lr, momentum] -> [...params', ...state', loss, ...bnStats]
    const step = (...flat: Tensor[]): Tensor[] => {
      const x = produce(flat.slice(0, nTeacher));
      const y = flat[nTeacher];
      const p = flat.slice(nTeacher + 1, nTeacher + 1 + nParams);
      const st = flat.slice(nTeacher + 1 + nParams, flat.length - 2);
      const [stepLr, stepM] = flat.slice(flat.length - 2);
      let bnStats: Tensor[] = [];
      const [lossAt, g] = valueAndGrad(
        (q: Tensor[]) => {
          const out = learnerForward(cfg.learner, treeUnflatten(learner0, q), x);
          bnStats = out.stats;
          return crossEntropy(out.logits, y);
        },
        { createGraph: true },
      )(damped ? p.map((pi) => dampedCopy(pi, c)) : p);
      // Damped: the gradient is taken at stop(p) + c (p - stop(p)), equal to p, whose derivative in p is c: g moves
      // with p by c H, with x and the hyperparameters exactly. The loss gets back its exact first derivative in p
      // (its value plus (1 - c) g . (p - stop(p)), which is zero), so a meta-loss on training losses still reaches
      // the earlier steps' data through the weights.
      const loss = damped
        ? p.reduce((acc, pi, i) => add(acc, mulScalar(sum(mul(detach(g[i]), sub(pi, detach(pi)))), 1 - c)), lossAt)
        : lossAt;
      const upd = innerUpdate(cfg.optimizer, t, p, g, st, stepLr, stepM);
      return [...upd.params, ...upd.state, loss, ...bnStats];
    };
    const run = cfg.checkpoint ? checkpoint(step) : step;
    const out = run(...teacherInputs, tgt, ...params, ...state, lr, momentum);
    const stateEnd = nParams * (1 + stateSize(cfg.optimizer));
    params = out.slice(0, nParams);
    state = out.slice(nParams, stateEnd);
    const stepStats = out.slice(stateEnd + 1);
    stats = cfg.bnStats === 'running' && t > 0 ? stats.map((c, i) => add(mulScalar(c, t / (t + 1)), mulScalar(stepStats[i], 1 / (t + 1)))) : stepStats;

    trainLosses.push(out[stateEnd]);
    onStep?.(t, treeUnflatten(learner0, params), stats, out[stateEnd].item());
    if (cfg.intermediateEvery > 0 && (t + 1) % cfg.intermediateEvery === 0 && data.intermediate[realIndex]) {
      intermediate.push(realLoss(data.intermediate[realIndex++], params, stats));
    }
  }
  const finalLoss = data.final ? realLoss(data.final, params, stats) : tensor([0], []);
  let metaLoss = finalLoss;
  if (intermediate.length) {
    const sum = intermediate.reduce((a, b) => add(a, b));
    metaLoss = add(finalLoss, cfg.intermediateWeighting === 'sum' ? sum : mulScalar(sum, 1 / intermediate.length));
  }
  return {
    metaLoss,
    finalLoss,
    intermediate,
    trainLosses,
    params: treeUnflatten(learner0, params),
    stats,
  };
}

