// `gtn train`: meta-train a teacher into a run folder, or resume one.
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { GtnError } from '../../errors.js';
import { PRESET_NAMES, parseConfig, presetConfig, type TrainConfig } from '../../gtn/config.js';
import { readRunConfig, train, type TrainEvent } from '../../gtn/trainer.js';
import { parseIntOption, parseNumberOption } from '../options.js';
import { trackRun } from '../../records/index.js';
import { readArchs } from '../../nas/archFile.js';
import { formatCell, parseReduction, reductionField } from '../../models/index.js';
import { readRankTargets, withoutHeldOut } from '../../gtn/rankTargets.js';
import { recordScores } from '../../nas/rank.js';

interface TrainFlags {
  dataset?: string;
  preset: string;
  curriculum?: string;
  teacher?: string;
  out?: string;
  resume?: string;
  iterations?: number;
  steps?: number;
  batch?: number;
  seed?: number;
  metaLr?: number;
  clip?: number;
  skipNorm?: number;
  metaGradient?: string;
  curvature?: number;
  curvatureHorizon?: number;
  randomWidths?: boolean;
  randomCells?: boolean;
  holdOut?: string;
  innerOptimizer?: string;
  softLabels?: boolean;
  checkpointing?: string;
  evalEvery?: number;
  innerLr?: number;
  initFrom?: string;
  rankTargets?: string;
  rankWeight?: number;
  rankLoss?: string;
  rankTemperature?: number;
  rankTop?: number;
  reduction?: string;
  set: string[];
  quiet?: boolean;
}

