// `npm run bench`: figures a machine can compare run to run. GFLOP/s of sgemm and of the convolution kernels (every
// native path), GB/s of the NB201 proxy's memory-bound kernels, the machine's measured FP32 peak, dataset load
// times, and for each meta-step workload: the median seconds of one GTN meta-step, the FLOPs its kernels counted,
// GFLOP/s and fraction of peak, next to the PyTorch twin (bench/torch_meta_step.py, Debian's python3-torch on
// OpenBLAS) with the same thread count, and the peak RSS with checkpointing on and off.
//   npm run bench -- [--json] [--quick] [--kernels-only] [--workloads a,b] [--repeats N] [--threads N] [--no-torch] [--no-openblas]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { WORKLOADS } from './metaStep.js';
import { benchConv, benchSgemm, peakGflops } from './sgemm.js';
import { benchMemoryBound } from './memoryBound.js';
import { benchData } from './data.js';
import { openblasDir } from './openblas.js';
import { NODE_FLAGS } from '../src/nodeFlags.js';

const root = new URL('../../', import.meta.url).pathname;
const program = new Command()
  .option('--json', 'one JSON object per line')
  .option('--quick', 'only the small workloads, one repeat')
  .option('--workloads <list>', 'comma-separated workload names')
  .option('--repeats <n>', 'timed meta-steps per workload (after one warm-up)', '3')
  .option('--threads <n>', 'threads for gtn and PyTorch (default: all cores)')
  .option('--no-torch', 'skip the PyTorch twin')
  .option('--torch-openblas <dir>', "the folder of OpenBLAS's libblas.so.3 for the PyTorch twin (default: unpacked into the cache)")
  .option('--no-openblas', 'skip the PyTorch twin on OpenBLAS')
  .option('--torch-reference-blas', "also run the twin on the system's default libblas.so.3 (Debian: the slow reference BLAS)")
  .option('--no-memory', 'skip the checkpointed (memory) runs')
  .option('--kernels-only', 'only the peak, sgemm, convolution and memory-bound kernel lines')
  .parse(process.argv);
const o = program.opts<{ json?: boolean; quick?: boolean; workloads?: string; repeats: string; threads?: string; torch: boolean; openblas: boolean; torchReferenceBlas?: boolean; memory: boolean; torchOpenblas?: string; kernelsOnly?: boolean }>();

const threads = o.threads ? Number(o.threads) : undefined;
const env = { ...process.env, ...(threads ? { GTN_THREADS: String(threads) } : {}) };
const emit = (obj: Record<string, unknown>, text: string) => console.log(o.json ? JSON.stringify(obj) : text);

// 1. sgemm and peak
const peak = peakGflops({ threads });
emit({ bench: 'peak', ...peak }, `FP32 peak (measured FMA throughput): ${JSON.stringify(peak)}`);
for (const r of benchSgemm({ threads })) {
  emit({ bench: 'sgemm', ...r, fractionOfPeak: r.gflops / (peak as { gflops: number }).gflops }, `sgemm ${r.name.padEnd(34)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s (${((100 * r.gflops) / (peak as { gflops: number }).gflops).toFixed(0)}% of peak)`);
}

// 1b. convolution kernels, every native path
for (const r of benchConv({ threads })) {
  const pk = (peak as { gflops: number }).gflops;
  emit({ bench: 'conv', ...r, fractionOfPeak: r.gflops / pk }, `conv ${r.name.padEnd(36)} ${r.op.padEnd(14)} ${r.path.padEnd(7)} ${r.gflops.toFixed(1).padStart(7)} GFLOP/s (${((100 * r.gflops) / pk).toFixed(0)}% of peak)`);
}

// 1c. the NB201 proxy's memory-bound kernels, allocation included
for (const r of benchMemoryBound({ threads })) {
  emit({ bench: 'memory-bound', ...r }, `memory-bound ${r.name.padEnd(34)} ${r.shape.join('x').padEnd(12)} ${r.gbps.toFixed(1).padStart(6)} GB/s (median ${r.medianGbps.toFixed(1)})`);
}

if (o.kernelsOnly) process.exit(0);

// 2. data
for (const r of await benchData()) emit({ bench: 'data', ...r }, `data ${JSON.stringify(r)}`);

// 3. meta-steps
const names = o.workloads
  ? o.workloads.split(',')
  : o.quick
    ? ['mlp-small-t32-b128', 'conv-small-t16-b64']
    : ['conv-t8-b64', 'mlp-t32-b128', 'mlp-small-t32-b128', 'conv-t32-b128-cpu', 'cifar-t32-b64-cpu'];
const repeats = o.quick ? '1' : o.repeats;
const worker = join(root, 'dist', 'bench', 'metaStepWorker.js');
const peakGf = (peak as { gflops: number }).gflops;

