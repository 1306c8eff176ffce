// `gtn eval`: few-step test accuracy of a run's teacher, and with --vs-real the real-data steps it saves.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadDataset } from '../../data/load.js';
import { evaluateTeacher } from '../../gtn/evaluate.js';
import { loadRunState } from '../../gtn/runState.js';
import { readRunConfig, runFiles } from '../../gtn/trainer.js';
import { gridCandidates, realConfig, scoreTuned, stepsToMatch, tuneReal, type RealCandidate } from '../../gtn/realBaseline.js';
import { learnerName, type LearnerSpec } from '../../models/index.js';
import { GtnError } from '../../errors.js';
import { parseIntOption } from '../options.js';
import { commandLine, recordEvaluation } from '../../records/index.js';

function parseWidths(v: string): LearnerSpec[] {
  return v.split(';').map((w) => {
    const parts = w.split(',').map(Number);
    if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new GtnError(`--widths expects conv learner widths like '32,64,128;48,96,192', got '${v}'`);
    }
    return { kind: 'conv', widths: [parts[0], parts[1], parts[2]] } as LearnerSpec;
  });
}

function parseList(name: string, v: string, check: (x: number) => boolean): number[] {
  const xs = v.split(',').map(Number);
  if (!xs.length || xs.some((x) => !Number.isFinite(x) || !check(x))) throw new GtnError(`${name} expects a comma-separated list of numbers, got '${v}'`);
  return xs;
}

