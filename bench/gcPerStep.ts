// Per meta-step: wall time and V8 garbage-collection pauses (a PerformanceObserver on `gc` entries), to see how
// much of a step is GC and whether steps drift over a run. Compare flags by running it under them:
//   node dist/bench/gcPerStep.js conv-t32-b128-cpu 7
//   node --single-threaded-gc dist/bench/gcPerStep.js conv-t32-b128-cpu 7
import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { WORKLOADS, timeMetaStep } from './metaStep.js';

const [name = 'conv-t32-b128-cpu', steps = '7'] = process.argv.slice(2);
const w = WORKLOADS.find((x) => x.name === name);
if (!w) {
  console.error(`gcPerStep: unknown workload '${name}'; known: ${WORKLOADS.map((x) => x.name).join(', ')}`);
  process.exit(2);
}
const pauses: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push(e.startTime, e.duration);
}).observe({ entryTypes: ['gc'] });

// Step boundaries from the step times: GC entries are attributed to the step whose interval holds their start.
const start = performance.now();
const times = timeMetaStep(w, { repeats: Number(steps), checkpoint: false });
const end = performance.now() - start;
await sleep(50); // the observer delivers its entries on a later turn of the event loop
let t = end - times.reduce((a, b) => a + b * 1000, 0); // end of the warm-up step
times.forEach((s, i) => {
  const t1 = t + s * 1000;
  let ms = 0;
  let n = 0;
  for (let k = 0; k < pauses.length; k += 2) {
    const at = pauses[k] - start;
    if (at >= t && at < t1) (ms += pauses[k + 1]), n++;
  }
  console.log(JSON.stringify({ workload: name, step: i + 1, seconds: s, gc_events: n, gc_seconds: ms / 1000 }));
  t = t1;
});
