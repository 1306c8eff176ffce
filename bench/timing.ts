// Timing of one kernel call, shared by the kernel benches.

/**
 * Runs `call` for about `seconds` (at least minCalls times, at most maxCalls) after `warmup` untimed calls;
 * returns the calls' wall times in seconds, sorted (fastest first).
 */
export function timeCalls(call: () => unknown, seconds: number, minCalls = 5, warmup = 1, maxCalls = Infinity): number[] {
  for (let i = 0; i < warmup; i++) call();
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (times.length < minCalls || (performance.now() < end && times.length < maxCalls)) {
    const t0 = performance.now();
    call();
    times.push((performance.now() - t0) / 1000);
  }
  return times.sort((p, q) => p - q);
}
