// `gtn eval`: few-step test accuracy of a run's teacher.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadDataset } from '../../data/load.js';
import { evaluateTeacher } from '../../gtn/evaluate.js';
import { loadRunState } from '../../gtn/runState.js';
import { readRunConfig, runFiles } from '../../gtn/trainer.js';
import type { LearnerSpec } from '../../gtn/learner.js';
import { GtnError } from '../../errors.js';
import { parseIntOption } from '../options.js';

function parseWidths(v: string): LearnerSpec[] {
  return v.split(';').map((w) => {
    const parts = w.split(',').map(Number);
    if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new GtnError(`--widths expects conv learner widths like '32,64,128;48,96,192', got '${v}'`);
    }
    return { kind: 'conv', widths: [parts[0], parts[1], parts[2]] } as LearnerSpec;
  });
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
    .option('--json', 'print one JSON object on the last line')
    .action(async (run: string, f: { steps?: number; seeds: number; checkpoint: string; widths?: string; bnStats?: string; json?: boolean }) => {
      const cfg = readRunConfig(run);
      const files = runFiles(run);
      const file = f.checkpoint === 'last' ? files.last : f.checkpoint === 'best' ? files.best : null;
      if (!file) throw new GtnError(`--checkpoint must be best or last, got '${f.checkpoint}'`);
      const ckpt = existsSync(file) ? file : files.last;
      const state = loadRunState(ckpt);
      const steps = f.steps ?? cfg.steps;
      if (steps < 1 || steps > cfg.steps) throw new GtnError(`--steps must be between 1 and ${cfg.steps} (the teacher's T), got ${steps}`);
      if (f.bnStats !== undefined && f.bnStats !== 'last' && f.bnStats !== 'running') throw new GtnError(`--bn-stats must be last or running, got '${f.bnStats}'`);
      const evalCfg = { ...cfg, steps, bnStats: (f.bnStats as 'last' | 'running' | undefined) ?? cfg.bnStats };
      const data = await loadDataset(cfg.dataset);
      const seeds = Array.from({ length: f.seeds }, (_, k) => 100 + k);
      const curveSteps = [...new Set([1, 2, 4, 8, 16, 32, 64, 128, steps].filter((s) => s <= steps))];
      const r = evaluateTeacher(evalCfg, state.meta, data.test, { seeds, curveSteps, train: data.train });
      const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
      console.log(`teacher ${cfg.teacher} (${cfg.curriculum}) on ${cfg.dataset}, checkpoint ${ckpt} (iteration ${state.iteration})`);
      console.log(`test accuracy after ${steps} steps: ${pct(r.mean)} ± ${pct(r.std)} over ${seeds.length} learners (${JSON.stringify(cfg.learner)})`);
      console.log(`curve: ${r.curve.map((c) => `${c.step}:${pct(c.accuracy)}`).join('  ')}`);
      const unseen = f.widths ? parseWidths(f.widths) : [];
      const unseenResults = unseen.map((spec) => {
        const u = evaluateTeacher(evalCfg, state.meta, data.test, { seeds, learner: spec, train: data.train });
        console.log(`unseen learner ${JSON.stringify(spec.kind === 'conv' ? spec.widths : spec)}: ${pct(u.mean)} ± ${pct(u.std)}`);
        return { learner: spec, accuracy_mean: u.mean, accuracy_std: u.std };
      });
      if (f.json) {
        console.log(
          JSON.stringify({
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
          }),
        );
      }
    });
}
