// The submitting side: an Evaluator (src/nas/evaluator.ts) whose scores come from `gtn worker` processes on any
// machine, through a BullMQ queue on Redis. Each evaluation is one job with a content-hash id (jobs.ts), so a
// resubmission joins the existing job, or gets its stored result at once. Completion events bring results
// back; a periodic look-up of every unfinished job covers events missed while Redis was away.
import { Queue, QueueEvents } from 'bullmq';
import { GtnError } from '../errors.js';
import { formatCell, type Cell } from '../models/index.js';
import type { Evaluator } from '../nas/evaluator.js';
import type { ProxyResult, ProxySpec } from '../nas/proxies/index.js';
import { connectionOptions, errorReporter, probeQueue, redact } from './connection.js';
import { GTN_VERSION, JOB_OPTIONS, QUEUE_NAME, decodeResult, jobId, jobSpec, type ScoreJob } from './jobs.js';
import { teacherBundle, uploadTeacher, type RedisStore } from './teacherStore.js';

export interface QueueClientOptions {
  /** How often unfinished jobs are looked up (ms, default 5000). */
  pollMs?: number;
  /** Notices (no worker connected yet, Redis errors); default: stderr. */
  log?: (line: string) => void;
}

interface Pending {
  id: string;
  job: ScoreJob;
  /** The job is known to be in the queue. */
  submitted: boolean;
  resolve: (r: ProxyResult) => void;
  reject: (e: Error) => void;
  promise: Promise<ProxyResult>;
}

export class ScoreQueue {
  private readonly pending = new Map<string, Pending>();
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;

  private constructor(
    readonly url: string,
    private readonly queue: Queue<ScoreJob, string>,
    private readonly events: QueueEvents,
    pollMs: number,
  ) {
    const onEvent = ({ jobId: id }: { jobId: string }) => {
      const e = this.pending.get(id);
      if (e) void this.check(e).catch(() => {});
    };
    events.on('completed', onEvent);
    events.on('failed', onEvent);
    this.timer = setInterval(() => void this.sweep(), pollMs);
  }

  static async open(url: string, o: QueueClientOptions = {}): Promise<ScoreQueue> {
    await probeQueue(url);
    const connection = connectionOptions(url);
    const log = o.log ?? ((l: string) => console.error(l));
    const onError = errorReporter(url, 'queue client', log);
    const queue = new Queue<ScoreJob, string>(QUEUE_NAME, { connection });
    const events = new QueueEvents(QUEUE_NAME, { connection });
    queue.on('error', onError);
    events.on('error', onError);
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    if ((await queue.getWorkersCount()) === 0) log(`gtn: no worker is connected to ${redact(url)} yet; start one with: gtn worker --queue ${redact(url)} (gtn ${GTN_VERSION})`);
    return new ScoreQueue(url, queue, events, o.pollMs ?? 5000);
  }

  /** What every job of this proxy carries; a gtn proxy's teacher is stored in Redis (once) for the workers. */
  async prepare(spec: ProxySpec): Promise<Omit<ScoreJob, 'arch'>> {
    if (spec.kind !== 'gtn') return { spec: jobSpec(spec), teacher: null };
    if (spec.run!.includes(':')) throw new GtnError(`--queue: the workers take one teacher; score gtn:${spec.run} here or with --workers`);
    const t = teacherBundle(spec.run!);
    await uploadTeacher((await this.queue.client) as unknown as RedisStore, t);
    return { spec: jobSpec(spec), teacher: t.hash };
  }

  /** The job's result, from a worker or from an earlier identical submission. */
  score(job: ScoreJob): Promise<ProxyResult> {
    const id = jobId(job);
    const known = this.pending.get(id);
    if (known) return known.promise;
    let resolve!: (r: ProxyResult) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<ProxyResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const e: Pending = { id, job, submitted: false, resolve, reject, promise };
    this.pending.set(id, e);
    void this.submit(e, true);
    return promise;
  }

  /** Adds the job unless it exists; a job that failed before gets a new set of attempts when `fresh`. */
  private async submit(e: Pending, fresh: boolean): Promise<void> {
    try {
      const existing = await this.queue.getJob(e.id);
      if (!existing) await this.queue.add('score', e.job, { jobId: e.id, ...JOB_OPTIONS });
      else if (fresh && (await existing.getState()) === 'failed') await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      e.submitted = true;
      await this.check(e);
    } catch {
      // Redis is unreachable for now: the next sweep submits it again.
    }
  }

  private async check(e: Pending): Promise<void> {
    // The state first: a finished job's result is already stored when its state says so.
    const state = await this.queue.getJobState(e.id);
    if (state === 'unknown') {
      // Gone (Redis lost it, or someone removed it): submitted again by the next sweep.
      e.submitted = false;
      return;
    }
    if (state !== 'completed' && state !== 'failed') return;
    const job = await this.queue.getJob(e.id);
    if (!job || this.pending.get(e.id) !== e) return;
    this.pending.delete(e.id);
    if (state === 'completed') e.resolve(decodeResult(job.returnvalue));
    else e.reject(new GtnError(`a worker could not score ${e.job.arch}: ${job.failedReason}`));
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const e of [...this.pending.values()]) {
        if (e.submitted) await this.check(e);
        else await this.submit(e, false);
      }
    } catch {
      // Unreachable for now; tried again at the next sweep.
    } finally {
      this.sweeping = false;
    }
  }

  /** Stops waiting (unfinished evaluations are rejected; their jobs stay in the queue) and disconnects. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const e of this.pending.values()) e.reject(new GtnError('the queue client was closed'));
    this.pending.clear();
    await Promise.all([this.events.close(), this.queue.close()]);
  }
}

export interface QueueEvaluatorOptions extends QueueClientOptions {
  /** Evaluations kept in flight (default 64). */
  parallel?: number;
  /** scoreAll: a cell that cannot be scored is reported here and the others go on (default: a line on stderr). */
  onFailure?: (cell: Cell, err: Error) => void;
}

/**
 * An Evaluator over the queue at `url`. scoreAll scores every cell it can: failures are reported as they come
 * and, once the rest are done, summed up in one GtnError.
 */
export async function queueEvaluator(spec: ProxySpec, url: string, o: QueueEvaluatorOptions = {}): Promise<Evaluator> {
  const q = await ScoreQueue.open(url, o);
  let common: Omit<ScoreJob, 'arch'>;
  try {
    common = await q.prepare(spec);
  } catch (err) {
    await q.close();
    throw err;
  }
  const parallel = Math.max(1, o.parallel ?? 64);
  const score = (cell: Cell) => q.score({ arch: formatCell(cell), ...common });
  const onFailure = o.onFailure ?? ((_c: Cell, err: Error) => console.error(`gtn: ${err.message}`));
  return {
    parallel,
    score,
    async scoreAll(cells, onResult) {
      let next = 0;
      let failed = 0;
      const lane = async () => {
        while (next < cells.length) {
          const cell = cells[next++];
          try {
            onResult(cell, await score(cell));
          } catch (err) {
            if (!(err instanceof GtnError)) throw err;
            failed++;
            onFailure(cell, err);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallel, cells.length) }, lane));
      if (failed) throw new GtnError(`${failed} of ${cells.length} cell(s) could not be scored (reported above); the others were scored`);
    },
    close: () => q.close(),
  };
}

/** `gtn nas rank|search --queue URL`. */
export const makeQueueEvaluator = (spec: ProxySpec, url: string, o: { parallel?: number } = {}): Promise<Evaluator> => queueEvaluator(spec, url, o);
