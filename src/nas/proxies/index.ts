// Proxies by name: `gtn:RUN`, `real`, `params`, `synflow`, `nwot`, `meco`, and votes of them (`P1+P2`, each member with
// its own options: `gtn:runs/t,cells=2+gtn:runs/t,channels=4,cells=5+nwot`), with their options in one
// serialisable description, so that a worker process (or machine) can build the same proxy from it.
import { loadTrainingSplits, type TrainingSplits } from '../../data/load.js';
import { GtnError } from '../../errors.js';
import { readRunConfig } from '../../gtn/trainer.js';
import { PAST_TEACHER, gtnProxy, teacherRuns, type PastTeacher } from './gtn.js';
import { SCORE_KINDS, type Proxy, type ScoreKind } from './proxy.js';
import type { TrainingProxyOptions } from './training.js';
import { parseReduction, type Reduction } from '../../models/index.js';
import { realProxy } from './real.js';
import { voteProxy } from './vote.js';
import { mecoProxy, nwotProxy, paramsProxy, synflowProxy } from './zeroCost.js';

export { SCORE_KINDS, type Proxy, type ProxyResult, type ScoreKind, type StepScore } from './proxy.js';
export { seenCells } from './gtn.js';

export const PROXY_KINDS = ['gtn', 'real', 'params', 'synflow', 'nwot', 'meco'] as const;

