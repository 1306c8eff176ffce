// Runs one meta-step workload in its own process (so that its peak RSS is its own) and prints one JSON line.
// Usage: node dist/bench/metaStepWorker.js NAME REPEATS on|off
import { WORKLOADS, median, timeMetaStep } from './metaStep.js';
import { backendStatus } from '../src/tensor/index.js';
import { nativeThreads } from '../src/tensor/backends/native.js';
import { profileReport, resetProfile } from '../src/tensor/backends/profile.js';

const [name, repeats = '3', ck = 'on'] = process.argv.slice(2);
const w = WORKLOADS.find((x) => x.name === name);
if (!w) {
  console.error(`metaStepWorker: unknown workload '${name}'; known: ${WORKLOADS.map((x) => x.name).join(', ')}`);
  process.exit(2);
}
const times = timeMetaStep(w, { repeats: Number(repeats), checkpoint: ck === 'on', afterWarmup: resetProfile });
console.log(
  JSON.stringify({
    workload: w.name,
    seconds: median(times),
    all: times,
    checkpoint: ck === 'on',
    backend: backendStatus().active,
    threads: nativeThreads(),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
// With GTN_PROFILE=1: where the kernel time of the timed repeats went (the warm-up step is left out).
if (process.env.GTN_PROFILE === '1') console.error(profileReport());
