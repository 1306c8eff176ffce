// Throughput of distributed candidate scoring: the same cells scored through a BullMQ queue on a local
// redis-server by 1, 2 and 4 `gtn worker` processes (as if on as many machines), in candidates per minute.
// Each round starts from an empty queue (no result reused) and fresh workers, whose engine threads share the
// cores (cores / workers each, at least 1).
//   node dist/bench/nasScaling.js [--cells 48] [--proxy gtn:RUN] [--steps 32] [--workers 1,2,4] [--json]
// Without --proxy, a tinynas teacher is meta-trained for 2 iterations in a temporary folder first.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';
import { Command } from 'commander';
import { Queue } from 'bullmq';
import { formatCell, randomCell, type Cell } from '../src/models/index.js';
import { parseProxy } from '../src/nas/proxies/index.js';
import { QUEUE_NAME, connectionOptions, queueEvaluator } from '../src/queue/index.js';
import { Rng } from '../src/tensor/index.js';

const o = new Command()
  .option('--cells <n>', 'candidates per round', '48')
  .option('--proxy <name>', 'gtn:RUN | real | params | synflow | nwot (default: a fresh tinynas teacher)')
  .option('--steps <n>', 'training proxies: steps per candidate', '32')
  .option('--val-images <n>', 'training proxies: validation images per score', '500')
  .option('--workers <list>', 'worker counts, one round each', '1,2,4')
  .option('--json', 'one JSON object per round')
  .parse(process.argv)
  .opts<{ cells: string; proxy?: string; steps: string; valImages: string; workers: string; json?: boolean }>();

const root = new URL('../../', import.meta.url).pathname;
const gtn = join(root, 'bin', 'gtn.js');
const work = mkdtempSync(join(tmpdir(), 'gtn-nas-scaling-'));
const cores = availableParallelism();
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function fail(message: string): never {
  console.error(`bench nas-scaling: ${message}`);
  process.exit(2);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** A `gtn worker` process; resolves once it waits for jobs. */
function startWorker(url: string, threads: number): Promise<ChildProcess> {
  const c = spawn(process.execPath, [gtn, 'worker', '--queue', url, '--json'], { env: { ...process.env, GTN_THREADS: String(threads) }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  return new Promise((resolve, reject) => {
    c.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('"event":"ready"') && resolve(c));
    c.once('exit', (code) => reject(new Error(`a worker exited with code ${code} while starting`)));
  });
}

const stop = (c: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
  });

if (spawnSync('redis-server', ['--version']).error) fail('redis-server is not installed (apt-get install redis-server)');
const port = await freePort();
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work], { stdio: 'ignore' });
children.push(redis);
while (!(await listening(port))) await new Promise((r) => setTimeout(r, 50));
const url = `redis://127.0.0.1:${port}`;

let proxy = o.proxy;
if (!proxy) {
  const teacher = join(work, 'teacher');
  const t = spawnSync(process.execPath, [gtn, 'train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '2', '--out', teacher, '--quiet'], { encoding: 'utf8' });
  if (t.status !== 0) fail(`could not train the tinynas teacher:\n${t.stderr}`);
  proxy = `gtn:${teacher}`;
}
const spec = parseProxy(proxy, { steps: [Number(o.steps)], valImages: Number(o.valImages) });
const n = Number(o.cells);
const rng = Rng.seeded(0);
const cells = new Map<string, Cell>();
while (cells.size < n) {
  const c = randomCell(rng);
  cells.set(formatCell(c), c);
}

const queue = new Queue(QUEUE_NAME, { connection: connectionOptions(url) });
for (const workers of o.workers.split(',').map(Number)) {
  await queue.obliterate({ force: true });
  const threads = Math.max(1, Math.floor(cores / workers));
  const procs = await Promise.all(Array.from({ length: workers }, () => startWorker(url, threads)));
  const ev = await queueEvaluator(spec, url, { parallel: 4 * workers, pollMs: 1000 });
  const t0 = performance.now();
  const done: number[] = [];
  await ev.scoreAll([...cells.values()], () => done.push(performance.now()));
  await ev.close();
  await Promise.all(procs.map(stop));
  const seconds = (done[done.length - 1] - t0) / 1000;
  // After warm-up: from the workers-th result on (each worker has loaded its data and teacher by then, mostly).
  const warm = done.length > workers ? (done.length - workers) / ((done[done.length - 1] - done[workers - 1]) / 60000) : null;
  const row = { bench: 'nas-scaling', workers, threads, cores, cells: n, proxy: spec.kind, steps: spec.steps[0], seconds, cells_per_minute: n / (seconds / 60), cells_per_minute_warm: warm };
  if (o.json) console.log(JSON.stringify(row));
  else console.log(`${String(workers).padStart(2)} worker(s) x ${threads} thread(s): ${n} cells in ${seconds.toFixed(1)} s = ${row.cells_per_minute.toFixed(0)} candidates/min (after warm-up ${warm?.toFixed(0) ?? '-'})`);
}
await queue.close();
await stop(redis);
process.exit(0);