/** Every proxy's description: the training proxies' options (network, steps, scoring) and the others' own. */
export interface ProxySpec extends TrainingProxyOptions {
  kind: (typeof PROXY_KINDS)[number] | 'vote';
  /** vote: its members (the vote's own training options are unused). */
  parts?: ProxySpec[];
  /** gtn: the teacher's run folder (several joined by ':': their curricula in turn). */
  run?: string;
  /** gtn: the batches past the teacher's T steps (unset: 'replay'; left out of the spec then, so older logs keep their key). */
  pastTeacher?: PastTeacher;
  /** real: SGD settings. */
  lr: number;
  momentum: number;
  batch: number;
  /** nwot, meco: images in the batch (meco reads the first image's features; the batch sets batch norm's statistics). */
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

/** The options a vote member may set for itself (`,key=value` after its name), and the field each sets. */
const MEMBER_OPTIONS: Record<string, keyof ProxySpec> = { steps: 'steps', score: 'score', channels: 'channels', cells: 'cells', reduction: 'reduction', 'val-images': 'valImages', seed: 'seed', lr: 'lr', momentum: 'momentum', batch: 'batch' };

/** 'gtn:runs/t,cells=2' -> the member's name and its own options (over the command line's). */
function parseMember(text: string, over: Partial<ProxySpec>): ProxySpec {
  const [name, ...opts] = text.split(',');
  const own: Partial<ProxySpec> = {};
  for (const o of opts) {
    const [key, value, extra] = o.split('=');
    const field = MEMBER_OPTIONS[key];
    if (!field || value === undefined || extra !== undefined || value === '') {
      throw new GtnError(`--proxy '${text}': '${o}' is not an option of a vote member (key=value with key one of ${Object.keys(MEMBER_OPTIONS).join(', ')})`);
    }
    if (field === 'score') own.score = value as ScoreKind;
    else if (field === 'reduction') own.reduction = value as Reduction;
    else if (field === 'steps') own.steps = value.split('/').map(Number);
    else {
      const x = Number(value);
      if (!Number.isFinite(x)) throw new GtnError(`--proxy '${text}': ${key} must be a number, got '${value}'`);
      (own as Record<string, unknown>)[field] = x;
    }
  }
  return parseProxy(name, { ...over, ...own });
}

/**
 * 'gtn:runs/nas' -> {kind: 'gtn', run: 'runs/nas'}; the network defaults to the teacher's own (C, N).
 * 'A+B+...' -> a vote of A, B, ... (each `name[,key=value...]`, its options over those of `over`).
 */
export function parseProxy(text: string, over: Partial<ProxySpec> = {}): ProxySpec {
  if (text.includes('+')) {
    const members = text.split('+');
    if (members.some((m) => !m)) throw new GtnError(`--proxy '${text}': a vote is PROXY+PROXY[+...], with no empty member`);
    if (over.pastTeacher !== undefined) throw new GtnError('--past-teacher does not apply to a vote of proxies');
    return { ...PROXY_DEFAULTS, kind: 'vote', parts: members.map((m) => parseMember(m, over)) };
  }
  if (text.includes(',')) throw new GtnError(`--proxy '${text}': per-proxy options (',key=value') are for the members of a vote (P1+P2); give this proxy's options as flags`);
  const [kind, ...rest] = text.split(':');
  if (!(PROXY_KINDS as readonly string[]).includes(kind)) throw new GtnError(`--proxy must be one of gtn:RUN, real, params, synflow, nwot, meco; got '${text}'`);
  const run = rest.join(':') || undefined;
  if (kind === 'gtn' && !run) throw new GtnError("--proxy gtn needs the teacher's run folder: --proxy gtn:runs/NAME");
  if (kind !== 'gtn' && run) throw new GtnError(`--proxy ${kind} takes no argument (got '${text}')`);
  const spec: ProxySpec = { ...PROXY_DEFAULTS, kind: kind as ProxySpec['kind'], run };
  if (run) {
    const [learner] = teacherRuns(run).map((r) => readRunConfig(r).learner); // every teacher read: a missing one fails here
    if (learner.kind === 'nb201') Object.assign(spec, { channels: learner.channels, cells: learner.cells, reduction: learner.reduction });
  }
  for (const [k, v] of Object.entries(over)) if (v !== undefined) (spec as unknown as Record<string, unknown>)[k] = v;
  if (spec.pastTeacher !== undefined && !PAST_TEACHER.includes(spec.pastTeacher)) throw new GtnError(`--past-teacher must be one of ${PAST_TEACHER.join(', ')}; got '${spec.pastTeacher}'`);
  if (spec.pastTeacher !== undefined && kind !== 'gtn') throw new GtnError(`--past-teacher applies to the gtn proxy only (got --proxy ${kind})`);
  if (spec.pastTeacher === 'replay') delete spec.pastTeacher; // the default: the same key as a spec without it
  if (spec.reduction !== undefined) parseReduction(spec.reduction);
  if (spec.reduction === undefined || spec.reduction === 'resnet') delete spec.reduction; // likewise
  if (!(SCORE_KINDS as readonly string[]).includes(spec.score)) throw new GtnError(`--score must be one of ${SCORE_KINDS.join(', ')}; got '${spec.score}'`);
  if (!spec.steps.length || spec.steps.some((s) => !Number.isInteger(s) || s < 1)) throw new GtnError(`--steps must be positive integers, got '${spec.steps.join(',')}'`);
  spec.steps = [...new Set(spec.steps)].sort((a, b) => a - b);
  return spec;
}

/** What the proxy's records are keyed on: the kind and every setting that changes its scores. */
export function proxyLabel(p: ProxySpec): string {
  if (p.kind === 'vote') return p.parts!.map(proxyLabel).join('+');
  return p.kind === 'gtn' ? `gtn:${p.run}` : p.kind;
}

/** Whether the proxy reads CIFAR-10 (a vote: any of its members). */
export const needsData = (p: ProxySpec): boolean => p.kind === 'gtn' || p.kind === 'real' || p.kind === 'nwot' || p.kind === 'meco' || (p.parts ?? []).some(needsData);

/** The teacher runs a proxy reads (a vote's members' too). */
export const proxyRuns = (p: ProxySpec): string[] => (p.kind === 'vote' ? p.parts!.flatMap(proxyRuns) : p.run ? teacherRuns(p.run) : []);

export async function buildProxy(p: ProxySpec, data?: TrainingSplits): Promise<Proxy> {
  const splits = needsData(p) ? (data ?? (await loadTrainingSplits('cifar10'))) : undefined;
  if (p.kind === 'vote') {
    const members: Proxy[] = [];
    for (const m of p.parts!) members.push(await buildProxy(m, splits));
    return voteProxy(members);
  }
  const train: TrainingProxyOptions = { steps: p.steps, score: p.score, channels: p.channels, cells: p.cells, reduction: p.reduction, valImages: p.valImages, seed: p.seed, bnCalibration: p.bnCalibration };
  switch (p.kind) {
    case 'gtn':
      return gtnProxy(p.run!, splits!, { ...train, pastTeacher: p.pastTeacher });
    case 'real':
      return realProxy(splits!, { ...train, lr: p.lr, momentum: p.momentum, batch: p.batch, augment: true });
    case 'params':
      return paramsProxy({ channels: p.channels, cells: p.cells, reduction: p.reduction, seed: p.seed });
    case 'synflow':
      return synflowProxy({ channels: p.channels, cells: p.cells, reduction: p.reduction, seed: p.seed });
    case 'nwot':
      return nwotProxy(splits!.train, { channels: p.channels, cells: p.cells, reduction: p.reduction, seed: p.seed, batch: p.nwotBatch });
    case 'meco':
      return mecoProxy(splits!.train, { channels: p.channels, cells: p.cells, reduction: p.reduction, seed: p.seed, batch: p.nwotBatch });
  }
}
