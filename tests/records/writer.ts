// A child process for the durability tests (not a test file itself).
//   writer.js grow DB RUN       grows RUN's metrics log and syncs it, one transaction per step, forever;
//                               prints "committed N" (iterations indexed) after each commit
//   writer.js evals DB RUN K    records K evaluations of RUN, each opening the database anew
//   writer.js hold DB MS        creates DB as a plain (rollback-journal) SQLite file and holds its write lock
//                               for MS ms, printing "locked" once it has it
import Database from 'better-sqlite3';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { openRecords, recordEvaluation, runMetrics, syncRun } from '../../src/records/index.js';

const [mode, db, run, k] = process.argv.slice(2);

if (mode === 'grow') {
  const records = openRecords(db);
  const metrics = join(run, 'metrics.jsonl');
  let iteration = 0;
  for (;;) {
    // Many rows per transaction, so that a kill is likely to land inside one.
    const lines = Array.from({ length: 200 }, () => JSON.stringify({ kind: 'iteration', iteration: ++iteration, metaLoss: 1 / iteration, gradNorm: 1, skipped: false, seconds: 0.1, innerLr: [0.1, 0.2] }));
    appendFileSync(metrics, `${lines.join('\n')}\n`);
    const id = syncRun(records, run)!;
    process.stdout.write(`committed ${runMetrics(records, id)!.iterations.length}\n`);
  }
} else if (mode === 'evals') {
  for (let i = 0; i < Number(k); i++) recordEvaluation(db, run, `gtn eval ${run} #${i}`, { accuracy_mean: i / 100, accuracy_std: 0, steps: 4, iteration: 4, curve: [] });
} else if (mode === 'hold') {
  const plain = new Database(db);
  plain.exec('BEGIN IMMEDIATE; CREATE TABLE holder (x)');
  process.stdout.write('locked\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(run));
  plain.exec('COMMIT');
  plain.close();
} else {
  throw new Error(`writer: unknown mode '${mode}'`);
}
