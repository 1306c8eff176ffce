// The dashboard's API on real records: every endpoint answers JSON (or a PNG) for good input, and a 4xx JSON
// {error} for bad input — unknown ids, malformed queries, names that try to leave the runs folder.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerDashboardCommand } from '../../src/cli/commands/dashboard.js';
import { createDashboard, startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { syncRun, withRecords } from '../../src/records/index.js';
import { evalTiny, makeNas, makeTruth, trainTiny } from '../records/fixture.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-dashboard-api-'));
const runs = join(work, 'runs');
const dbFile = join(runs, 'gtn.db');
let d: Dashboard;
let evalResult: Record<string, unknown>;

before(async () => {
  trainTiny(join(runs, 'tiny'), 4, 2);
  evalResult = evalTiny(join(runs, 'tiny'), dbFile);
  const truth = join(work, 'truth.csv');
  makeTruth(truth);
  makeNas(join(runs, 'nas'), truth, dbFile);
  // A run indexed in the same database but outside the runs folder: its files are never served.
  const outside = join(work, 'outside');
  cpSync(join(runs, 'tiny'), outside, { recursive: true });
  withRecords(dbFile, (db) => syncRun(db, outside));
  d = await createDashboard({ runsDir: runs, dbFile, syncIntervalMs: 0 });
});
after(async () => {
  await d?.close();
  rmSync(work, { recursive: true, force: true });
});

async function get(url: string) {
  const r = await d.app.inject({ method: 'GET', url });
  const json = r.headers['content-type']?.toString().startsWith('application/json') ? (r.json() as Record<string, unknown>) : null;
  return { status: r.statusCode, json, body: r.rawPayload, type: String(r.headers['content-type']) };
}

