// `gtn doctor`: which backend computes, why, and what this machine offers.
import type { Command } from 'commander';
import { cpus } from 'node:os';
import { backendStatus } from '../../tensor/index.js';
import { describeNative, nativeAddonPath, nativeSimdPath, nativeThreads } from '../../tensor/backends/native.js';
import { DATASETS, DATASET_NAMES, availability } from '../../data/registry.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('report the active tensor backend (and why), SIMD path, threads and datasets')
    .option('--json', 'print one JSON object')
    .action((f: { json?: boolean }) => {
      const s = backendStatus();
      const report = {
        backend: s.active,
        reason: s.reason ?? null,
        nativeAvailable: s.nativeAvailable,
        nativeAddon: nativeAddonPath(),
        simd: nativeSimdPath(),
        threads: nativeThreads(),
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        node: process.version,
        datasets: Object.fromEntries(DATASET_NAMES.map((n) => [n, availability(DATASETS[n]).available])),
      };
      if (f.json) {
        console.log(JSON.stringify(report));
        return;
      }
      console.log(`backend:   ${s.active}${s.reason ? ` (${s.reason})` : ''}`);
      console.log(`native:    ${s.nativeAvailable ? describeNative() : `not available: ${s.reason}`}`);
      console.log(`addon:     ${report.nativeAddon}`);
      console.log(`cpu:       ${report.cpu}, ${report.cores} cores; node ${report.node}`);
      for (const [n, ok] of Object.entries(report.datasets)) console.log(`dataset:   ${n.padEnd(14)} ${ok ? 'available' : 'missing (see `gtn data`)'}`);
    });
}
