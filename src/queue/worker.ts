// The worker side: a BullMQ worker that takes evaluation jobs from the queue and scores them in child processes
// (scorerPool.ts), so that its own event loop stays free to renew job locks. A job whose worker dies (even by
// kill -9) stops being renewed and is re-run by another worker once found stalled; a job that cannot succeed
// (bad cell string, teacher missing or corrupt) fails at once instead of using up its attempts.
import { availableParallelism } from 'node:os';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { GtnError } from '../errors.js';
import type { ProxySpec } from '../nas/proxies/index.js';
import { connectionOptions, errorReporter, probeQueue } from './connection.js';
import { GTN_VERSION, QUEUE_NAME, decodeResult, type ScoreJob } from './jobs.js';
import { FatalScoreError, scorerPool } from './scorerPool.js';
import { fetchTeacher, type RedisStore } from './teacherStore.js';

export interface WorkerOptions {
  /** Jobs scored at once, each in its own process. */
  concurrency: number;
  /** Engine threads of each scoring process (default: $GTN_THREADS, else the cores divided by the concurrency). */
  threads?: number;
  /** How long a job stays claimed without a lock renewal before it counts as stalled (ms, default 30000). */
  lockMs?: number;
  /** How often this worker looks for stalled jobs (ms, default 30000). */
  stalledMs?: number;
  onEvent?: (e: WorkerEvent) => void;
}

export type WorkerEvent =
  | { event: 'ready'; version: string; queue: string; concurrency: number; threads: number }
  | { event: 'active'; job: string; arch: string; attempt: number }
  | { event: 'completed'; job: string; arch: string; score: number; seconds: number }
  | { event: 'failed'; job: string; arch: string; attempt: number; error: string; unrecoverable: boolean }
  | { event: 'stalled'; job: string };

export interface QueueWorker {
  /** Waits for the jobs in progress, then disconnects. */
  close(): Promise<void>;
}

export async function startWorker(url: string, o: WorkerOptions): Promise<QueueWorker> {
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new GtnError(`--concurrency must be a positive integer, got ${o.concurrency}`);
  await probeQueue(url);
  const connection = connectionOptions(url);
  const emit = o.onEvent ?? (() => {});
  const threads = o.threads ?? (Number(process.env.GTN_THREADS) || Math.max(1, Math.floor(availableParallelism() / o.concurrency)));
  const pool = scorerPool(threads);
  const onError = errorReporter(url, 'worker');

  // Teachers come from the store once per process; a failed download is tried again by the next job.
  const store = new Queue(QUEUE_NAME, { connection });
  store.on('error', onError);
  const teachers = new Map<string, Promise<string>>();
  const teacherRun = (hash: string) => {
    let p = teachers.get(hash);
    if (!p) {
      p = store.client.then((c) => fetchTeacher(c as unknown as RedisStore, hash));
      p.catch(() => teachers.delete(hash));
      teachers.set(hash, p);
    }
    return p;
  };

  const processJob = async (job: Job<ScoreJob>): Promise<string> => {
    const { arch, spec, teacher } = job.data;
    try {
      const run = teacher ? await teacherRun(teacher) : undefined;
      return await pool.score({ ...spec, run } as ProxySpec, arch);
    } catch (err) {
      if (err instanceof GtnError || err instanceof FatalScoreError) throw new UnrecoverableError((err as Error).message);
      throw err;
    }
  };

  const worker = new Worker<ScoreJob, string>(QUEUE_NAME, processJob, {
    connection,
    concurrency: o.concurrency,
    lockDuration: o.lockMs ?? 30_000,
    stalledInterval: o.stalledMs ?? 30_000,
    // A job may lose its worker twice before it is failed (a third death means it kills its workers).
    maxStalledCount: 2,
    autorun: false,
  });
  worker.on('active', (job) => emit({ event: 'active', job: job.id!, arch: job.data.arch, attempt: job.attemptsStarted }));
  worker.on('completed', (job, result) => {
    const r = decodeResult(result);
    emit({ event: 'completed', job: job.id!, arch: job.data.arch, score: r.score, seconds: r.seconds });
  });
  worker.on('failed', (job, err) => {
    if (job) emit({ event: 'failed', job: job.id!, arch: job.data.arch, attempt: job.attemptsStarted, error: err.message, unrecoverable: err.name === 'UnrecoverableError' });
  });
  worker.on('stalled', (job) => emit({ event: 'stalled', job }));
  worker.on('error', onError);
  await Promise.all([store.waitUntilReady(), worker.waitUntilReady()]);
  emit({ event: 'ready', version: GTN_VERSION, queue: QUEUE_NAME, concurrency: o.concurrency, threads });
  worker.run().catch(onError);
  return {
    async close() {
      await worker.close();
      pool.close();
      await store.close();
    },
  };
}
