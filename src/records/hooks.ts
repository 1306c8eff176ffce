// What the commands call to keep the records current. The run folder or NAS log is always written first (it is
// the source of truth); a failure to update the database afterwards is only a warning, since
// `gtn runs reindex` (or the dashboard's next poll) rebuilds it from the files.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { appendJsonl } from '../io/jsonl.js';
import { dbPathForRun, openRecords, withRecords, type RecordsDb } from './db.js';
import { rankSidecar, searchFiles, syncRankLog, syncSearch, updateSidecar } from './syncNas.js';
import { evaluationsFile, markRunProcess, syncRun, type EvaluationLine } from './syncRun.js';

let warned = false;
function warn(err: unknown): void {
  if (warned) return;
  warned = true;
  console.error(`gtn: warning: the run records were not updated (${(err as Error).message}); \`gtn runs reindex\` rebuilds them`);
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    warn(err);
  }
}

/** The command line as typed, for the records: `gtn eval runs/x --seeds 5`. */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  return ['gtn', ...argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))].join(' ');
}

/**
 * Appends an evaluation (`gtn eval`'s JSON result and the command that made it) to <run>/evaluations.jsonl and
 * indexes it. `dbPath` null: the run's default database. Never throws: a failure is a warning on stderr.
 */
export function recordEvaluation(dbPath: string | null, runDir: string, command: string, result: object): void {
  const line: EvaluationLine = { at: new Date().toISOString(), command, result: result as Record<string, unknown> };
  try {
    appendJsonl(evaluationsFile(runDir), line);
  } catch (err) {
    // E.g. a read-only run folder: the evaluation itself succeeded and has been printed.
    console.error(`gtn: warning: could not record the evaluation in ${evaluationsFile(runDir)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return;
  }
  quietly(() => withRecords(dbPath ?? dbPathForRun(runDir), (db) => syncRun(db, runDir)));
}

export interface RunTracker {
  /** Indexes what the run folder holds now (call after each event: it reads only what was appended). */
  update(): void;
  /** Indexes the final state and clears the running mark. */
  close(): void;
}

/** Keeps the records of a run being trained current; the database stays open for the run's duration. */
export function trackRun(runDir: string, dbPath: string | null = null): RunTracker {
  let db: RecordsDb | null = null;
  try {
    db = openRecords(dbPath ?? dbPathForRun(runDir));
  } catch (err) {
    warn(err);
  }
  let marked = false;
  const sync = (d: RecordsDb) => quietly(() => syncRun(d, runDir));
  return {
    update() {
      if (!db) return;
      sync(db);
      if (!marked) quietly(() => markRunProcess(db!, runDir, process.pid, hostname()));
      marked = true;
    },
    close() {
      if (!db) return;
      sync(db);
      quietly(() => markRunProcess(db!, runDir, null, null));
      db.close();
      db = null;
    },
  };
}

/**
 * Indexes a rank log (`gtn nas rank --out FILE`): records the proxy behind its proxyKey and the --truth CSV in
 * the log's sidecar (FILE.meta.json) so that a reindex finds them again, then syncs it. Never throws.
 */
export function recordRankLog(dbPath: string | null, log: string, o: { proxyKey: string; proxy: object; truth?: string }): void {
  quietly(() => {
    updateSidecar(rankSidecar(log), { proxies: { [o.proxyKey]: o.proxy as Record<string, unknown> }, truth: o.truth });
    withRecords(dbPath ?? dbPathForRun(resolve(log)), (db) => syncRankLog(db, log));
  });
}

/** Indexes a search folder (`gtn nas search --out DIR`), remembering its --truth CSV in DIR/meta.json. Never throws. */
export function recordSearch(dbPath: string | null, dir: string, o: { truth?: string } = {}): void {
  quietly(() => {
    if (o.truth) updateSidecar(searchFiles(dir).sidecar, { truth: o.truth });
    withRecords(dbPath ?? dbPathForRun(dir), (db) => syncSearch(db, dir));
  });
}
