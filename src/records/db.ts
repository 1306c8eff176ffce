// The run-records database: one SQLite file beside the runs (runs/gtn.db by default, GTN_DB or --db to move
// it). WAL mode lets readers (the dashboard) and several writers (train, eval, NAS workers) share it; a busy
// timeout makes a writer wait for the lock instead of failing; every write is one transaction, so a killed
// process leaves the database as of its last commit.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { GtnError } from '../errors.js';
import { MIGRATIONS } from './schema.js';

export type RecordsDb = Database.Database;

const BUSY_TIMEOUT_MS = 15_000;

/** Opens (creating and migrating when needed) the records database at `file`. */
export function openRecords(file: string): RecordsDb {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  let db: RecordsDb;
  try {
    db = new Database(file);
  } catch (err) {
    throw new GtnError(`cannot open the run records ${file}: ${(err as Error).message}`);
  }
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      configure(db, file);
      return db;
    } catch (err) {
      // Switching a new file to WAL upgrades a read lock to a write lock, and SQLite answers a contended
      // upgrade with SQLITE_BUSY at once instead of calling the busy handler (it could deadlock). So when
      // several processes open a new database together, the losers wait here and try again.
      if (isBusy(err) && Date.now() < deadline) {
        sleepMs(Math.min(200, 2 ** attempt) + (process.pid % 7));
        continue;
      }
      db.close();
      if (err instanceof GtnError) throw err;
      throw new GtnError(`cannot use the run records ${file}: ${(err as Error).message}`);
    }
  }
}

function configure(db: RecordsDb, file: string): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  // FULL: a transaction that returned is on disk, not only in the OS's cache.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  migrate(db, file);
}

const isBusy = (err: unknown) => String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_BUSY');

const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Applies the migrations the database lacks, in one write transaction (so two processes never both migrate). */
function migrate(db: RecordsDb, file: string): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() === MIGRATIONS.length) return;
  db.transaction(() => {
    const v = version();
    if (v > MIGRATIONS.length) throw new GtnError(`${file} was written by a newer gtn (schema ${v}, this one knows ${MIGRATIONS.length})`);
    for (let k = v; k < MIGRATIONS.length; k++) db.exec(MIGRATIONS[k]);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

/** Opens the database, runs `fn`, closes it. */
export function withRecords<T>(file: string, fn: (db: RecordsDb) => T): T {
  const db = openRecords(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The database of a runs folder: GTN_DB when set, else DIR/gtn.db. */
export function dbPathForRuns(runsDir: string): string {
  return process.env.GTN_DB || join(runsDir, 'gtn.db');
}

/**
 * The database a command writing `runDir` (or a NAS log) keeps current: GTN_DB when set; else the nearest
 * gtn.db in a folder above it (the one a dashboard of that folder uses); else runs/gtn.db for a path under
 * ./runs; else gtn.db beside it.
 */
export function dbPathForRun(runDir: string): string {
  if (process.env.GTN_DB) return process.env.GTN_DB;
  const abs = resolve(runDir);
  for (let dir = dirname(abs); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'gtn.db'))) return join(dir, 'gtn.db');
    if (dirname(dir) === dir) break;
  }
  const runs = resolve('runs');
  return abs.startsWith(runs + sep) ? join(runs, 'gtn.db') : join(dirname(abs), 'gtn.db');
}

/** How a path is shown: relative to the database's folder when inside it. */
export function displayName(dbFile: string, path: string): string {
  const rel = relative(dirname(resolve(dbFile)), path);
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : path;
}
