// The processes a queue worker scores in. The engine is synchronous: scoring in the worker's own process would
// block its event loop, and with it the renewal of BullMQ's job locks. Each child scores one cell at a time;
// children start on demand, up to the worker's concurrency, and are reused.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProxySpec } from '../nas/proxies/index.js';
import type { ScorerReply, ScorerRequest } from './scorer.js';

const script = fileURLToPath(new URL('./scorer.js', import.meta.url));

/** Thrown when the job cannot succeed on a retry. */
export class FatalScoreError extends Error {}

export interface ScorerPool {
  /** The encoded ProxyResult (jobs.ts), or a rejection: FatalScoreError, or Error for anything worth retrying. */
  score(spec: ProxySpec, arch: string): Promise<string>;
  close(): void;
}

export function scorerPool(threads: number): ScorerPool {
  const idle: ChildProcess[] = [];
  const all = new Set<ChildProcess>();
  const start = () => {
    const c = fork(script, [], { env: { ...process.env, GTN_THREADS: String(threads) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    all.add(c);
    c.once('exit', () => all.delete(c));
    return c;
  };
  return {
    score(spec, arch) {
      const c = idle.pop() ?? start();
      return new Promise<string>((resolve, reject) => {
        const onExit = (code: number | null, signal: string | null) => {
          c.off('message', onMessage);
          reject(new Error(`the scoring process exited (${signal ?? `code ${code}`}) while scoring ${arch}`));
        };
        const onMessage = (m: ScorerReply) => {
          c.off('exit', onExit);
          c.off('message', onMessage);
          idle.push(c);
          if (m.type === 'result') resolve(m.result);
          else reject(m.fatal ? new FatalScoreError(m.message) : new Error(m.message));
        };
        c.once('exit', onExit);
        c.on('message', onMessage);
        c.send({ spec, arch } satisfies ScorerRequest);
      });
    },
    close() {
      for (const c of all) c.kill();
    },
  };
}