async function fails(url: string, status: number, message: RegExp) {
  const r = await get(url);
  assert.equal(r.status, status, `${url}: ${r.status} ${r.body.toString().slice(0, 200)}`);
  assert.ok(r.json && typeof r.json.error === 'string', `${url}: a JSON {error}`);
  assert.match(r.json.error as string, message, url);
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('dashboard API', () => {
  let id = 0;
  let outsideId = 0;

  it('GET /api/runs lists the runs under the folder (and the ones indexed elsewhere)', async () => {
    const r = await get('/api/runs');
    assert.equal(r.status, 200);
    const list = (r.json as Json).runs as Json[];
    const tiny = list.find((x) => x.name === 'tiny')!;
    id = tiny.id;
    outsideId = list.find((x) => x.dir === join(work, 'outside'))!.id;
    assert.equal(tiny.iterations, 4);
    assert.equal(tiny.status, 'finished');
    assert.equal(tiny.test.accuracyMean, evalResult.accuracy_mean);
    assert.equal((r.json as Json).runsDir, runs);
  });

  it('GET /api/runs/:id, /metrics, /schedule, /evaluations', async () => {
    const run = (await get(`/api/runs/${id}`)).json as Json;
    assert.equal(run.config.dataset, 'mnist');
    assert.deepEqual(run.samples.map((s: Json) => s.file), ['iteration-000002.png', 'iteration-000004.png']);
    const m = (await get(`/api/runs/${id}/metrics`)).json as Json;
    assert.deepEqual(m.iterations.map((i: Json) => i.iteration), [1, 2, 3, 4]);
    assert.ok(m.iterations.every((i: Json) => typeof i.metaLoss === 'number'));
    assert.deepEqual(m.validations.map((v: Json) => v.iteration), [2, 4]);
    const s = (await get(`/api/runs/${id}/schedule`)).json as Json;
    assert.equal(s.iterations.length, 4);
    assert.equal(s.lr[0].length, 4);
    const e = (await get(`/api/runs/${id}/evaluations`)).json as Json;
    assert.equal(e.evaluations.length, 1);
    assert.deepEqual(e.evaluations[0].result.curve, evalResult.curve);
    assert.match(e.evaluations[0].command, /^gtn eval /);
  });

  it('GET /api/runs/:id/samples/:file serves the PNG', async () => {
    const r = await get(`/api/runs/${id}/samples/iteration-000002.png`);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'image/png');
    assert.deepEqual([...r.body.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  });

  it('GET /api/metrics?runs= overlays several runs', async () => {
    const r = (await get(`/api/metrics?runs=${id},${outsideId}`)).json as Json;
    assert.deepEqual(r.runs.map((x: Json) => x.id), [id, outsideId]);
    assert.equal(r.runs[1].iterations.length, 4);
  });

  it('GET /api/nas, /api/nas/rank/:id, /api/nas/search/:id', async () => {
    const { sources } = (await get('/api/nas')).json as Json;
    assert.deepEqual(sources.map((s: Json) => s.kind).sort(), ['rank', 'search', 'search']);
    const rank = sources.find((s: Json) => s.kind === 'rank');
    const scatter = (await get(`/api/nas/rank/${rank.id}`)).json as Json;
    assert.equal(scatter.groups[0].points.length, 61);
    assert.equal(typeof scatter.groups[0].spearman, 'number');
    assert.equal(typeof scatter.groups[0].kendall, 'number');
    for (const s of sources.filter((x: Json) => x.kind === 'search')) {
      const p = (await get(`/api/nas/search/${s.id}`)).json as Json;
      assert.equal(p.points.length, 20);
      assert.ok(p.points.every((x: Json) => typeof x.bestTruth === 'number' && typeof x.elapsed === 'number'));
    }
  });

  it('serves the page, its script and uPlot from the package', async () => {
    const page = await get('/');
    assert.equal(page.status, 200);
    assert.match(page.type, /text\/html/);
    assert.match(page.body.toString(), /<script type="module" src="\/app.js">/);
    assert.doesNotMatch(page.body.toString(), /https?:\/\//, 'nothing from the network');
    for (const f of ['/app.js', '/style.css', '/vendor/uplot/uPlot.esm.js', '/vendor/uplot/uPlot.min.css']) assert.equal((await get(f)).status, 200, f);
  });

  it('bad input: a 4xx JSON error, never a crash', async () => {
    await fails('/api/runs/abc', 400, /run id must be a positive integer/);
    await fails('/api/runs/0', 400, /positive integer/);
    await fails('/api/runs/-1/metrics', 400, /positive integer/);
    await fails('/api/runs/99999', 404, /no run 99999/);
    await fails('/api/runs/99999/metrics', 404, /no run/);
    await fails('/api/runs/99999/schedule', 404, /no run/);
    await fails('/api/runs/99999/evaluations', 404, /no run/);
    await fails('/api/runs/1e3', 400, /positive integer/);
    await fails('/api/runs/12345678901234567890', 400, /positive integer/);
    await fails('/api/metrics', 400, /runs=ID/);
    await fails('/api/metrics?runs=', 400, /runs=ID/);
    await fails(`/api/metrics?runs=${id},x`, 400, /positive integer/);
    await fails(`/api/metrics?runs=${id}&runs=${id}`, 400, /runs=ID/);
    await fails(`/api/metrics?runs=${id},99999`, 404, /no run 99999/);
    await fails(`/api/metrics?runs=${Array.from({ length: 21 }, (_, k) => k + 1).join(',')}`, 400, /at most 20/);
    await fails('/api/nas/rank/abc', 400, /positive integer/);
    await fails('/api/nas/rank/99999', 404, /no rank log/);
    await fails('/api/nas/search/99999', 404, /no search/);
    const { sources } = (await get('/api/nas')).json as Json;
    await fails(`/api/nas/rank/${sources.find((s: Json) => s.kind === 'search').id}`, 404, /no rank log/);
    await fails('/api/nope', 404, /not found/);
    await fails('/nope.html', 404, /not found/);
  });

  it('sample names cannot leave the run folder, nor the runs folder', async () => {
    await fails(`/api/runs/${id}/samples/config.json`, 400, /iteration-N.png/);
    await fails(`/api/runs/${id}/samples/..%2Fconfig.json`, 400, /iteration-N.png/);
    await fails(`/api/runs/${id}/samples/..%2F..%2F..%2Fetc%2Fpasswd`, 400, /iteration-N.png/);
    await fails(`/api/runs/${id}/samples/iteration-000003.png`, 404, /no sample/);
    await fails(`/api/runs/${id}/samples/%00`, 400, /iteration-N.png/);
    // Indexed, but outside the runs folder the dashboard serves.
    await fails(`/api/runs/${outsideId}/samples/iteration-000002.png`, 404, /no sample/);
    // A sample that is a link to a file outside the runs folder.
    const linked = join(runs, 'linked');
    cpSync(join(runs, 'tiny'), linked, { recursive: true });
    rmSync(join(linked, 'samples', 'iteration-000004.png'));
    symlinkSync(join(work, 'outside', 'samples', 'iteration-000004.png'), join(linked, 'samples', 'iteration-000004.png'));
    const list = (await get('/api/runs')).json as Json;
    const linkedId = list.runs.find((r: Json) => r.name === 'linked').id;
    assert.equal((await get(`/api/runs/${linkedId}/samples/iteration-000002.png`)).status, 200);
    await fails(`/api/runs/${linkedId}/samples/iteration-000004.png`, 404, /no sample/);
    assert.equal((await get('/vendor/uplot/..%2F..%2Fpackage.json')).status, 404);
    assert.equal((await get('/../package.json')).status, 404);
  });

  it('a run that appears in the folder is listed on the next request', async () => {
    trainTiny(join(runs, 'later'), 2, 2);
    const list = ((await get('/api/runs')).json as Json).runs as Json[];
    assert.equal(list.find((r) => r.name === 'later')?.iterations, 2);
  });

  it('listens on 127.0.0.1 by default', async () => {
    const s = await startDashboard({ runsDir: runs, dbFile, port: 0 });
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const addr = s.app.server.address();
      assert.ok(addr && typeof addr === 'object' && addr.address === '127.0.0.1');
      const r = await fetch(`${s.url}api/runs/abc`);
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as { error: string }).error, /positive integer/);
    } finally {
      await s.close();
    }
  });

  it('gtn dashboard refuses a runs folder that does not exist', async () => {
    const program = new Command().exitOverride();
    registerDashboardCommand(program);
    await assert.rejects(program.parseAsync(['node', 'gtn', 'dashboard', '--runs', join(work, 'missing'), '--port', '0']), (e: Error) => e.name === 'GtnError' && /is not a folder/.test(e.message));
  });
});
