// The GTN proxy: a fresh network trained k steps on a frozen teacher's synthetic batches with the teacher's
// learned per-step lr and momentum, scored on CIFAR-10 validation images. The teacher's batches are made once
// (its generator is frozen, so every candidate sees the same data) and replayed; past the teacher's T steps
// the curriculum and schedule start again from step 0 ('replay'), or the schedule does and the batches come
// from the generator on fresh noise ('fresh': data the network has not seen yet, the same for every candidate).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Split } from '../../data/splits.js';
import { GtnError } from '../../errors.js';
import { repeatSteps } from '../../gtn/metaParams.js';
import { loadRunState } from '../../gtn/runState.js';
import { syntheticBatch } from '../../gtn/samples.js';
import { readRunConfig, runFiles } from '../../gtn/trainer.js';
import type { Batch, MetaParams } from '../../gtn/unroll.js';
import { tensor } from '../../tensor/index.js';
import type { Proxy } from './proxy.js';
import { trainAndScore, type TrainingProxyOptions } from './training.js';

export type PastTeacher = 'replay' | 'fresh';
export const PAST_TEACHER: readonly PastTeacher[] = ['replay', 'fresh'];

export function gtnProxy(
  run: string,
  splits: { train: Split; validation: Split },
  o: TrainingProxyOptions & { checkpoint?: 'best' | 'last'; pastTeacher?: PastTeacher },
): Proxy {
  const cfg = readRunConfig(run);
  if (cfg.teacher !== 'gtn') throw new GtnError(`--proxy gtn:${run}: that run's teacher is '${cfg.teacher}', not a GTN`);
  if (cfg.dataset !== 'cifar10') throw new GtnError(`--proxy gtn:${run}: the teacher was trained on ${cfg.dataset}; NB201 proxies score CIFAR-10`);
  const files = runFiles(run);
  const file = o.checkpoint === 'last' ? files.last : files.best;
  const state = loadRunState(file);
  const steps = Math.max(...o.steps);
  const fresh = o.pastTeacher === 'fresh';
  const batches: Batch[] = [];
  for (let t = 0; t < (fresh ? steps : Math.min(steps, cfg.steps)); t++) {
    const b = syntheticBatch(cfg, state.meta, t, 0, t >= cfg.steps)!;
    batches.push({ x: tensor(b.x, [b.y.length, ...splits.validation.shape]), y: tensor(b.y, [b.y.length]) });
  }
  const schedule: MetaParams = { logLr: repeatSteps(state.meta.logLr, steps), momentumLogit: repeatSteps(state.meta.momentumLogit, steps) };
  const teacherHash = createHash('sha256').update(readFileSync(file)).digest('hex');
  return {
    kind: 'gtn',
    settings: { teacher: run, teacherSha256: teacherHash, teacherSteps: cfg.steps, ...o },
    score(cell) {
      const bySteps = trainAndScore(cfg, schedule, cell, o, { ...splits, teacherBatch: (t) => batches[t % batches.length] });
      const last = bySteps[bySteps.length - 1];
      return { score: last.scores[o.score]!, seconds: last.seconds, bySteps };
    },
  };
}

/**
 * The NB201 cells (as strings) a teacher's meta-training used, from its metrics log, and those of the run it was
 * warm-started from (`initFrom`), all the way back.
 */
export function seenCells(run: string, visited = new Set<string>()): Set<string> {
  const seen = new Set<string>();
  if (visited.has(run)) return seen;
  visited.add(run);
  let text = '';
  try {
    text = readFileSync(runFiles(run).metrics, 'utf8');
  } catch {
    // no iterations logged yet: nothing seen by this run itself (the run it started from may have seen some)
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"nb201"')) continue;
    const l = JSON.parse(line) as { learner?: { kind: string; cell?: string }; learnerB?: { kind: string; cell?: string } };
    for (const x of [l.learner, l.learnerB]) if (x?.kind === 'nb201' && x.cell) seen.add(x.cell); // learnerB: pairwise iterations
  }
  const cfg = readRunConfig(run);
  // The scores of rank-target cells taught the teacher even when no iteration drew them.
  for (const t of cfg.rankTargets) seen.add(t.cell);
  const from = cfg.initFrom;
  if (from) for (const c of seenCells(from, visited)) seen.add(c);
  return seen;
}
