// Distributed scoring against a real redis-server (started here on a free loopback port, append-only file on)
// and real `gtn worker` processes: the same scores as in-process, results reused on resubmission, a worker
// killed mid-job, Redis restarted mid-search, two searches at once, and jobs that cannot succeed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { cacheDir } from '../../src/data/cache.js';
import { loadTrainingSplits, type TrainingSplits } from '../../src/data/load.js';
import { GtnError } from '../../src/errors.js';
import { formatCell, parseCell, randomCell, type Cell } from '../../src/models/index.js';
import { buildProxy, parseProxy, type Proxy, type ProxyResult, type ProxySpec } from '../../src/nas/proxies/index.js';
import { rankCells } from '../../src/nas/rank.js';
import { readSearchRecords, runSearch, type SearchSettings } from '../../src/nas/search.js';
import { readJsonl } from '../../src/io/jsonl.js';
import { connectionOptions, jobSpec, probeQueue, QUEUE_NAME, queueEvaluator, ScoreQueue, teacherBundle, type ScoreJob } from '../../src/queue/index.js';
import { Rng } from '../../src/tensor/index.js';
import { RedisServer, redisMissing } from './redisServer.js';
import { gtnCommand, WorkerProcess } from './workerProcess.js';

const missing = redisMissing();
if (missing) console.log(`# queue tests skipped: ${missing}`);

const work = mkdtempSync(join(tmpdir(), 'gtn-queue-'));
let redis: RedisServer;
let jobs: Queue;
const workers: WorkerProcess[] = [];
let teacher: string;
let splits: TrainingSplits;
// Workers get their own cache folder (teachers arrive there by hash) with this machine's decoded datasets.
const workerCache = join(work, 'cache');
const emptyCache = join(work, 'empty-cache');

// A short stalled-job check for every worker: a check taken by one worker blocks the others for its period.
const startWorker = async (args: string[] = [], env: NodeJS.ProcessEnv = {}) => {
  const w = new WorkerProcess(redis.url, ['--stalled-ms', '500', ...args], { GTN_CACHE_DIR: workerCache, ...env });
  workers.push(w);
  await w.ready();
  return w;
};

const proxies = new Map<string, Proxy>();
async function reference(spec: ProxySpec, arch: string): Promise<ProxyResult> {
  const key = JSON.stringify(spec);
  if (!proxies.has(key)) proxies.set(key, await buildProxy(spec, splits));
  return proxies.get(key)!.score(parseCell(arch));
}
const gtnSpec = (seed: number) => parseProxy(`gtn:${teacher}`, { steps: [2], valImages: 100, seed });
/** n distinct random cells. */
const cells = (n: number, seed: number): Cell[] => {
  const rng = Rng.seeded(seed);
  const out = new Map<string, Cell>();
  while (out.size < n) {
    const c = randomCell(rng);
    out.set(formatCell(c), c);
  }
  return [...out.values()];
};
const searchSettings = (spec: ProxySpec, seed = 0): SearchSettings => ({ space: 'nb201', strategy: 'random', seed, population: 5, tournament: 2, proxy: { kind: spec.kind, settings: { ...jobSpec(spec) } } });

