// The GTN proxy: a fresh network trained k steps on a frozen teacher's synthetic batches with the teacher's
// learned per-step lr and momentum, scored on CIFAR-10 validation images. The teacher's batches are made once
// (its generator is frozen, so every candidate sees the same data) and replayed; past the teacher's T steps
// the curriculum and schedule start again from step 0 ('replay'), or the schedule does and the batches come
// from the generator on fresh noise ('fresh': data the network has not seen yet, the same for every candidate),
// or the replayed batches are mirrored ('flip') or randomly shifted and mirrored ('augment', CIFAR's pad-4 crop
// and flip) per image, drawn once for every step so that every candidate sees the same images. Several teachers
// (`gtn:A:B`) take turns: A's T steps with A's schedule, then B's, then A's again.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { blackFill, cifarAugment, randomCropFlip } from '../../data/augment.js';
import type { Split } from '../../data/splits.js';
import { GtnError } from '../../errors.js';
import { repeatSteps } from '../../gtn/metaParams.js';
import { loadRunState } from '../../gtn/runState.js';
import { syntheticBatch } from '../../gtn/samples.js';
import { readRunConfig, runFiles } from '../../gtn/trainer.js';
import type { Batch, MetaParams } from '../../gtn/unroll.js';
import { Rng, concat, tensor, type Tensor } from '../../tensor/index.js';
import type { TrainConfig } from '../../gtn/config.js';
import type { Proxy } from './proxy.js';
import { trainAndScore, type TrainingProxyOptions } from './training.js';

export type PastTeacher = 'replay' | 'fresh' | 'flip' | 'augment';
export const PAST_TEACHER: readonly PastTeacher[] = ['replay', 'fresh', 'flip', 'augment'];

/** The teacher runs of a gtn proxy's `run`: one folder, or several joined by ':' (their curricula in turn). */
export const teacherRuns = (run: string): string[] => run.split(':');

export function gtnProxy(
  run: string,
  splits: { train: Split; validation: Split },
  o: TrainingProxyOptions & { checkpoint?: 'best' | 'last'; pastTeacher?: PastTeacher },
): Proxy {
  const runs = teacherRuns(run);
  const steps = Math.max(...o.steps);
  const fresh = o.pastTeacher === 'fresh';
  if (fresh && runs.length > 1) throw new GtnError(`--proxy gtn:${run}: --past-teacher fresh takes one teacher`);
  const batches: Batch[] = [];
  const logLr: Tensor[] = [];
  const momentumLogit: Tensor[] = [];
  const hashes: string[] = [];
  let cfg0: TrainConfig | undefined;
  for (const r of runs) {
    const cfg = readRunConfig(r);
    if (cfg.teacher !== 'gtn') throw new GtnError(`--proxy gtn:${run}: the teacher of ${r} is '${cfg.teacher}', not a GTN`);
    if (cfg.dataset !== 'cifar10') throw new GtnError(`--proxy gtn:${run}: ${r} was trained on ${cfg.dataset}; NB201 proxies score CIFAR-10`);
    cfg0 ??= cfg;
    const file = o.checkpoint === 'last' ? runFiles(r).last : runFiles(r).best;
    const state = loadRunState(file);
    // One teacher: its T steps (with 'fresh', every step from its generator). Several: each one's T steps in turn.
    const n = fresh ? steps : runs.length > 1 ? cfg.steps : Math.min(steps, cfg.steps);
    for (let t = 0; t < n; t++) {
      const b = syntheticBatch(cfg, state.meta, t, 0, t >= cfg.steps)!;
      batches.push({ x: tensor(b.x, [b.y.length, ...splits.validation.shape]), y: tensor(b.y, [b.y.length]) });
    }
    logLr.push(state.meta.logLr);
    momentumLogit.push(state.meta.momentumLogit);
    hashes.push(createHash('sha256').update(readFileSync(file)).digest('hex'));
  }
  const teacherSteps = runs.length > 1 ? batches.length : cfg0!.steps;
  if (o.pastTeacher === 'flip' || o.pastTeacher === 'augment') batches.push(...augmentedReplay(batches, steps, o.pastTeacher, splits.validation, o.seed));
  const schedule: MetaParams = { logLr: repeatSteps(concat(logLr, 0), steps), momentumLogit: repeatSteps(concat(momentumLogit, 0), steps) };
  return {
    kind: 'gtn',
    settings: { teacher: run, teacherSha256: hashes.join(':'), teacherSteps, ...o },
    score(cell) {
      const bySteps = trainAndScore(cfg0!, schedule, cell, o, { ...splits, teacherBatch: (t) => batches[t % batches.length] });
      const last = bySteps[bySteps.length - 1];
      return { score: last.scores[o.score]!, seconds: last.seconds, bySteps };
    },
  };
}

/**
 * The batches of steps T .. steps-1 (T = batches.length): batch t % T again, each image mirrored at random ('flip')
 * or shifted by up to 4 pixels with a black frame and mirrored at random ('augment'), drawn from `seed` and the
 * step alone, so every candidate scored with that seed sees the same images.
 */
export function augmentedReplay(batches: readonly Batch[], steps: number, mode: 'flip' | 'augment', split: Pick<Split, 'mean' | 'std'>, seed: number): Batch[] {
  const augment = mode === 'flip' ? randomCropFlip({ pad: 0, fill: blackFill(split) }) : cifarAugment(split);
  const rng = Rng.seeded(seed).fork('past-teacher');
  const out: Batch[] = [];
  for (let t = batches.length; t < steps; t++) {
    const b = batches[t % batches.length];
    const x = new Float32Array(b.x.data as Float32Array);
    augment({ x, y: b.y.data as Int32Array, shape: b.x.shape as [number, number, number, number] }, rng.fork(`step-${t}`));
    out.push({ x: tensor(x, b.x.shape), y: b.y });
  }
  return out;
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
