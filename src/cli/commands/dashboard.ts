// `gtn dashboard`: a local web page of the runs under a folder (curves, schedules, samples, evaluations, NAS).
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { GtnError } from '../../errors.js';
import type { startDashboard } from '../../dashboard/server.js';
import { dbPathForRuns } from '../../records/db.js';
import { parseIntOption } from '../options.js';

interface DashboardFlags {
  port: number;
  host: string;
  runs: string;
  db?: string;
}

export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve a local dashboard of the runs: meta-loss, validation, learned schedules, samples, evaluations, NAS')
    .option('--port <n>', 'port (0: any free port)', parseIntOption('--port'), 8080)
    .option('--host <addr>', 'address to listen on (the default is only reachable from this machine)', '127.0.0.1')
    .option('--runs <dir>', 'runs folder', 'runs')
    .option('--db <file>', 'records database (default: GTN_DB, else RUNS/gtn.db)')
    .action(async (f: DashboardFlags) => {
      if (!existsSync(f.runs) || !statSync(f.runs).isDirectory()) throw new GtnError(`--runs ${f.runs} is not a folder`);
      if (f.port > 65535) throw new GtnError(`--port must be at most 65535, got ${f.port}`);
      let d: Awaited<ReturnType<typeof startDashboard>>;
      try {
        // Fastify loads only for this command.
        const { startDashboard: start } = await import('../../dashboard/server.js');
        d = await start({ runsDir: f.runs, dbFile: f.db ?? dbPathForRuns(f.runs), host: f.host, port: f.port });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new GtnError(`port ${f.port} is in use; choose another with --port`);
        throw err;
      }
      console.log(`gtn dashboard: ${d.url} (runs: ${f.runs}; Ctrl-C stops it)`);
      const stop = () => void d.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
