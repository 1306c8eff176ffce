// The records survive what real use does to them: a writer SIGKILLed in the middle of a transaction leaves a
// database that passes integrity_check and holds everything it had committed; several processes writing at
// once (and migrating a new database at once) lose nothing and corrupt nothing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { presetConfig } from '../../src/gtn/config.js';
import { listRuns, runMetrics, syncRun, withRecords } from '../../src/records/index.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-records-durability-'));
after(() => rmSync(work, { recursive: true, force: true }));
const writer = new URL('./writer.js', import.meta.url).pathname;

function makeRun(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(presetConfig('tiny', 'mnist'), null, 2));
}

const run = (args: string[]) => spawn(process.execPath, [writer, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

describe('records durability', () => {
  it('a writer SIGKILLed mid-write leaves a consistent database with all it had committed', async () => {
    const db = join(work, 'kill', 'gtn.db');
    const dir = join(work, 'kill', 'run');
    makeRun(dir);
    const child = run(['grow', db, dir]);
    let committed = 0;
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) committed = Number(l.split(' ')[1]);
        // Killed after some commits, while it is busy writing the next ones.
        if (committed >= 4000) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`the writer exited on its own: ${stderr}`)));
    });
    assert.equal(await exited, 'SIGKILL');
    withRecords(db, (records) => {
      assert.equal(records.pragma('integrity_check', { simple: true }), 'ok');
      assert.deepEqual(records.pragma('foreign_key_check'), []);
      const id = listRuns(records)[0].id;
      const indexed = runMetrics(records, id)!.iterations;
      assert.ok(indexed.length >= committed, `committed ${committed}, found ${indexed.length}`);
      assert.deepEqual(indexed.map((i) => i.iteration), Array.from({ length: indexed.length }, (_, i) => i + 1), 'whole transactions only');
      // And the next sync catches up with the log (the log is the source of truth).
      syncRun(records, dir);
      const logged = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').slice(0, -1).length;
      assert.equal(runMetrics(records, id)!.iterations.length, logged);
    });
  });

  it('opening a new database while another process writes it waits for the lock instead of failing', async () => {
    // SQLite refuses the read-to-write upgrade that switching to WAL needs without calling the busy handler;
    // before openRecords retried it, this failed at once with "database is locked".
    const db = join(work, 'held', 'gtn.db');
    mkdirSync(join(work, 'held'));
    const holder = run(['hold', db, '400']);
    const exited = new Promise<number | null>((resolve) => holder.on('exit', resolve));
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    withRecords(db, (records) => {
      assert.equal(records.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(listRuns(records), []);
      assert.ok(records.prepare("SELECT 1 FROM sqlite_master WHERE name = 'holder'").get(), 'the holder committed first');
    });
    assert.equal(await exited, 0);
  });

  it('several processes writing one new database at once lose nothing', async () => {
    const db = join(work, 'many', 'gtn.db');
    const writers = 4;
    const each = 25;
    const dirs = Array.from({ length: writers }, (_, w) => join(work, 'many', `run${w}`));
    dirs.forEach(makeRun);
    const results = await Promise.all(
      dirs.map(
        (dir) =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const c = run(['evals', db, dir, String(each)]);
            let stderr = '';
            c.stderr.on('data', (d) => (stderr += d));
            c.on('exit', (code) => resolve({ code, stderr }));
          }),
      ),
    );
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '', 'no writer gave up on the database');
    }
    withRecords(db, (records) => {
      assert.equal(records.pragma('integrity_check', { simple: true }), 'ok');
      assert.equal(records.pragma('journal_mode', { simple: true }), 'wal');
      const runs = listRuns(records);
      assert.equal(runs.length, writers);
      for (const r of runs) assert.equal(r.evaluations, each);
    });
  });
});
