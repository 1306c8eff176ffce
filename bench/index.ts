// `npm run bench`: figures a machine can compare run to run. GFLOP/s of sgemm and the machine's measured
// FP32 peak, dataset load times, and the median seconds of one GTN meta-step for each workload next to the
// PyTorch twin (bench/torch_meta_step.py, Debian's python3-torch) with the same thread count, and the peak
// RSS of each workload with gradient checkpointing on and off.
//   npm run bench -- [--json] [--quick] [--workloads a,b] [--repeats N] [--threads N] [--no-torch]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { WORKLOADS } from './metaStep.js';
import { benchSgemm, peakGflops } from './sgemm.js';
import { benchData } from './data.js';

const root = new URL('../../', import.meta.url).pathname;
const program = new Command()
  .option('--json', 'one JSON object per line')
  .option('--quick', 'only the small workloads, one repeat')
  .option('--workloads <list>', 'comma-separated workload names')
  .option('--repeats <n>', 'timed meta-steps per workload (after one warm-up)', '3')
  .option('--threads <n>', 'threads for gtn and PyTorch (default: all cores)')
  .option('--no-torch', 'skip the PyTorch twin')
  .option('--torch-openblas <dir>', 'also run the PyTorch twin with the OpenBLAS libblas.so.3 in this folder')
  .option('--no-memory', 'skip the checkpointed (memory) runs')
  .parse(process.argv);
const o = program.opts<{ json?: boolean; quick?: boolean; workloads?: string; repeats: string; threads?: string; torch: boolean; memory: boolean; torchOpenblas?: string }>();

const threads = o.threads ? Number(o.threads) : undefined;
const env = { ...process.env, ...(threads ? { GTN_THREADS: String(threads) } : {}) };
const emit = (obj: Record<string, unknown>, text: string) => console.log(o.json ? JSON.stringify(obj) : text);

// 1. sgemm and peak
const peak = peakGflops({ threads });
emit({ bench: 'peak', ...peak }, `FP32 peak (measured FMA throughput): ${JSON.stringify(peak)}`);
for (const r of benchSgemm({ threads })) {
  emit({ bench: 'sgemm', ...r, fractionOfPeak: r.gflops / (peak as { gflops: number }).gflops }, `sgemm ${r.name.padEnd(34)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s (${((100 * r.gflops) / (peak as { gflops: number }).gflops).toFixed(0)}% of peak)`);
}

// 2. data
for (const r of await benchData()) emit({ bench: 'data', ...r }, `data ${JSON.stringify(r)}`);

// 3. meta-steps
const names = o.workloads ? o.workloads.split(',') : o.quick ? ['mlp-small-t32-b128', 'conv-small-t16-b64'] : ['conv-t8-b64', 'mlp-t32-b128', 'mlp-small-t32-b128'];
const repeats = o.quick ? '1' : o.repeats;
const worker = join(root, 'dist', 'bench', 'metaStepWorker.js');

function runWorker(name: string, ck: 'on' | 'off'): Record<string, unknown> | null {
  const r = spawnSync(process.execPath, ['--max-old-space-size=16384', worker, name, repeats, ck], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`bench: workload ${name} (checkpoint ${ck}) failed:\n${r.stderr}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// Debian's python3-torch uses whatever libblas.so.3 the system provides (the slow reference BLAS unless
// OpenBLAS is installed). With --torch-openblas DIR (a folder holding OpenBLAS's libblas.so.3, e.g. from
// `apt-get download libopenblas0-pthread && dpkg -x ...`), the twin also runs against OpenBLAS.
function torchTwin(name: string, blasDir?: string): Record<string, unknown> | null {
  if (!o.torch) return null;
  const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const args = [join(root, 'bench', 'torch_meta_step.py'), '--workload', name, '--repeats', repeats, '--threads', String(threads ?? (Number(process.env.GTN_THREADS) || 2))];
  const r = spawnSync(py, args, { encoding: 'utf8', env: blasDir ? { ...process.env, LD_LIBRARY_PATH: blasDir } : process.env });
  if (r.status !== 0) return { skipped: `torch twin failed: ${r.stderr.trim().split('\n').pop()}` };
  const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  return line;
}

for (const name of names) {
  if (!WORKLOADS.some((w) => w.name === name)) {
    console.error(`bench: unknown workload '${name}'`);
    process.exit(2);
  }
  // The headline figure runs like the PyTorch twin (no checkpointing); the checkpointed run shows the memory saved.
  const off = runWorker(name, 'off');
  const on = o.memory ? runWorker(name, 'on') : null;
  const torch = torchTwin(name);
  const torchOb = o.torchOpenblas ? torchTwin(name, o.torchOpenblas) : null;
  const torchSeconds = torch && typeof torch.seconds === 'number' ? torch.seconds : null;
  const row = {
    workload: name,
    seconds: (off?.seconds as number | undefined) ?? null,
    all: off?.all ?? null,
    seconds_checkpointed: (on?.seconds as number | undefined) ?? null,
    peak_rss_mb: off?.peak_rss_mb ?? null,
    peak_rss_mb_checkpointed: on?.peak_rss_mb ?? null,
    torch_seconds: torchSeconds,
    torch_cpu_seconds: torch?.cpu_seconds ?? null,
    torch_blas: torch?.blas ?? null,
    ratio_vs_torch: off && torchSeconds ? (off.seconds as number) / torchSeconds : null,
    torch_openblas_seconds: (torchOb?.seconds as number | undefined) ?? null,
    ratio_vs_torch_openblas: off && typeof torchOb?.seconds === 'number' ? (off.seconds as number) / torchOb.seconds : null,
    torch_note: torch && 'skipped' in torch ? torch.skipped : undefined,
    threads: off?.threads ?? null,
    backend: off?.backend ?? null,
  };
  emit(
    row,
    `meta-step ${name.padEnd(20)} gtn ${row.seconds?.toFixed(2) ?? '-'} s` +
      (torchSeconds ? `  torch ${torchSeconds.toFixed(2)} s  ratio ${row.ratio_vs_torch!.toFixed(2)}` : `  torch: ${row.torch_note ?? 'skipped'}`) +
      (row.torch_openblas_seconds ? `  torch+OpenBLAS ${row.torch_openblas_seconds.toFixed(2)} s  ratio ${row.ratio_vs_torch_openblas!.toFixed(2)}` : '') +
      `  peak RSS ${row.peak_rss_mb ?? '-'} MB (checkpointing on: ${row.peak_rss_mb_checkpointed ?? '-'} MB, ${row.seconds_checkpointed?.toFixed(2) ?? '-'} s)`,
  );
}
