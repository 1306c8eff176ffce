// Runs one meta-step workload in its own process (so that its peak RSS is its own) and prints one JSON line.
// Usage: node dist/bench/metaStepWorker.js NAME REPEATS on|off
import { WORKLOADS, median, timeMetaStep } from './metaStep.js';
import { backendStatus } from '../src/tensor/index.js';
import { nativeThreads } from '../src/tensor/backends/native.js';
import { profileReport, resetProfile } from '../src/tensor/backends/profile.js';
import { flopCount, resetFlops } from '../src/tensor/backends/flops.js';

const [name, repeats = '3', ck = 'on'] = process.argv.slice(2);
const w = WORKLOADS.find((x) => x.name === name);
if (!w) {
  console.error(`metaStepWorker: unknown workload '${name}'; known: ${WORKLOADS.map((x) => x.name).join(', ')}`);
  process.exit(2);
}
const times = timeMetaStep(w, { repeats: Number(repeats), checkpoint: ck === 'on', afterWarmup: () => (resetProfile(), resetFlops()) });
// FLOPs of one meta-step as counted by the kernels over the timed repeats (GTN_COUNT_FLOPS=1; bench/index sets it).
const counting = process.env.GTN_COUNT_FLOPS === '1';
const flops = counting ? flopCount().total / times.length : null;
console.log(
  JSON.stringify({
    workload: w.name,
    seconds: median(times),
    flops,
    gflops: flops === null ? null : flops / 1e9 / median(times),
    flops_per_kernel: counting ? Object.fromEntries(Object.entries(flopCount().perKernel).map(([k, v]) => [k, v / times.length])) : undefined,
    all: times,
    checkpoint: ck === 'on',
    backend: backendStatus().active,
    threads: nativeThreads(),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
// With GTN_PROFILE=1 (or =shapes): where the kernel time of the timed repeats went (the warm-up step is left out).
if (process.env.GTN_PROFILE) console.error(profileReport());
