// `gtn worker --json` as a child process of a test: its events as they come, and kill -9 of the worker with
// its scoring processes (one process group, as when a machine dies).
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { WorkerEvent } from '../../src/queue/index.js';

const root = new URL('../../../', import.meta.url).pathname;
const bin = join(root, 'bin', 'gtn.js');

/** The gtn command (the worker runs as `gtn worker`). */
export function gtnCommand(): string {
  return bin;
}

export class WorkerProcess {
  readonly events: WorkerEvent[] = [];
  stderr = '';
  private readonly proc: ChildProcess;
  private readonly waiters: { pred: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }[] = [];
  readonly exited: Promise<number | null>;
  /** Exited, and its output read to the end. */
  private readonly closed: Promise<void>;

  constructor(url: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
    // detached: its own process group, so that kill9() takes its scoring processes too.
    this.proc = spawn(process.execPath, [gtnCommand(), 'worker', '--queue', url, '--json', ...args], { env: { ...process.env, GTN_THREADS: '1', ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    this.closed = new Promise((resolve) => this.proc.once('close', () => resolve()));
    let buf = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const e = JSON.parse(buf.slice(0, i)) as WorkerEvent;
        buf = buf.slice(i + 1);
        this.events.push(e);
        for (const w of this.waiters.filter((x) => x.pred(e))) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
  }

  /** The first event (past or future) matching `pred`; rejects if the worker exits first. */
  waitFor(pred: (e: WorkerEvent) => boolean): Promise<WorkerEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<WorkerEvent>((resolve) => this.waiters.push({ pred, resolve })),
      this.exited.then((code) => Promise.reject(new Error(`the worker exited (code ${code}) first: ${this.stderr}`))),
    ]);
  }

  ready(): Promise<WorkerEvent> {
    return this.waitFor((e) => e.event === 'ready');
  }

  /** Jobs this worker completed. */
  completed(): string[] {
    return this.events.flatMap((e) => (e.event === 'completed' ? [e.job] : []));
  }

  /** kill -9 of the worker and its scoring processes. */
  async kill9(): Promise<void> {
    try {
      process.kill(-this.proc.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.closed;
  }

  /**
   * SIGTERM (the worker finishes its jobs and leaves), then anything left of its process group is killed.
   * Afterwards `events` holds everything the worker reported.
   */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    await this.exited;
    try {
      process.kill(-this.proc.pid!, 'SIGKILL');
    } catch {
      // nothing left
    }
    await this.closed;
  }
}