/** `--set a.b=value`: value is JSON where it parses as JSON (numbers, booleans, arrays), else a string. */
function applySet(raw: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new GtnError(`--set expects key=value (e.g. --set meta.lr=0.01), got '${assignment}'`);
  const keys = assignment.slice(0, eq).split('.');
  const text = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  let node = raw;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new GtnError(`--set ${assignment}: '${k}' is not a group of settings`);
    node[k] = { ...(next as Record<string, unknown>) };
    node = node[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (!(last in node)) throw new GtnError(`--set ${assignment}: unknown setting '${keys.join('.')}'`);
  node[last] = value;
}

/** `--reduction`: the blocks between an nb201 learner's stages. */
function setReduction(raw: Record<string, unknown>, kind: string): void {
  const reduction = parseReduction(kind);
  const learner = raw.learner as { kind: string; reduction?: string };
  if (learner.kind !== 'nb201') throw new GtnError(`--reduction needs an nb201 learner (--preset nas), not '${learner.kind}'`);
  const { reduction: _, ...rest } = learner;
  raw.learner = { ...rest, ...reductionField(reduction) };
}

function buildConfig(f: TrainFlags): TrainConfig {
  const raw = presetConfig(f.preset, f.dataset ?? 'mnist') as unknown as Record<string, unknown>;
  if (f.curriculum) raw.curriculum = f.curriculum;
  if (f.teacher) raw.teacher = f.teacher;
  if (f.steps !== undefined) raw.steps = f.steps;
  if (f.batch !== undefined) raw.batch = f.batch;
  if (f.seed !== undefined) raw.seed = f.seed;
  if (f.randomWidths) raw.learnerSampling = 'widths';
  if (f.randomCells) raw.learnerSampling = 'cells';
  if (f.holdOut) raw.heldOutCells = readArchs(f.holdOut).map(formatCell);
  if (f.innerOptimizer) raw.innerOptimizer = f.innerOptimizer;
  if (f.softLabels) raw.softLabels = true;
  if (f.evalEvery !== undefined) raw.evalEvery = f.evalEvery;
  if (f.checkpointing) raw.checkpoint = f.checkpointing === 'on' ? true : f.checkpointing === 'off' ? false : f.checkpointing;
  const meta = raw.meta as Record<string, unknown>;
  if (f.iterations !== undefined) meta.iterations = f.iterations;
  if (f.metaLr !== undefined) meta.lr = f.metaLr;
  if (f.clip !== undefined) meta.clipNorm = f.clip;
  if (f.skipNorm !== undefined) meta.skipNorm = f.skipNorm;
  if (f.metaGradient) raw.metaGradient = f.metaGradient;
  if (f.curvature !== undefined) raw.curvature = f.curvature;
  if (f.curvatureHorizon !== undefined) raw.curvatureHorizon = f.curvatureHorizon;
  if (f.innerLr !== undefined) raw.innerLr = f.innerLr;
  if (f.initFrom) raw.initFrom = f.initFrom;
  if (f.reduction !== undefined) setReduction(raw, f.reduction);
  if (f.rankTargets) {
    // Cells whose networks the run holds out are left out of the pool here (they are the evaluation cells); a
    // config that still pairs the two is refused by parseConfig.
    const all = readRankTargets(f.rankTargets, recordScores);
    const pool = withoutHeldOut(all, raw.heldOutCells as string[]);
    if (!pool.length) throw new GtnError(`--rank-targets ${f.rankTargets}: every one of its ${all.length} cells is a network held out by --hold-out`);
    if (pool.length < all.length) console.error(`--rank-targets: ${all.length - pool.length} of ${all.length} cells are networks held out by --hold-out; the pool is the other ${pool.length}`);
    raw.rankTargets = pool;
    raw.rankWeight = f.rankWeight ?? 1;
    if (f.rankLoss) raw.rankLoss = f.rankLoss;
    if (f.rankTemperature !== undefined) raw.rankTemperature = f.rankTemperature;
    if (f.rankTop !== undefined) raw.rankTopFraction = f.rankTop;
  } else {
    const lone = f.rankWeight !== undefined ? '--rank-weight' : f.rankLoss ? '--rank-loss' : f.rankTemperature !== undefined ? '--rank-temperature' : f.rankTop !== undefined ? '--rank-top' : null;
    if (lone) throw new GtnError(`${lone} needs --rank-targets`);
  }
  for (const a of f.set) applySet(raw, a);
  const cfg = parseConfig(raw, 'the command-line options');
  if (cfg.heldOutCells.length && cfg.learnerSampling !== 'cells')
    throw new GtnError(`--hold-out needs random-cell sampling (--random-cells, or --preset nas); this run's learner sampling is '${cfg.learnerSampling}'`);
  return cfg;
}

/** Options that --resume takes: everything else is the run's config.json, so giving it would be silently ignored. */
const RESUME_OPTIONS = new Set(['resume', 'iterations', 'quiet']);

function refuseResumeOverrides(dir: string, cmd: Command): void {
  const given = cmd.options.filter((o) => !RESUME_OPTIONS.has(o.attributeName()) && cmd.getOptionValueSource(o.attributeName()) === 'cli');
  if (given.length) {
    const names = given.map((o) => o.long).join(', ');
    throw new GtnError(
      `--resume ${dir} continues that run with the settings of its config.json; ${names} cannot change them ` +
        `(--resume takes only --iterations and --quiet). To change settings, start a new run from it: --init-from ${dir} --out <new folder>`,
    );
  }
}

function progress(total: number, quiet: boolean): (e: TrainEvent) => void {
  if (quiet || !process.stderr.isTTY) {
    return (e) => {
      if (e.kind === 'validation') console.error(`iteration ${e.iteration}: validation accuracy ${(100 * e.accuracy).toFixed(2)}%${e.best ? ' (best)' : ''}`);
      else if (e.iteration % 10 === 0 || e.skipped) console.error(`iteration ${e.iteration}/${total}: meta-loss ${e.metaLoss.toFixed(4)}${e.skipped ? ' (non-finite, skipped)' : ''} ${e.seconds.toFixed(1)}s`);
    };
  }
  const bar = new SingleBar(
    { format: 'meta-train |{bar}| {value}/{total} iterations | ETA {eta_formatted} | meta-loss {loss} | val acc {val}', stream: process.stderr },
    Presets.shades_classic,
  );
  let started = false;
  let val = '-';
  return (e) => {
    if (e.kind === 'validation') {
      val = `${(100 * e.accuracy).toFixed(2)}%`;
      return;
    }
    if (!started) {
      bar.start(total, e.iteration - 1, { loss: '-', val });
      started = true;
    }
    bar.update(e.iteration, { loss: e.metaLoss.toFixed(4), val });
    if (e.iteration >= total) bar.stop();
  };
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('meta-train a teacher (GTN, or a baseline) and write a run folder')
    .option('--dataset <name>', 'mnist | fashion-mnist | cifar10', 'mnist')
    .option('--preset <name>', `configuration preset: ${PRESET_NAMES.join(' | ')} (per dataset; config.json shows every setting)`, 'cpu')
    .option('--curriculum <kind>', 'none | all-shuffled | shuffled-batch | full')
    .option('--teacher <kind>', 'gtn | real | distill')
    .option('--out <dir>', 'run folder to create (default runs/<dataset>-<preset>-<teacher>)')
    .option('--resume <dir>', "continue the run in this folder where it stopped, with its config.json's settings (only --iterations may change: a new total)")
    .option('--iterations <n>', 'outer iterations (with --resume: a new total for the run)', parseIntOption('--iterations'))
    .option('--steps <n>', 'inner steps T', parseIntOption('--steps'))
    .option('--batch <n>', 'synthetic batch size B', parseIntOption('--batch'))
    .option('--seed <n>', 'random seed', parseIntOption('--seed'))
    .option('--meta-lr <x>', 'meta-optimiser learning rate', parseNumberOption('--meta-lr'))
    .option('--clip <x>', 'clip the meta-gradient norm (0: off)', parseNumberOption('--clip'))
    .option('--skip-norm <x>', 'skip meta-steps whose gradient norm exceeds x (0: off); for chaotic unrolls through deep learners', parseNumberOption('--skip-norm'))
    .option('--meta-gradient <kind>', "exact | first-order (each inner gradient at a stopped copy of the weights: no learner curvature in the meta-gradient, which cannot explode through deep learners)")
    .option('--curvature <c>', "exact meta-gradient keeping the fraction c in [0, 1] of the learner's curvature (each step's weight Jacobian I - c lr H; 1: exact, 0: first order): damps the unroll's explosion through deep learners", parseNumberOption('--curvature'))
    .option('--curvature-horizon <k>', 'keep the curvature in the last k inner steps only (the earlier ones first order; 0: all): a truncated horizon', parseIntOption('--curvature-horizon'))
    .option('--random-widths', 'sample learner widths every outer iteration (conv and cifar learners)')
    .option('--random-cells', 'sample a random NAS-Bench-201 cell every outer iteration (nb201 learners)')
    .option('--hold-out <file>', 'cells (a cell per line, or a CSV with an arch_str column) whose networks random-cell sampling never draws: keep evaluation cells unseen')
    .option('--inner-optimizer <kind>', 'sgd | adam')
    .option('--soft-labels', 'learn soft labels for the synthetic data')
    .option('--checkpointing <mode>', 'gradient checkpointing of inner steps: on | off | auto')
    .option('--eval-every <n>', 'validate every n outer iterations', parseIntOption('--eval-every'))
    .option('--inner-lr <x>', 'initial inner learning rate (learned per step from there)', parseNumberOption('--inner-lr'))
    .option('--init-from <run>', "start from that run's best meta-parameters instead of a fresh teacher (its schedule and curriculum repeated when --steps is a multiple of its)")
    .option('--rank-targets <log>', 'rank-aware meta-training: learners are the cells of this `gtn nas rank --out` log (of one proxy, or of a vote: its mean ranks), and each meta-loss weighs 1 + w * z, z the standardised rank of the cell in it')
    .option('--rank-weight <w>', 'w of --rank-targets (default 1; 0: the plain meta-loss on those cells)', parseNumberOption('--rank-weight'))
    .option('--rank-loss <kind>', 'with --rank-targets: weighted (one cell, its loss weighed by rank) | pairwise (two cells, plus w times a logistic loss on their order under the train-loss score)')
    .option('--rank-temperature <t>', 'pairwise: training-loss difference at which the order loss saturates (default 0.1)', parseNumberOption('--rank-temperature'))
    .option('--rank-top <q>', 'pairwise: draw one cell of every pair from the best fraction q of the pool (default 1: all of it)', parseNumberOption('--rank-top'))
    .option('--reduction <kind>', "nb201 learners: blocks between the stages, resnet (NAS-Bench-201's residual block, the default) | pool (parameter-free: avg-pool 2x2/s2, channels repeated); meta-train for the proxy `gtn nas rank --reduction pool`")
    .option('--set <key=value>', 'override any setting of config.json, e.g. --set intermediateEvery=2 --set learner.widths=[64,128,256] (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--quiet', 'no progress bar; a line every 10 iterations')
    .action(async (f: TrainFlags, cmd: Command) => {
      if (f.resume) {
        refuseResumeOverrides(f.resume, cmd);
        const total = f.iterations ?? readRunConfig(f.resume).meta.iterations;
        const records = trackRun(f.resume);
        const show = progress(total, true); // the total, for 'iteration i/N' lines
        const s = await train(f.resume, null, { resume: true, iterations: f.iterations, onEvent: (e) => (show(e), records.update()) }).finally(() => records.close());
        console.log(JSON.stringify({ run: f.resume, iterations: s.iteration, bestValidation: s.bestValidation, skipped: s.totalSkips }));
        return;
      }
      const cfg = buildConfig(f);
      const out = f.out ?? `runs/${cfg.dataset}-${f.preset}-${cfg.teacher}`;
      const records = trackRun(out);
      const show = progress(cfg.meta.iterations, f.quiet ?? false);
      const s = await train(out, cfg, { onEvent: (e) => (show(e), records.update()) }).finally(() => records.close());
      console.log(JSON.stringify({ run: out, iterations: s.iteration, bestValidation: s.bestValidation, skipped: s.totalSkips }));
    });
}