/** Every proposal of a search log has exactly one result. */
function assertScoredOnce(dir: string, n: number): void {
  const events = readJsonl<{ event: string; n: number }>(join(dir, 'evaluations.jsonl'));
  const results = events.filter((e) => e.event === 'result').map((e) => e.n);
  assert.equal(results.length, n);
  assert.deepEqual([...results].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
}

describe('distributed scoring on BullMQ + Redis', { skip: missing ?? false }, () => {
  before(async () => {
    redis = await RedisServer.start({ aof: true });
    jobs = new Queue(QUEUE_NAME, { connection: connectionOptions(redis.url) });
    teacher = join(work, 'teacher');
    const t = spawnSync(process.execPath, [gtnCommand(), 'train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '2', '--out', teacher, '--quiet'], { env: { ...process.env, GTN_THREADS: '1' }, encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    splits = await loadTrainingSplits('cifar10');
    mkdirSync(workerCache);
    mkdirSync(emptyCache);
    for (const f of readdirSync(cacheDir()).filter((f) => f.endsWith('.bin'))) symlinkSync(join(cacheDir(), f), join(workerCache, f));
  });

  after(async () => {
    for (const w of workers) await w.stop();
    await jobs?.close();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('ranks through two workers with the in-process scores; a resubmission re-scores nothing', async () => {
    const w = [await startWorker(), await startWorker()];
    const spec = gtnSpec(0);
    const list = cells(8, 1);
    for (let round = 0; round < 2; round++) {
      const ev = await queueEvaluator(spec, redis.url, { pollMs: 500 });
      const { records } = await rankCells(list, spec, ev).finally(() => ev.close());
      for (const r of records) {
        const ref = await reference(spec, r.arch);
        assert.equal(r.score, ref.score, r.arch);
        assert.deepEqual(r.bySteps!.map((s) => s.scores), ref.bySteps!.map((s) => s.scores));
      }
    }
    const done = await jobs.getJobs(['completed']);
    assert.equal(done.length, 8);
    for (const j of done) assert.equal(j.attemptsStarted, 1, `${j.data.arch} was scored more than once`);
    for (const x of w) await x.stop();
    assert.equal(w[0].completed().length + w[1].completed().length, 8);
    // The teacher reached the workers by its content hash.
    assert.equal(readdirSync(join(workerCache, 'teachers', teacherBundle(teacher).hash)).sort().join(), 'checkpoints,config.json');
  });

  it('kill -9 of a worker mid-job: another worker re-runs the job, every candidate is scored once', async () => {
    // Its empty cache makes the first job slow to start (CIFAR-10 from its PNGs): it is surely killed mid-job.
    const a = await startWorker(['--lock-ms', '3000'], { GTN_CACHE_DIR: emptyCache });
    const spec = gtnSpec(1);
    const ev = await queueEvaluator(spec, redis.url, { pollMs: 500 });
    const dir = join(work, 'search-kill');
    const search = runSearch(dir, searchSettings(spec), { evaluations: 6 }, { score: (c) => ev.score(c), parallel: 2 });
    const first = await a.waitFor((e) => e.event === 'active');
    await a.kill9();
    assert.equal(a.completed().length, 0);
    const b = await startWorker();
    await search.finally(() => ev.close());
    await b.stop();
    assertScoredOnce(dir, 6);
    assert.ok(b.completed().includes((first as { job: string }).job), 'the killed job was re-run by the other worker');
    assert.ok(b.events.some((e) => e.event === 'stalled'));
    for (const r of readSearchRecords(dir)) assert.equal(r.score, (await reference(spec, r.arch)).score, r.arch);
    const job = await jobs.getJob((first as { job: string }).job);
    assert.equal(await job!.getState(), 'completed');
    assert.equal(job!.attemptsStarted, 2);
  });

  it('Redis restarted mid-search (append-only file): the search completes', async () => {
    const w = await startWorker(['--lock-ms', '5000']);
    const spec = gtnSpec(2);
    const ev = await queueEvaluator(spec, redis.url, { pollMs: 300, log: () => {} });
    const dir = join(work, 'search-restart');
    let restart: Promise<void> | null = null;
    const res = await runSearch(dir, searchSettings(spec, 1), { evaluations: 8 }, {
      score: (c) => ev.score(c),
      parallel: 2,
      onRecord: (_r, replayed) => {
        if (!replayed && !restart && readSearchRecords(dir).length >= 2) restart = redis.kill().then(() => redis.up());
      },
    }).finally(() => ev.close());
    assert.ok(restart, 'Redis was restarted');
    await restart;
    assert.equal(res.evaluations, 8);
    assertScoredOnce(dir, 8);
    for (const r of readSearchRecords(dir)) assert.equal(r.score, (await reference(spec, r.arch)).score, r.arch);
    await w.stop();
  });

  it('two searches at once over the same cells do not mix their results', async () => {
    const w = [await startWorker(), await startWorker()];
    const specs = [parseProxy('params', { channels: 8 }), parseProxy('params', { channels: 16 })];
    const evs = await Promise.all(specs.map((s) => queueEvaluator(s, redis.url, { pollMs: 500 })));
    const dirs = [join(work, 'search-a'), join(work, 'search-b')];
    // The same seed: both propose the same cells, whose scores differ between the two proxies.
    await Promise.all(specs.map((s, i) => runSearch(dirs[i], searchSettings(s, 3), { evaluations: 10 }, { score: (c) => evs[i].score(c), parallel: 4 }).finally(() => evs[i].close())));
    const recs = dirs.map(readSearchRecords);
    for (const [i, dir] of dirs.entries()) {
      assertScoredOnce(dir, 10);
      for (const r of recs[i]) assert.equal(r.score, (await reference(specs[i], r.arch)).score, r.arch);
    }
    assert.deepEqual(recs[0].map((r) => r.arch).sort(), recs[1].map((r) => r.arch).sort());
    for (const x of w) await x.stop();
  });

  it('a server that refuses the URL is a clear error, with no password shown', async () => {
    const locked = await RedisServer.start({ args: ['--requirepass', 'sekret'] });
    try {
      const port = locked.port;
      await assert.rejects(queueEvaluator(parseProxy('params'), `redis://127.0.0.1:${port}`), { name: 'GtnError', message: `cannot use the queue at redis://127.0.0.1:${port} (NOAUTH Authentication required.)` });
      await assert.rejects(probeQueue(`redis://:guess@127.0.0.1:${port}`), (e: Error) => e instanceof GtnError && e.message.startsWith(`cannot use the queue at redis://:***@127.0.0.1:${port} (WRONGPASS`));
      await probeQueue(`redis://:sekret@127.0.0.1:${port}`);
    } finally {
      await locked.stop();
    }
  });

  it('a bad cell or a missing teacher fails once, with a clear message, and the other jobs go on', async () => {
    const w = await startWorker();
    const spec = gtnSpec(3);
    const q = await ScoreQueue.open(redis.url, { pollMs: 500 });
    const common = await q.prepare(spec);
    const good = formatCell(cells(1, 9)[0]);
    const bad: ScoreJob = { ...common, arch: 'not-a-cell' };
    const orphan: ScoreJob = { ...common, teacher: 'f'.repeat(64), arch: good };
    const [r1, r2, r3] = await Promise.allSettled([q.score(bad), q.score(orphan), q.score({ ...common, arch: good })]);
    await q.close();
    await w.stop();
    assert.equal(r1.status, 'rejected');
    assert.ok((r1 as PromiseRejectedResult).reason instanceof GtnError);
    assert.match((r1 as PromiseRejectedResult).reason.message, /^a worker could not score not-a-cell: cell 'not-a-cell': expected 3 nodes/);
    assert.equal(r2.status, 'rejected');
    assert.match((r2 as PromiseRejectedResult).reason.message, /teacher ffffffffffff is not in the queue's store/);
    assert.equal(r3.status, 'fulfilled');
    const failed = await jobs.getJobs(['failed']);
    assert.equal(failed.length, 2);
    for (const j of failed) {
      assert.equal(j.attemptsStarted, 1, `${j.data.arch}: tried more than once`);
      assert.equal(w.events.filter((e) => e.event === 'active' && e.job === j.id).length, 1);
      assert.ok(w.events.some((e) => e.event === 'failed' && e.job === j.id && e.unrecoverable));
    }
    const w2 = await startWorker();

    // Through the evaluator (gtn nas rank): the bad cell is reported, the others are scored, then one error.
    const reported: string[] = [];
    const scored: string[] = [];
    const ev = await queueEvaluator(spec, redis.url, { pollMs: 500, onFailure: (_c, e) => reported.push(e.message) });
    const list = [...cells(2, 10), ['conv', 'none', 'none', 'none', 'none', 'none'] as unknown as Cell];
    await assert.rejects(
      ev.scoreAll(list, (c) => scored.push(formatCell(c))),
      (e: Error) => e instanceof GtnError && /^1 of 3 cell\(s\) could not be scored/.test(e.message),
    );
    await ev.close();
    assert.equal(scored.length, 2);
    assert.equal(reported.length, 1);
    assert.match(reported[0], /could not score \|conv~0\|.*unknown op 'conv'/);

    // Submitted again, a failed job gets one new try (a missing teacher may have been stored since).
    const again = await ScoreQueue.open(redis.url, { pollMs: 500 });
    await assert.rejects(again.score(bad), /could not score not-a-cell/);
    await again.close();
    await w2.stop();
    const badJob = failed.find((j) => j.data.arch === 'not-a-cell')!;
    assert.equal(w2.events.filter((e) => e.event === 'active' && e.job === badJob.id).length, 1);
    assert.equal((await jobs.getJob(badJob.id!))!.attemptsStarted, 1);
  });
});
