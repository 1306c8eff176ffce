// `gtn worker --queue redis://HOST:PORT`: scores architecture candidates that `gtn nas rank|search --queue`
// put on the queue, on this machine, until stopped (SIGINT/SIGTERM let the jobs in progress finish).
import type { Command } from 'commander';
import type { WorkerEvent } from '../../queue/index.js';
import { parseIntOption } from '../options.js';

function describe(e: WorkerEvent): string {
  switch (e.event) {
    case 'ready':
      return `gtn worker ${e.version}: waiting for candidates on queue ${e.queue}, ${e.concurrency} at once, ${e.threads} engine thread(s) each`;
    case 'active':
      return `scoring ${e.arch} (job ${e.job.slice(0, 9)}, attempt ${e.attempt})`;
    case 'completed':
      return `scored  ${e.arch} ${e.score} in ${e.seconds.toFixed(2)} s`;
    case 'failed':
      return `failed  ${e.arch} (attempt ${e.attempt}${e.unrecoverable ? ', not retried' : ''}): ${e.error}`;
    case 'stalled':
      return `job ${e.job.slice(0, 9)} lost its worker; queued again`;
  }
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('score architecture candidates from a queue (BullMQ on Redis) until stopped')
    .requiredOption('--queue <url>', 'the queue: redis://HOST:PORT')
    .option('--concurrency <n>', 'candidates scored at once, each in its own process (default 1)', parseIntOption('--concurrency'), 1)
    .option('--lock-ms <ms>', 'how long a job stays claimed without a heartbeat before other workers may take it over', parseIntOption('--lock-ms'), 30000)
    .option('--stalled-ms <ms>', 'how often to look for jobs whose worker died', parseIntOption('--stalled-ms'), 30000)
    .option('--json', 'one JSON line per event on stdout')
    .action(async (f: { queue: string; concurrency: number; lockMs: number; stalledMs: number; json?: boolean }) => {
      const onEvent = (e: WorkerEvent) => (f.json ? console.log(JSON.stringify(e)) : console.error(describe(e)));
      const { startWorker } = await import('../../queue/index.js'); // BullMQ loads only for this command
      const worker = await startWorker(f.queue, { concurrency: f.concurrency, lockMs: f.lockMs, stalledMs: f.stalledMs, onEvent });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await worker.close();
    });
}