function runWorker(name: string, ck: 'on' | 'off'): Record<string, unknown> | null {
  const r = spawnSync(process.execPath, ['--max-old-space-size=16384', ...NODE_FLAGS, worker, name, repeats, ck], { env: { ...env, GTN_COUNT_FLOPS: '1' }, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`bench: workload ${name} (checkpoint ${ck}) failed:\n${r.stderr}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

// The PyTorch twin runs on OpenBLAS (a folder holding its libblas.so.3: --torch-openblas DIR, else unpacked into
// the cache by bench/openblas.ts). Debian's python3-torch on the system's default libblas.so.3 (the slow
// reference BLAS unless OpenBLAS is installed) runs only with --torch-reference-blas: it is no fair anchor.
const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const probe = o.torch ? spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }) : null;
const hasTorch = probe?.status === 0;
const torchNote = !probe
  ? 'skipped (--no-torch)'
  : hasTorch
    ? undefined
    : `skipped: ${py} cannot import torch (${probe.error?.message ?? probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`}; apt-get install python3-torch)`;
const blas: { dir: string } | { skipped: string } | null = !hasTorch || !o.openblas ? null : o.torchOpenblas ? { dir: o.torchOpenblas } : openblasDir();
if (torchNote) console.error(`bench: PyTorch twin ${torchNote}`);
else if (blas && 'skipped' in blas) console.error(`bench: PyTorch twin on OpenBLAS skipped: ${blas.skipped}`);

function torchTwin(name: string, blasDir?: string): Record<string, unknown> | null {
  const args = [join(root, 'bench', 'torch_meta_step.py'), '--workload', name, '--repeats', repeats, '--threads', String(threads ?? (Number(process.env.GTN_THREADS) || 2))];
  const r = spawnSync(py, args, { encoding: 'utf8', env: blasDir ? { ...process.env, LD_LIBRARY_PATH: blasDir } : process.env });
  if (r.status !== 0) return { skipped: `torch twin failed: ${r.stderr.trim().split('\n').pop()}` };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

const secondsOf = (r: Record<string, unknown> | null) => (r && typeof r.seconds === 'number' ? r.seconds : null);
const fixed = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));

for (const name of names) {
  if (!WORKLOADS.some((w) => w.name === name)) {
    console.error(`bench: unknown workload '${name}' (known: ${WORKLOADS.map((w) => w.name).join(', ')})`);
    process.exit(2);
  }
  // The headline figure runs like the PyTorch twin (no checkpointing); the checkpointed run shows the memory saved.
  const off = runWorker(name, 'off');
  const on = o.memory ? runWorker(name, 'on') : null;
  const torchOb = blas && 'dir' in blas ? torchTwin(name, blas.dir) : null;
  const torchRef = hasTorch && o.torchReferenceBlas ? torchTwin(name) : null;
  const seconds = secondsOf(off);
  const flops = off && typeof off.flops === 'number' ? off.flops : null;
  const gflops = flops !== null && seconds ? flops / 1e9 / seconds : null;
  const obSeconds = secondsOf(torchOb);
  const refSeconds = secondsOf(torchRef);
  const row = {
    workload: name,
    seconds,
    all: off?.all ?? null,
    flops,
    gflops,
    fraction_of_peak: gflops !== null ? gflops / peakGf : null,
    flops_per_kernel: off?.flops_per_kernel ?? null,
    seconds_checkpointed: secondsOf(on),
    peak_rss_mb: off?.peak_rss_mb ?? null,
    peak_rss_mb_checkpointed: on?.peak_rss_mb ?? null,
    torch_openblas_seconds: obSeconds,
    // The twin performs the same arithmetic, so the kernels' count over its time is its GFLOP/s.
    torch_openblas_gflops: flops !== null && obSeconds ? flops / 1e9 / obSeconds : null,
    torch_openblas_blas: torchOb?.blas ?? null,
    ratio_vs_torch_openblas: seconds && obSeconds ? seconds / obSeconds : null,
    torch_seconds: refSeconds,
    torch_blas: torchRef?.blas ?? null,
    ratio_vs_torch: seconds && refSeconds ? seconds / refSeconds : null,
    torch_note: torchNote ?? (blas && 'skipped' in blas ? blas.skipped : torchOb && 'skipped' in torchOb ? torchOb.skipped : undefined),
    threads: off?.threads ?? null,
    backend: off?.backend ?? null,
  };
  emit(
    row,
    `meta-step ${name.padEnd(20)} gtn ${fixed(seconds)} s  ${fixed(gflops, 1)} GFLOP/s (${fixed(row.fraction_of_peak === null ? null : 100 * row.fraction_of_peak, 1)}% of peak)` +
      (obSeconds ? `  torch+OpenBLAS ${obSeconds.toFixed(2)} s  ratio ${row.ratio_vs_torch_openblas!.toFixed(2)}` : `  torch+OpenBLAS: ${row.torch_note ?? 'skipped'}`) +
      (refSeconds ? `  torch+reference BLAS ${refSeconds.toFixed(2)} s  ratio ${row.ratio_vs_torch!.toFixed(2)}` : '') +
      `  peak RSS ${row.peak_rss_mb ?? '-'} MB (checkpointing on: ${row.peak_rss_mb_checkpointed ?? '-'} MB, ${fixed(row.seconds_checkpointed)} s)`,
  );
}
