// Proxies by name: `gtn:RUN`, `real`, `params`, `synflow`, `nwot`, with their options in one serialisable
// description, so that a worker process (or machine) can build the same proxy from it.
import { loadTrainingSplits, type TrainingSplits } from '../../data/load.js';
import { GtnError } from '../../errors.js';
import { readRunConfig } from '../../gtn/trainer.js';
import { PAST_TEACHER, gtnProxy, type PastTeacher } from './gtn.js';
import { SCORE_KINDS, type Proxy, type ScoreKind } from './proxy.js';
import type { TrainingProxyOptions } from './training.js';
import { realProxy } from './real.js';
import { nwotProxy, paramsProxy, synflowProxy } from './zeroCost.js';

export { SCORE_KINDS, type Proxy, type ProxyResult, type ScoreKind, type StepScore } from './proxy.js';
export { seenCells } from './gtn.js';

export const PROXY_KINDS = ['gtn', 'real', 'params', 'synflow', 'nwot'] as const;

/** Every proxy's description: the training proxies' options (network, steps, scoring) and the others' own. */
export interface ProxySpec extends TrainingProxyOptions {
  kind: (typeof PROXY_KINDS)[number];
  /** gtn: the teacher's run folder. */
  run?: string;
  /** gtn: the batches past the teacher's T steps (unset: 'replay'; left out of the spec then, so older logs keep their key). */
  pastTeacher?: PastTeacher;
  /** real: SGD settings. */
  lr: number;
  momentum: number;
  batch: number;
  /** nwot: images in the batch. */
  nwotBatch: number;
}

export const PROXY_DEFAULTS: Omit<ProxySpec, 'kind'> = {
  steps: [128],
  score: 'val-acc',
  channels: 8,
  cells: 1,
  valImages: 1000,
  seed: 0,
  lr: 0.1,
  momentum: 0.9,
  batch: 64,
  nwotBatch: 64,
  bnCalibration: 0,
};

/** 'gtn:runs/nas' -> {kind: 'gtn', run: 'runs/nas'}; the network defaults to the teacher's own (C, N). */
export function parseProxy(text: string, over: Partial<ProxySpec> = {}): ProxySpec {
  const [kind, ...rest] = text.split(':');
  if (!(PROXY_KINDS as readonly string[]).includes(kind)) throw new GtnError(`--proxy must be one of gtn:RUN, real, params, synflow, nwot; got '${text}'`);
  const run = rest.join(':') || undefined;
  if (kind === 'gtn' && !run) throw new GtnError("--proxy gtn needs the teacher's run folder: --proxy gtn:runs/NAME");
  if (kind !== 'gtn' && run) throw new GtnError(`--proxy ${kind} takes no argument (got '${text}')`);
  const spec: ProxySpec = { ...PROXY_DEFAULTS, kind: kind as ProxySpec['kind'], run };
  if (run) {
    const learner = readRunConfig(run).learner;
    if (learner.kind === 'nb201') Object.assign(spec, { channels: learner.channels, cells: learner.cells });
  }
  for (const [k, v] of Object.entries(over)) if (v !== undefined) (spec as unknown as Record<string, unknown>)[k] = v;
  if (spec.pastTeacher !== undefined && !PAST_TEACHER.includes(spec.pastTeacher)) throw new GtnError(`--past-teacher must be one of ${PAST_TEACHER.join(', ')}; got '${spec.pastTeacher}'`);
  if (spec.pastTeacher !== undefined && kind !== 'gtn') throw new GtnError(`--past-teacher applies to the gtn proxy only (got --proxy ${kind})`);
  if (spec.pastTeacher === 'replay') delete spec.pastTeacher; // the default: the same key as a spec without it
  if (!(SCORE_KINDS as readonly string[]).includes(spec.score)) throw new GtnError(`--score must be one of ${SCORE_KINDS.join(', ')}; got '${spec.score}'`);
  if (!spec.steps.length || spec.steps.some((s) => !Number.isInteger(s) || s < 1)) throw new GtnError(`--steps must be positive integers, got '${spec.steps.join(',')}'`);
  spec.steps = [...new Set(spec.steps)].sort((a, b) => a - b);
  return spec;
}

/** What the proxy's records are keyed on: the kind and every setting that changes its scores. */
export function proxyLabel(p: ProxySpec): string {
  return p.kind === 'gtn' ? `gtn:${p.run}` : p.kind;
}

const needsData = (kind: ProxySpec['kind']) => kind === 'gtn' || kind === 'real' || kind === 'nwot';

export async function buildProxy(p: ProxySpec, data?: TrainingSplits): Promise<Proxy> {
  const splits = needsData(p.kind) ? (data ?? (await loadTrainingSplits('cifar10'))) : undefined;
  const train: TrainingProxyOptions = { steps: p.steps, score: p.score, channels: p.channels, cells: p.cells, valImages: p.valImages, seed: p.seed, bnCalibration: p.bnCalibration };
  switch (p.kind) {
    case 'gtn':
      return gtnProxy(p.run!, splits!, { ...train, pastTeacher: p.pastTeacher });
    case 'real':
      return realProxy(splits!, { ...train, lr: p.lr, momentum: p.momentum, batch: p.batch, augment: true });
    case 'params':
      return paramsProxy({ channels: p.channels, cells: p.cells, seed: p.seed });
    case 'synflow':
      return synflowProxy({ channels: p.channels, cells: p.cells, seed: p.seed });
    case 'nwot':
      return nwotProxy(splits!.train, { channels: p.channels, cells: p.cells, seed: p.seed, batch: p.nwotBatch });
  }
}
