// Training proxies: a fresh NB201 network trained k steps with the GTN inner loop (the same `unroll` that
// meta-trains teachers, run without a graph), then scored. One training run gives the scores at every
// requested step count.
import type { Split } from '../../data/splits.js';
import type { TrainConfig } from '../../gtn/config.js';
import { splitScore, trainFresh } from '../../gtn/evaluate.js';
import { randomBatch } from '../../gtn/experiment.js';
import { Rng, noGrad } from '../../tensor/index.js';
import { trainLossWindow, type Batch, type MetaParams } from '../../gtn/unroll.js';
import { formatCell, learnerForward, reductionField, type Cell, type Nb201Spec, type Reduction } from '../../models/index.js';
import type { ScoreKind, StepScore } from './proxy.js';

export interface TrainingProxyOptions {
  /** Score after each of these step counts (ascending); the last is the proxy's score. */
  steps: number[];
  score: ScoreKind;
  channels: number;
  cells: number;
  /** The network's blocks between stages (absent: NAS-Bench-201's residual ones). */
  reduction?: Reduction;
  /** Validation images each score uses (the first n of the validation split). */
  valImages: number;
  /** Seed of the network's initialisation (and of real batches). */
  seed: number;
  /**
   * Images of the training split (labels unused) whose batch statistics replace the BN statistics of the last
   * training batch when scoring on validation; 0 keeps the training statistics.
   */
  bnCalibration: number;
}

export function networkSpec(cell: Cell, o: Pick<TrainingProxyOptions, 'channels' | 'cells' | 'reduction'>): Nb201Spec {
  return { kind: 'nb201', cell: formatCell(cell), channels: o.channels, cells: o.cells, ...reductionField(o.reduction) };
}

/**
 * Trains `cell` for max(o.steps) steps of `cfg`'s inner loop on `teacherBatch` with the schedule in `meta`,
 * scoring on `validation` after each requested step count. Seconds exclude the scorings of earlier counts.
 */
export function trainAndScore(cfg: TrainConfig, meta: MetaParams, cell: Cell, o: TrainingProxyOptions, data: { validation: Split; train: Split; teacherBatch: (t: number) => Batch }): StepScore[] {
  const spec = networkSpec(cell, o);
  const calibration = o.bnCalibration > 0 ? randomBatch(data.train, o.bnCalibration, Rng.seeded(o.seed).fork('bn-calibration')).x : null;
  const steps = Math.max(...o.steps);
  const losses: number[] = [];
  const out: StepScore[] = [];
  const t0 = performance.now();
  let scoringMs = 0;
  trainFresh({ ...cfg, steps, learner: spec }, meta, o.seed, {
    learner: spec,
    teacherBatch: data.teacherBatch,
    onStep: (t, params, stats, loss) => {
      losses.push(loss);
      const k = t + 1;
      if (!o.steps.includes(k)) return;
      const s0 = performance.now();
      const trainMs = s0 - t0 - scoringMs;
      const w = trainLossWindow(k);
      const trainLoss = losses.slice(k - w, k).reduce((a, b) => a + b, 0) / w;
      const scores: StepScore['scores'] = { 'train-loss': Number.isFinite(trainLoss) ? -trainLoss : Number.NEGATIVE_INFINITY };
      if (o.valImages > 0) {
        const bn = calibration ? noGrad(() => learnerForward(spec, params, calibration).stats) : stats;
        const v = splitScore(spec, params, bn, data.validation, o.valImages);
        scores['val-acc'] = v.accuracy;
        scores['val-loss'] = Number.isFinite(v.loss) ? -v.loss : Number.NEGATIVE_INFINITY;
      }
      const scoreMs = performance.now() - s0;
      scoringMs += scoreMs;
      out.push({ steps: k, seconds: (trainMs + scoreMs) / 1000, scores });
    },
  });
  return out;
}
