// Meta-training: the outer loop over a run folder. Every outer iteration is reproducible from (seed,
// iteration) alone, and the state is checkpointed atomically after each one, so a killed run resumes to the
// same numbers as one that was never interrupted.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, treeLeaves } from '../tensor/index.js';
import { loadTrainingSplits, type TrainingSplits } from '../data/load.js';
import { GtnError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { parseConfig, type TrainConfig } from './config.js';
import { evaluateTeacher } from './evaluate.js';
import { freshLearner, iterationData, poolCellSpec, sampleLearnerSpec, unrollConfig } from './experiment.js';
import { initMetaParams, warmStartMetaParams } from './metaParams.js';
import { initAdam } from './metaOptim.js';
import { metaStep, pairMetaStep, type MetaStepResult } from './metaStep.js';
import { samplePair } from './rankTargets.js';
import type { Split } from '../data/splits.js';
import { loadRunState, saveRunState, type RunState } from './runState.js';
import { syntheticGrid } from './samples.js';

export const runFiles = (dir: string) => ({
  config: join(dir, 'config.json'),
  metrics: join(dir, 'metrics.jsonl'),
  last: join(dir, 'checkpoints', 'last.gtnckpt'),
  best: join(dir, 'checkpoints', 'best.gtnckpt'),
  samples: join(dir, 'samples'),
});

export interface IterationEvent {
  kind: 'iteration';
  iteration: number; // 1-based count of completed iterations
  metaLoss: number;
  gradNorm: number;
  skipped: boolean;
  seconds: number;
}

export interface EvalEvent {
  kind: 'validation';
  iteration: number;
  accuracy: number;
  best: boolean;
}

export type TrainEvent = IterationEvent | EvalEvent;

export function readRunConfig(dir: string): TrainConfig {
  const f = runFiles(dir).config;
  if (!existsSync(f)) throw new GtnError(`${dir} is not a run folder (no config.json)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(f, 'utf8'));
  } catch {
    throw new GtnError(`${f} is not valid JSON`);
  }
  return parseConfig(raw, f);
}

/** Keeps only the metric lines of iterations <= `iteration` (a killed run may have logged past its checkpoint). */
function truncateMetrics(file: string, iteration: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && (JSON.parse(l) as { iteration: number }).iteration <= iteration);
  writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
}

/** The best meta-parameters of the run `cfg.initFrom`, checked to be a teacher of the same kind and data. */
function initialTeacher(cfg: TrainConfig) {
  const from = cfg.initFrom!;
  const src = readRunConfig(from);
  if (src.dataset !== cfg.dataset || src.teacher !== cfg.teacher) {
    throw new GtnError(`--init-from ${from}: that run is a ${src.teacher} teacher for ${src.dataset}; this one is a ${cfg.teacher} teacher for ${cfg.dataset}`);
  }
  const f = runFiles(from);
  const file = existsSync(f.best) ? f.best : f.last;
  if (!existsSync(file)) throw new GtnError(`--init-from ${from}: no checkpoint there (${f.best})`);
  return loadRunState(file).meta;
}

export interface TrainOptions {
  resume?: boolean;
  /**
   * With `resume`: a new total of outer iterations, written to config.json (at least the iterations already run).
   * The cosine meta-lr schedule spans the new total from the current iteration on, so a longer run is not the
   * same as one started with that total.
   */
  iterations?: number;
  onEvent?: (e: TrainEvent) => void;
  /** Stop after this many iterations of this call (for tests of resumption); default: run to the end. */
  maxIterations?: number;
  /** The splits to use (default: loaded from the config's dataset); there is no test split here. */
  data?: TrainingSplits;
}

/** One learner (sampled, or a pool cell with its weight) and its meta-step; `logged` goes into metrics.jsonl. */
function singleIteration(cfg: TrainConfig, state: RunState, train: Split, rng: Rng): { res: MetaStepResult; logged: object } {
  const { spec, weight } = sampleLearnerSpec(cfg, rng.fork('widths'));
  const res = metaStep(unrollConfig(cfg, spec), cfg.meta, state.adam, state.meta, freshLearner(cfg, spec, rng.fork('learner')), iterationData(cfg, train, rng), rng.fork('curriculum'), weight);
  return { res, logged: { learner: spec, ...(cfg.rankTargets.length ? { weight } : {}) } };
}

/** Two pool cells of different target scores, the same teacher data and real batches, and a pairwise meta-step. */
function pairIteration(cfg: TrainConfig, state: RunState, train: Split, rng: Rng): { res: MetaStepResult; logged: object } {
  const { a, b } = samplePair(cfg.rankTargets, rng.fork('widths'), cfg.rankTopFraction);
  const [sa, sb] = [poolCellSpec(cfg, a), poolCellSpec(cfg, b)];
  const aBetter = cfg.rankTargets[a].score > cfg.rankTargets[b].score;
  const res = pairMetaStep(
    { cfg: unrollConfig(cfg, sa), learner0: freshLearner(cfg, sa, rng.fork('learner')) },
    { cfg: unrollConfig(cfg, sb), learner0: freshLearner(cfg, sb, rng.fork('learner-b')) },
    cfg.meta,
    state.adam,
    state.meta,
    iterationData(cfg, train, rng),
    () => rng.fork('curriculum'),
    { aBetter, weight: cfg.rankWeight, temperature: cfg.rankTemperature },
  );
  return { res, logged: { learner: sa, learnerB: sb, aBetter, rankLoss: res.rankLoss, ordered: res.ordered } };
}

export async function train(dir: string, cfgIn: TrainConfig | null, opts: TrainOptions = {}): Promise<RunState> {
  const files = runFiles(dir);
  let cfg: TrainConfig;
  let state: RunState;
  if (opts.resume) {
    cfg = readRunConfig(dir);
    if (!existsSync(files.last)) throw new GtnError(`${dir} has no checkpoint to resume from (${files.last})`);
    state = loadRunState(files.last);
    if (opts.iterations !== undefined && opts.iterations !== cfg.meta.iterations) {
      if (opts.iterations < state.iteration) throw new GtnError(`--iterations ${opts.iterations}: ${dir} has run ${state.iteration} iterations already`);
      cfg = { ...cfg, meta: { ...cfg.meta, iterations: opts.iterations } };
      writeFileAtomic(files.config, `${JSON.stringify(cfg, null, 2)}\n`);
    }
    truncateMetrics(files.metrics, state.iteration);
  } else {
    if (!cfgIn) throw new GtnError('train: a configuration is needed for a new run');
    if (existsSync(files.config)) throw new GtnError(`${dir} already holds a run; use --resume to continue it or choose another --out`);
    cfg = cfgIn;
    let meta = initMetaParams(unrollConfig(cfg), { innerLr: cfg.innerLr, innerMomentum: cfg.innerMomentum }, Rng.seeded(cfg.seed).fork('init'));
    if (cfg.initFrom) meta = warmStartMetaParams(meta, initialTeacher(cfg), cfg.initFrom);
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(files.config, `${JSON.stringify(cfg, null, 2)}\n`);
    state = { iteration: 0, meta, adam: initAdam(treeLeaves(meta)), bestValidation: null, consecutiveSkips: 0, totalSkips: 0 };
  }
  const data = opts.data ?? (await loadTrainingSplits(cfg.dataset));
  const log = (obj: object) => appendFileSync(files.metrics, `${JSON.stringify(obj)}\n`);
  const stopAt = opts.maxIterations !== undefined ? Math.min(cfg.meta.iterations, state.iteration + opts.maxIterations) : cfg.meta.iterations;

  while (state.iteration < stopAt) {
    const it = state.iteration;
    const rng = Rng.seeded(cfg.seed).fork(`iteration-${it}`);
    const t0 = performance.now();
    const { res, logged } = cfg.rankLoss === 'pairwise' ? pairIteration(cfg, state, data.train, rng) : singleIteration(cfg, state, data.train, rng);
    const seconds = (performance.now() - t0) / 1000;
    state.iteration = it + 1;
    state.meta = res.meta;
    state.consecutiveSkips = res.skipped ? state.consecutiveSkips + 1 : 0;
    state.totalSkips += res.skipped ? 1 : 0;
    const ev: IterationEvent = { kind: 'iteration', iteration: state.iteration, metaLoss: res.metaLoss, gradNorm: res.gradNorm, skipped: res.skipped, seconds };
    log({ ...ev, ...logged, innerLr: Array.from(state.meta.logLr.data, Math.exp), innerMomentum: Array.from(state.meta.momentumLogit.data, (x) => 1 / (1 + Math.exp(-x))) });
    opts.onEvent?.(ev);
    if (state.consecutiveSkips >= cfg.maxSkips) {
      throw new GtnError(
        `stopping: ${state.consecutiveSkips} meta-steps in a row were skipped (a non-finite loss or gradient, or a gradient norm over --skip-norm; ` +
          `last loss ${res.metaLoss}, norm ${res.gradNorm}); the last good checkpoint is ${files.last} (iteration ${state.iteration - state.consecutiveSkips}). ` +
          `Try a lower meta learning rate, --clip, or a higher --skip-norm.`,
      );
    }
    if (state.iteration % cfg.evalEvery === 0 || state.iteration === cfg.meta.iterations) {
      const v = evaluateTeacher(cfg, state.meta, data.validation, { seeds: Array.from({ length: cfg.evalLearners }, (_, k) => 1000 + k), limit: cfg.evalImages, train: data.train });
      const isBest = state.bestValidation === null || v.mean > state.bestValidation;
      if (isBest) {
        state.bestValidation = v.mean;
        saveRunState(files.best, state);
      }
      const grid = syntheticGrid(cfg, state.meta, 0);
      if (grid) writeFileAtomic(join(files.samples, `iteration-${String(state.iteration).padStart(6, '0')}.png`), grid);
      const e: EvalEvent = { kind: 'validation', iteration: state.iteration, accuracy: v.mean, best: isBest };
      log(e);
      opts.onEvent?.(e);
    }
    // Only finite states are saved: a skipped step leaves the parameters as they were anyway.
    saveRunState(files.last, state);
  }
  return state;
}
