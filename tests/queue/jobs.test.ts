// The queue's pieces that need no server: content-hash job ids, teacher bundles, results through JSON, queue
// URLs, and the clear error for a queue that cannot be reached (library and `gtn worker`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GtnError } from '../../src/errors.js';
import { parseProxy } from '../../src/nas/proxies/index.js';
import { connectionOptions, jobId, jobSpec, probeQueue, queueEvaluator, teacherBundle, type ScoreJob } from '../../src/queue/index.js';
import { decodeResult, encodeResult } from '../../src/queue/jobs.js';
import { freePort } from './redisServer.js';
import { gtnCommand } from './workerProcess.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-queue-jobs-'));
after(() => rmSync(work, { recursive: true, force: true }));

const arch = '|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|';
const spec = parseProxy('params', { steps: [2, 4] });
const job: ScoreJob = { arch, spec: jobSpec(spec), teacher: null };

describe('job ids', () => {
  it('are the same for the same evaluation, whatever the key order or the teacher folder', () => {
    assert.match(jobId(job), /^e[0-9a-f]{40}$/);
    assert.equal(jobId(job), jobId({ ...job }));
    const reordered = Object.fromEntries(Object.entries(job.spec).reverse()) as ScoreJob['spec'];
    assert.equal(jobId({ teacher: null, spec: reordered, arch }), jobId(job));
    assert.deepEqual(jobSpec({ ...spec, run: '/somewhere/teacher' }), jobSpec({ ...spec, run: '/elsewhere/teacher' }));
  });

  it('differ when the cell, a proxy setting, the seed or the teacher differs', () => {
    const ids = [
      job,
      { ...job, arch: arch.replace('none~0', 'skip_connect~0') },
      { ...job, spec: { ...job.spec, steps: [2, 8] } },
      { ...job, spec: { ...job.spec, seed: 1 } },
      { ...job, teacher: 'a'.repeat(64) },
      { ...job, teacher: 'b'.repeat(64) },
    ].map(jobId);
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe('teacher bundles', () => {
  const run = join(work, 'teacher');
  mkdirSync(join(run, 'checkpoints'), { recursive: true });
  writeFileSync(join(run, 'config.json'), '{"teacher":"gtn"}\n');
  writeFileSync(join(run, 'checkpoints', 'best.gtnckpt'), Buffer.from([1, 2, 3, 4]));

  it('hash the content: a copied run folder has the same hash, a changed checkpoint another', () => {
    const copy = join(work, 'copy');
    cpSync(run, copy, { recursive: true });
    writeFileSync(join(copy, 'metrics.jsonl'), '{}\n');
    assert.equal(teacherBundle(copy).hash, teacherBundle(run).hash);
    writeFileSync(join(copy, 'checkpoints', 'best.gtnckpt'), Buffer.from([1, 2, 3, 5]));
    assert.notEqual(teacherBundle(copy).hash, teacherBundle(run).hash);
  });

  it('refuse a folder without a best checkpoint', () => {
    assert.throws(() => teacherBundle(work), (e: Error) => e instanceof GtnError && /has no best checkpoint/.test(e.message));
  });
});

it('results keep NaN and infinities through JSON', () => {
  const r = { score: Number.NEGATIVE_INFINITY, seconds: 0.5, bySteps: [{ steps: 2, seconds: 0.2, scores: { 'val-loss': Number.NaN, 'val-acc': 0.1 } }] };
  assert.deepEqual(decodeResult(encodeResult(r)), r);
});

describe('queue URLs', () => {
  it('become connection options', () => {
    assert.deepEqual(connectionOptions('redis://:secret@example.org:6390/2'), { host: 'example.org', port: 6390, password: 'secret', db: 2 });
    assert.deepEqual(connectionOptions('redis://10.0.0.5'), { host: '10.0.0.5', port: 6379, db: 0 });
  });

  it('are checked', () => {
    assert.throws(() => connectionOptions('localhost:6379'), /--queue expects a redis:\/\/ or rediss:\/\/ URL/);
    assert.throws(() => connectionOptions('redis://host:1/x'), /'x' in redis:\/\/host:1\/x is not a database number/);
  });
});

describe('an unreachable queue', () => {
  it('is a clear GtnError naming the URL, for the client', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const expected = (e: Error) => e instanceof GtnError && e.message === `cannot reach the queue at ${url} (ECONNREFUSED)`;
    await assert.rejects(probeQueue(url), expected);
    await assert.rejects(queueEvaluator(spec, url), expected);
  });

  it('makes `gtn worker` exit with that message and no stack trace', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const r = spawnSync(process.execPath, [gtnCommand(), 'worker', '--queue', url], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), `gtn: cannot reach the queue at ${url} (ECONNREFUSED)`);
  });
});