interface EvalFlags {
  steps?: number;
  seeds: number;
  checkpoint: string;
  widths?: string;
  bnStats?: string;
  json?: boolean;
  vsReal?: boolean;
  realRun?: string;
  gridLr: string;
  gridMomentum: string;
  tuneImages: number;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function checkpointOf(run: string, which: string): string {
  const files = runFiles(run);
  const file = which === 'last' ? files.last : which === 'best' ? files.best : null;
  if (!file) throw new GtnError(`--checkpoint must be best or last, got '${which}'`);
  return existsSync(file) ? file : files.last;
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval <run>')
    .description('train fresh learners on the teacher for T steps and report test accuracy')
    .option('--steps <n>', 'inner steps (at most the T the teacher was trained for)', parseIntOption('--steps'))
    .option('--seeds <n>', 'fresh learners (seeds)', parseIntOption('--seeds'), 5)
    .option('--checkpoint <which>', 'best | last', 'best')
    .option('--widths <list>', "also evaluate conv learners of these widths, e.g. '32,64,128;96,192,192'")
    .option('--bn-stats <which>', "BN statistics for scoring: 'last' synthetic batch or 'running' mean over the inner steps (default: the run's)")
    .option('--vs-real', 'also train on real augmented data for T, 2T, 4T, 8T, 16T steps (lr and momentum tuned on validation) and report the speed-up')
    .option('--real-run <dir>', "with --vs-real: a '--teacher real' run whose meta-learned schedule competes with the grid at T steps")
    .option('--grid-lr <list>', 'with --vs-real: learning rates to tune over', '0.01,0.03,0.1,0.3')
    .option('--grid-momentum <list>', 'with --vs-real: momenta to tune over', '0.5,0.9')
    .option('--tune-images <n>', 'with --vs-real: validation images per tuning score', parseIntOption('--tune-images'), 2000)
    .option('--json', 'print one JSON object on the last line')
    .action(async (run: string, f: EvalFlags) => {
      const cfg = readRunConfig(run);
      const ckpt = checkpointOf(run, f.checkpoint);
      const state = loadRunState(ckpt);
      const steps = f.steps ?? cfg.steps;
      if (steps < 1 || steps > cfg.steps) throw new GtnError(`--steps must be between 1 and ${cfg.steps} (the teacher's T), got ${steps}`);
      if (f.bnStats !== undefined && f.bnStats !== 'last' && f.bnStats !== 'running') throw new GtnError(`--bn-stats must be last or running, got '${f.bnStats}'`);
      if (f.seeds < 1) throw new GtnError('--seeds must be at least 1');
      const lrs = parseList('--grid-lr', f.gridLr, (x) => x > 0);
      const momenta = parseList('--grid-momentum', f.gridMomentum, (x) => x >= 0 && x < 1);
      const realRun = f.realRun ? { cfg: readRunConfig(f.realRun), state: loadRunState(checkpointOf(f.realRun, 'best')) } : null;
      if (realRun && realRun.cfg.teacher !== 'real') throw new GtnError(`--real-run ${f.realRun} is a '${realRun.cfg.teacher}' run, not a '--teacher real' run`);
      const evalCfg = { ...cfg, steps, bnStats: (f.bnStats as 'last' | 'running' | undefined) ?? cfg.bnStats };
      const data = await loadDataset(cfg.dataset);
      const seeds = Array.from({ length: f.seeds }, (_, k) => 100 + k);
      const curveSteps = [...new Set([1, 2, 4, 8, 16, 32, 64, 128, steps].filter((s) => s <= steps))];
      const r = evaluateTeacher(evalCfg, state.meta, data.test, { seeds, curveSteps, train: data.train });
      console.log(`teacher ${cfg.teacher} (${cfg.curriculum}) on ${cfg.dataset}, checkpoint ${ckpt} (iteration ${state.iteration})`);
      console.log(`test accuracy after ${steps} steps: ${pct(r.mean)} ± ${pct(r.std)} over ${seeds.length} learners (${learnerName(cfg.learner)})`);
      console.log(`curve: ${r.curve.map((c) => `${c.step}:${pct(c.accuracy)}`).join('  ')}`);
      const unseen = f.widths ? parseWidths(f.widths) : [];
      const unseenResults = unseen.map((spec) => {
        const u = evaluateTeacher(evalCfg, state.meta, data.test, { seeds, learner: spec, train: data.train });
        console.log(`unseen learner ${learnerName(spec)}: ${pct(u.mean)} ± ${pct(u.std)}`);
        return { learner: spec, accuracy_mean: u.mean, accuracy_std: u.std };
      });
      const out: Record<string, unknown> = {
        teacher: cfg.teacher,
        dataset: cfg.dataset,
        steps,
        accuracy_mean: r.mean,
        accuracy_std: r.std,
        seeds: seeds.length,
        curriculum: cfg.curriculum,
        bn_stats: evalCfg.bnStats,
        iteration: state.iteration,
        curve: r.curve,
        unseen: unseenResults,
      };
      if (f.vsReal) Object.assign(out, vsReal(evalCfg, steps, r.mean, data, { seeds, lrs, momenta, tuneImages: f.tuneImages, realRun }));
      if (f.json) console.log(JSON.stringify(out));
      recordEvaluation(null, run, commandLine(), { ...out, checkpoint: ckpt });
    });
}

function vsReal(
  cfg: ReturnType<typeof readRunConfig>,
  T: number,
  teacherAccuracy: number,
  data: Awaited<ReturnType<typeof loadDataset>>,
  o: { seeds: number[]; lrs: number[]; momenta: number[]; tuneImages: number; realRun: { cfg: ReturnType<typeof readRunConfig>; state: ReturnType<typeof loadRunState> } | null },
): Record<string, unknown> {
  const budgets = [1, 2, 4, 8, 16].map((k) => k * T);
  const candidates: RealCandidate[] = gridCandidates(budgets[budgets.length - 1], o.lrs, o.momenta);
  if (o.realRun) candidates.push({ name: `meta-learned (${o.realRun.cfg.steps} steps)`, meta: o.realRun.state.meta, maxSteps: o.realRun.cfg.steps });
  console.log(`real data: tuning lr x momentum (${candidates.length} schedules) on ${o.tuneImages} validation images for ${budgets.join(', ')} steps of ${cfg.batch} augmented images`);
  const tuned = tuneReal(cfg, candidates, budgets, { train: data.train, validation: data.validation }, {
    seeds: [7],
    images: o.tuneImages,
    onCandidate: (c, acc) => console.log(`  ${c.name.padEnd(28)} validation ${acc.map((a, k) => `${budgets[k]}:${Number.isFinite(a) ? pct(a) : '-'}`).join('  ')}`),
  });
  const scored = scoreTuned(realConfig(cfg, T), tuned, data.train, data.test, o.seeds);
  for (const s of scored) console.log(`real ${String(s.steps).padStart(5)} steps: ${pct(s.accuracy)} ± ${pct(s.std)} (test; ${s.schedule})`);
  const curve = scored.map((s): [number, number] => [s.steps, s.accuracy]);
  const m = stepsToMatch(curve, teacherAccuracy);
  const speedup = m.steps === null ? null : m.steps / T;
  const says =
    m.how === 'beyond'
      ? `real data do not reach the teacher's ${pct(teacherAccuracy)} within ${budgets[budgets.length - 1]} steps: speed-up > ${budgets.length ? budgets[budgets.length - 1] / T : 0}x`
      : m.how === 'at-or-below'
        ? `real data reach the teacher's ${pct(teacherAccuracy)} already at ${T} steps: no speed-up`
        : `real data need ${m.steps!.toFixed(0)} steps to reach the teacher's ${pct(teacherAccuracy)} at ${T}: speed-up ${speedup!.toFixed(2)}x`;
  console.log(says);
  return {
    teacher_steps: T,
    teacher_accuracy: teacherAccuracy,
    real_steps_to_match: m.steps,
    speedup,
    match: m.how,
    real_curve: curve,
    real_curve_std: scored.map((s) => [s.steps, s.std]),
    real_schedules: scored.map((s) => [s.steps, s.schedule]),
  };
}
