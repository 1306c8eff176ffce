// The run records index real run folders and NAS logs incrementally and idempotently, and `reindex` rebuilds
// from the folders alone everything the commands recorded (evaluations and ground truth included).
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { getRun, listNasSources, listRuns, openRecords, rankScatter, reindex, runChanged, runEvaluations, runMetrics, runSchedule, searchProgress, syncRun, syncTree, withRecords } from '../../src/records/index.js';
import { evalTiny, makeNas, makeTruth, trainTiny } from './fixture.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-records-'));
after(() => rmSync(work, { recursive: true, force: true }));
const runs = join(work, 'runs');
const run = join(runs, 'tiny');
const dbFile = join(runs, 'gtn.db');
const truth = join(work, 'truth.csv');
let truthCells: string[] = [];

before(() => {
  trainTiny(run, 4, 2);
  truthCells = makeTruth(truth);
});

const count = (db: ReturnType<typeof openRecords>, sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;

describe('run records', () => {
  it('index a real run: iterations, validations, learned lrs, momenta from the checkpoint, samples', () => {
    withRecords(dbFile, (db) => {
      const id = syncRun(db, run)!;
      const m = runMetrics(db, id)!;
      assert.deepEqual(m.iterations.map((i) => i.iteration), [1, 2, 3, 4]);
      assert.deepEqual(m.validations.map((v) => v.iteration), [2, 4]);
      const r = getRun(db, id)!;
      assert.equal(r.name, 'tiny');
      assert.equal(r.teacher, 'gtn');
      assert.equal(r.status, 'finished');
      assert.equal(r.checkpointIteration, 4);
      assert.equal(r.bestValidation, Math.max(...m.validations.map((v) => v.accuracy)));
      assert.deepEqual(r.samples.map((s) => s.iteration), [2, 4]);
      const s = runSchedule(db, id)!;
      assert.deepEqual(s.iterations, [1, 2, 3, 4]);
      assert.ok(s.lr.every((l) => l!.length === 4));
      const mom = s.momentum[3]!;
      assert.equal(mom.length, 4);
      assert.ok(mom.every((x) => x > 0 && x < 1));
    });
  });

  it('a second sync changes nothing and needs no write', () => {
    withRecords(dbFile, (db) => {
      const before = JSON.stringify([listRuns(db).map(({ updatedMs: _u, ...r }) => r), runMetrics(db, 1)]);
      assert.equal(runChanged(db, run), false);
      syncRun(db, run);
      assert.equal(JSON.stringify([listRuns(db).map(({ updatedMs: _u, ...r }) => r), runMetrics(db, 1)]), before);
    });
  });

  it('reads only appended lines, waits for a torn line to be completed, and starts over on a rewritten log', () => {
    const dir = join(runs, 'growing');
    cpSync(run, dir, { recursive: true });
    const metrics = join(dir, 'metrics.jsonl');
    const lines = readFileSync(metrics, 'utf8').trim().split('\n');
    writeFileAtomic(metrics, `${lines.slice(0, 2).join('\n')}\n`);
    withRecords(dbFile, (db) => {
      const id = syncRun(db, dir)!;
      assert.equal(runMetrics(db, id)!.iterations.length, 2);
      const third = lines[2];
      appendFileSync(metrics, third.slice(0, 20)); // a writer mid-line
      assert.equal(runChanged(db, dir), true);
      syncRun(db, dir);
      assert.equal(runMetrics(db, id)!.iterations.length, 2, 'a torn line is not read');
      appendFileSync(metrics, `${third.slice(20)}\n${lines.slice(3).join('\n')}\n`);
      syncRun(db, dir);
      assert.equal(runMetrics(db, id)!.iterations.length, 4);
      assert.equal(runMetrics(db, id)!.validations.length, 2);
      // A resumed run trims its log atomically (a new file): the records follow it.
      writeFileAtomic(metrics, `${lines.slice(0, 1).join('\n')}\n`);
      syncRun(db, dir);
      assert.deepEqual(runMetrics(db, id)!.iterations.map((i) => i.iteration), [1]);
      assert.equal(getRun(db, id)!.iterations, 1);
    });
  });

  it('records evaluations in the run folder and the database; reindex restores them from the folder', () => {
    const result = evalTiny(run, dbFile);
    const onDisk = readFileSync(join(run, 'evaluations.jsonl'), 'utf8').trim().split('\n');
    assert.equal(onDisk.length, 1);
    assert.match((JSON.parse(onDisk[0]) as { command: string }).command, /^gtn eval .*tiny --seeds 1 --json$/);
    const check = () =>
      withRecords(dbFile, (db) => {
        const id = listRuns(db).find((r) => r.name === 'tiny')!.id;
        const evs = runEvaluations(db, id)!;
        assert.equal(evs.length, 1);
        assert.equal(evs[0].accuracyMean, result.accuracy_mean);
        assert.deepEqual(evs[0].result.curve, result.curve);
        assert.equal(listRuns(db).find((r) => r.id === id)!.test!.accuracyMean, result.accuracy_mean);
      });
    check();
    rmSync(dbFile);
    withRecords(dbFile, (db) => reindex(db, runs));
    check();
  });

  it('index NAS rank logs and searches with their ground truth; reindex finds them again', () => {
    const { searches } = makeNas(join(runs, 'nas'), truth, dbFile);
    const check = () =>
      withRecords(dbFile, (db) => {
        const sources = listNasSources(db);
        assert.deepEqual(sources.map((s) => [s.kind, s.name]).sort(), [['rank', 'nas/rank-params.jsonl'], ['search', 'nas/search-evolution'], ['search', 'nas/search-random']]);
        const rank = rankScatter(db, sources.find((s) => s.kind === 'rank')!.id)!;
        assert.equal(rank.groups.length, 1);
        const g = rank.groups[0];
        assert.equal(g.proxy, 'params');
        assert.equal(g.settings!.kind, 'params');
        assert.equal(g.points.length, truthCells.length);
        assert.ok(g.spearman! > 0.6 && g.kendall! > 0.4, `params ranks this truth well: ${g.spearman} ${g.kendall}`);
        for (const s of sources.filter((x) => x.kind === 'search')) {
          const p = searchProgress(db, s.id)!;
          assert.equal(p.points.length, 20);
          assert.ok(p.points.every((x) => x.bestTruth !== null), 'every found cell has a true accuracy (pool = truth)');
          for (let k = 1; k < p.points.length; k++) assert.ok(p.points[k].bestScore! >= p.points[k - 1].bestScore!, 'best-so-far never falls');
          assert.equal(p.points[p.points.length - 1].evaluations, 20);
        }
      });
    check();
    assert.equal(searches.length, 2);
    rmSync(dbFile);
    withRecords(dbFile, (db) => {
      const report = reindex(db, runs);
      assert.deepEqual([report.runs, report.searches, report.rankLogs, report.errors.length], [2, 2, 1, 0]);
    });
    check();
  });

  it('forgets a run whose folder is gone and skips a damaged one without failing the rest', () => {
    const gone = join(runs, 'gone');
    cpSync(run, gone, { recursive: true });
    withRecords(dbFile, (db) => {
      syncTree(db, runs);
      assert.ok(listRuns(db).some((r) => r.name === 'gone'));
      rmSync(gone, { recursive: true });
      const broken = join(runs, 'broken');
      cpSync(run, broken, { recursive: true });
      writeFileSync(join(broken, 'config.json'), '{ not json');
      appendFileSync(join(run, 'metrics.jsonl'), 'garbage line\n');
      const report = syncTree(db, runs);
      assert.deepEqual(report.errors, []);
      assert.deepEqual(listRuns(db).map((r) => r.name).sort(), ['growing', 'tiny']);
      assert.equal(runMetrics(db, listRuns(db).find((r) => r.name === 'tiny')!.id)!.iterations.length, 4);
    });
  });

  it('refuses a database written by a newer gtn with a clear message', () => {
    const f = join(work, 'newer.db');
    withRecords(f, (db) => db.pragma('user_version = 99'));
    assert.throws(() => openRecords(f), (e: Error) => e.name === 'GtnError' && e.message.includes('newer gtn') && e.message.includes(f));
  });
});
