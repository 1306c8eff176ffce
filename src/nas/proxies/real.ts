// The real-data proxy: the same network trained k steps of SGD + momentum on real augmented CIFAR-10 training
// batches (the inner loop with a constant schedule), scored like the GTN proxy.
import type { Split } from '../../data/splits.js';
import { presetConfig } from '../../gtn/config.js';
import { realAugment, realTeacherBatches } from '../../gtn/experiment.js';
import { constantSchedule } from '../../gtn/metaParams.js';
import { Rng } from '../../tensor/index.js';
import type { Proxy } from './proxy.js';
import { trainAndScore, type TrainingProxyOptions } from './training.js';

export interface RealProxyOptions extends TrainingProxyOptions {
  lr: number;
  momentum: number;
  batch: number;
  augment: boolean;
}

export function realProxy(splits: { train: Split; validation: Split }, o: RealProxyOptions): Proxy {
  const steps = Math.max(...o.steps);
  const cfg = { ...presetConfig('cpu', 'cifar10'), teacher: 'real' as const, batch: o.batch, augment: o.augment ? ('crop-flip' as const) : ('none' as const) };
  const schedule = constantSchedule(steps, o.lr, o.momentum);
  return {
    kind: 'real',
    settings: { ...o },
    score(cell) {
      const teacherBatch = realTeacherBatches(splits.train, o.batch, Rng.seeded(o.seed).fork('real-batches'), realAugment(cfg, splits.train));
      const bySteps = trainAndScore(cfg, schedule, cell, o, { ...splits, teacherBatch });
      const last = bySteps[bySteps.length - 1];
      return { score: last.scores[o.score]!, seconds: last.seconds, bySteps };
    },
  };
}
