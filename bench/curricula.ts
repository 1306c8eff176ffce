// Compares the four curricula, dataset distillation and the real-data baseline in one harness: the same
// learner, T and meta-training budget; prints a markdown table of few-step MNIST test accuracy.
//   node dist/bench/curricula.js [--iterations 60] [--out runs/curricula] [--preset compare] [--seeds 3]
import { Command } from 'commander';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PRESETS, parseConfig, type TrainConfig } from '../src/gtn/config.js';
import { train } from '../src/gtn/trainer.js';
import { evaluateTeacher } from '../src/gtn/evaluate.js';
import { loadDataset } from '../src/data/load.js';
import { CURRICULA } from '../src/gtn/curriculum.js';

const o = new Command()
  .option('--iterations <n>', 'outer iterations per variant', '60')
  .option('--out <dir>', 'folder for the run folders', 'runs/curricula')
  .option('--dataset <name>', 'mnist | fashion-mnist', 'mnist')
  .option('--seeds <n>', 'fresh learners per evaluation', '3')
  .option('--fresh', 'delete existing run folders first')
  .parse(process.argv)
  .opts<{ iterations: string; out: string; dataset: string; seeds: string; fresh?: boolean }>();

const base = PRESETS.compare;
const variants: { name: string; over: Partial<TrainConfig> }[] = [
  ...CURRICULA.map((c) => ({ name: `gtn ${c}`, over: { teacher: 'gtn', curriculum: c } as Partial<TrainConfig> })),
  { name: 'distill (learned pixels)', over: { teacher: 'distill' } },
  { name: 'real data (learned lr, momentum)', over: { teacher: 'real' } },
];
const data = await loadDataset(o.dataset);
const seeds = Array.from({ length: Number(o.seeds) }, (_, k) => 100 + k);
const rows: string[] = [];
for (const v of variants) {
  const cfg = parseConfig({ ...base, ...v.over, dataset: o.dataset, meta: { ...base.meta, iterations: Number(o.iterations) } }, v.name);
  const dir = join(o.out, v.name.split(' ')[0] + (v.over.curriculum ? `-${v.over.curriculum}` : ''));
  if (o.fresh && existsSync(dir)) rmSync(dir, { recursive: true });
  const t0 = performance.now();
  const state = existsSync(join(dir, 'config.json')) ? await train(dir, null, { resume: true }) : await train(dir, cfg);
  const minutes = (performance.now() - t0) / 60000;
  const r = evaluateTeacher(cfg, state.meta, data.test, { seeds, train: data.train });
  const row = `| ${v.name} | ${(100 * r.mean).toFixed(2)}% ± ${(100 * r.std).toFixed(2)} | ${state.iteration} | ${minutes.toFixed(1)} |`;
  console.error(row);
  rows.push(row);
}
console.log(`Few-step ${o.dataset} test accuracy after ${base.steps} inner steps (${JSON.stringify(base.learner)}, ${seeds.length} fresh learners):\n`);
console.log('| teacher | test accuracy | outer iterations | minutes |\n|---|---|---|---|');
for (const r of rows) console.log(r);
