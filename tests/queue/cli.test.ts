// `gtn nas rank|search --queue` end to end with a `gtn worker` and a real redis-server: the same scores as
// in-process, a logged rank and a search that resume without re-scoring, and the error for a dead queue.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheDir } from '../../src/data/cache.js';
import { RedisServer, freePort, redisMissing } from './redisServer.js';
import { WorkerProcess } from './workerProcess.js';

const root = new URL('../../../', import.meta.url).pathname;
const bin = join(root, 'bin', 'gtn.js');
const env = { ...process.env, GTN_THREADS: '1' };
const gtn = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
const jsonLines = (out: string) => out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

const hasQueue = /--queue <url>/.test(gtn('nas', 'rank', '--help').stdout) && /^\s+worker\b/m.test(gtn('--help').stdout);
const skip = redisMissing() ?? (hasQueue ? null : 'gtn nas rank has no --queue option or gtn no worker command yet (src/cli/commands/nas.ts, index.ts)');
if (skip) console.log(`# queue CLI tests skipped: ${skip}`);

describe('gtn nas rank|search --queue', { skip: skip ?? false }, () => {
  const work = mkdtempSync(join(tmpdir(), 'gtn-queue-cli-'));
  const teacher = join(work, 'teacher');
  let redis: RedisServer;
  let worker: WorkerProcess;

  before(async () => {
    redis = await RedisServer.start();
    const t = gtn('train', '--dataset', 'cifar10', '--preset', 'tinynas', '--iterations', '2', '--out', teacher, '--quiet');
    assert.equal(t.status, 0, t.stderr);
    const cache = join(work, 'cache');
    mkdirSync(cache);
    for (const f of readdirSync(cacheDir()).filter((f) => f.endsWith('.bin'))) symlinkSync(join(cacheDir(), f), join(cache, f));
    worker = new WorkerProcess(redis.url, [], { GTN_CACHE_DIR: cache });
    await worker.ready();
  });

  after(async () => {
    await worker?.stop();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('rank: the in-process scores, logged; a rerun scores nothing again', () => {
    const common = ['nas', 'rank', '--sample', '6', '--seed', '2', '--proxy', `gtn:${teacher}`, '--steps', '2', '--val-images', '100', '--include-seen', '--json'];
    const local = gtn(...common);
    assert.equal(local.status, 0, local.stderr);
    const log = join(work, 'rank.jsonl');
    const remote = gtn(...common, '--queue', redis.url, '--out', log);
    assert.equal(remote.status, 0, remote.stderr);
    const scores = (out: string) => jsonLines(out).map((l) => [l.arch, l.score]).sort();
    assert.deepEqual(scores(remote.stdout), scores(local.stdout));
    const before = worker.completed().length;
    const again = gtn(...common, '--queue', redis.url, '--out', log);
    assert.deepEqual(scores(again.stdout), scores(local.stdout));
    assert.equal(worker.completed().length, before);
  });

  it('search: completes on the queue and resumes from its log', () => {
    const out = join(work, 'search');
    const args = ['nas', 'search', '--strategy', 'evolution', '--population', '3', '--tournament', '2', '--budget-evals', '6', '--proxy', `gtn:${teacher}`, '--steps', '2', '--val-images', '100', '--queue', redis.url, '--parallel', '2', '--out', out, '--json'];
    const r = gtn(...args);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(jsonLines(r.stdout).pop()!.evaluations, 6);
    const more = gtn(...args.map((a) => (a === '6' ? '8' : a)));
    assert.equal(more.status, 0, more.stderr);
    const lines = jsonLines(more.stdout);
    assert.equal(lines.filter((l) => l.replayed === true).length, 6);
    assert.equal(lines.pop()!.evaluations, 8);
  });

  it('a queue that cannot be reached is one clear line', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = gtn('nas', 'rank', '--sample', '2', '--proxy', 'params', '--queue', url);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), `gtn: cannot reach the queue at ${url} (ECONNREFUSED)`);
  });
});
