// Where candidates are scored: in this process, or in a pool of local worker processes (each with its own
// engine threads), behind one interface. Results come back in any order, tagged with their cell.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { GtnError } from '../errors.js';
import { formatCell, type Cell } from '../models/index.js';
import { buildProxy, type ProxyResult, type ProxySpec } from './proxies/index.js';

export interface Evaluator {
  /** Scores one cell (calls may overlap: an evaluator with several workers runs them at once). */
  score(cell: Cell): Promise<ProxyResult>;
  /** Scores every cell, calling `onResult` as each finishes (order not guaranteed). */
  scoreAll(cells: readonly Cell[], onResult: (cell: Cell, r: ProxyResult) => void): Promise<void>;
  /** How many evaluations it can run at once. */
  readonly parallel: number;
  close(): Promise<void>;
}

/** scoreAll on top of score: all cells submitted at once, results reported as they finish. */
export async function scoreEach(e: Pick<Evaluator, 'score'>, cells: readonly Cell[], onResult: (cell: Cell, r: ProxyResult) => void): Promise<void> {
  await Promise.all(cells.map(async (c) => onResult(c, await e.score(c))));
}

export async function inProcessEvaluator(spec: ProxySpec): Promise<Evaluator> {
  const proxy = await buildProxy(spec);
  return {
    parallel: 1,
    async score(cell) {
      return proxy.score(cell);
    },
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
  // Requests wait for a free worker; each worker scores one cell at a time.
  // A worker that died is not handed out again; when none is left, every request fails.
  const idle = [...workers];
  const waiting: { resolve: (w: ChildProcess) => void; reject: (e: Error) => void }[] = [];
  let alive = workers.length;
  const acquire = (): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      if (idle.length) resolve(idle.pop()!);
      else if (alive === 0) reject(new GtnError('every scoring worker has exited'));
      else waiting.push({ resolve, reject });
    });
  const release = (w: ChildProcess) => {
    if (w.exitCode !== null || w.signalCode !== null) {
      alive--;
      if (alive === 0) for (const q of waiting.splice(0)) q.reject(new GtnError('every scoring worker has exited'));
      return;
    }
    if (waiting.length) waiting.shift()!.resolve(w);
    else idle.push(w);
  };
  const score = async (cell: Cell): Promise<ProxyResult> => {
    const w = await acquire();
    try {
      return await new Promise<ProxyResult>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new GtnError(`a scoring worker exited (code ${code}) while scoring ${formatCell(cell)}`));
        const onMsg = (m: FromWorker) => {
          w.off('message', onMsg);
          w.off('exit', onExit);
          if (m.type === 'result') resolve(m.result);
          else reject(new GtnError(m.type === 'error' ? m.message : 'unexpected message from a scoring worker'));
        };
        w.on('message', onMsg);
        w.once('exit', onExit);
        w.send({ type: 'score', arch: formatCell(cell) });
      });
    } finally {
      release(w);
    }
  };
  return {
    parallel: n,
    score,
    scoreAll: (cells, onResult) => scoreEach({ score }, cells, onResult),
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
