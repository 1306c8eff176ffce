// Where candidates are scored: in this process, or in a pool of local worker processes (each with its own
// engine threads), behind one interface. Results come back in any order, tagged with their cell.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { GtnError } from '../errors.js';
import { formatCell, parseCell, type Cell } from '../models/index.js';
import { buildProxy, type ProxyResult, type ProxySpec } from './proxies/index.js';

export interface Evaluator {
  /** Scores every cell, calling `onResult` as each finishes (order not guaranteed). */
  scoreAll(cells: readonly Cell[], onResult: (cell: Cell, r: ProxyResult) => void): Promise<void>;
  close(): Promise<void>;
}

export async function inProcessEvaluator(spec: ProxySpec): Promise<Evaluator> {
  const proxy = await buildProxy(spec);
  return {
    async scoreAll(cells, onResult) {
      for (const c of cells) onResult(c, proxy.score(c));
    },
    async close() {},
  };
}

type FromWorker = { type: 'ready' } | { type: 'result'; arch: string; result: ProxyResult } | { type: 'error'; message: string };

const workerScript = fileURLToPath(new URL('./poolWorker.js', import.meta.url));

/** `n` worker processes, each building the proxy once; the engine's threads are split between them. */
export async function processPoolEvaluator(spec: ProxySpec, n: number): Promise<Evaluator> {
  const threads = Math.max(1, Math.floor(availableParallelism() / n));
  const workers: ChildProcess[] = [];
  const start = (): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      const w = fork(workerScript, [], { env: { ...process.env, GTN_THREADS: String(threads) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const onMsg = (m: FromWorker) => {
        if (m.type === 'ready') {
          w.off('message', onMsg);
          resolve(w);
        } else if (m.type === 'error') reject(new GtnError(m.message));
      };
      w.on('message', onMsg);
      w.once('exit', (code) => reject(new GtnError(`a scoring worker exited with code ${code} while starting`)));
      w.send({ type: 'init', spec });
    });
  for (let i = 0; i < n; i++) workers.push(await start());
  return {
    scoreAll(cells, onResult) {
      const queue = [...cells];
      return new Promise<void>((resolve, reject) => {
        let busy = 0;
        let failed = false;
        const feed = (w: ChildProcess) => {
          const c = queue.shift();
          if (!c) {
            if (busy === 0) resolve();
            return;
          }
          busy++;
          const onMsg = (m: FromWorker) => {
            w.off('message', onMsg);
            busy--;
            if (m.type === 'error') {
              failed = true;
              reject(new GtnError(m.message));
              return;
            }
            if (m.type === 'result') onResult(parseCell(m.arch), m.result);
            if (!failed) feed(w);
          };
          w.on('message', onMsg);
          w.send({ type: 'score', arch: formatCell(c) });
        };
        if (!queue.length) resolve();
        for (const w of workers) feed(w);
      });
    },
    async close() {
      for (const w of workers) {
        w.removeAllListeners('exit');
        w.kill();
      }
    },
  };
}

export async function makeEvaluator(spec: ProxySpec, workers: number): Promise<Evaluator> {
  return workers > 1 ? processPoolEvaluator(spec, workers) : inProcessEvaluator(spec);
}
