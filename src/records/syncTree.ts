// Finding what to index under a runs folder, and syncing all of it: run folders (a config.json), search folders
// (a search.json) and rank logs (*.jsonl whose first line has a proxyKey). `reindex` rebuilds the records from
// scratch; `syncTree` only touches what changed, so a dashboard can call it on every poll.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RecordsDb } from './db.js';
import { nasChanged, syncRankLog, syncSearch } from './syncNas.js';
import { runChanged, syncRun } from './syncRun.js';

export interface Found {
  runs: string[];
  searches: string[];
  rankLogs: string[];
}

const MAX_DEPTH = 8;

/** Whether the first line of a .jsonl file is a RankRecord (reads at most 64 KiB). */
function isRankLog(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const line = buf.toString('utf8', 0, n).split('\n')[0];
    return (JSON.parse(line) as { proxyKey?: unknown }).proxyKey !== undefined;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Everything indexable under `root` (hidden folders and node_modules skipped; run and search folders not entered). */
export function findSources(root: string): Found {
  const out: Found = { runs: [], searches: [], rankLogs: [] };
  const visit = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    if (names.includes('config.json')) return void out.runs.push(dir);
    if (names.includes('search.json')) return void out.searches.push(dir);
    for (const name of names.sort()) {
      if (name.startsWith('.') || name === 'node_modules') continue;
      const p = join(dir, name);
      let isDir: boolean;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        continue;
      }
      if (isDir) {
        if (depth < MAX_DEPTH) visit(p, depth + 1);
      } else if (name.endsWith('.jsonl') && isRankLog(p)) out.rankLogs.push(p);
    }
  };
  visit(resolve(root), 0);
  return out;
}

export interface SyncReport {
  runs: number;
  searches: number;
  rankLogs: number;
  /** Sources that changed and were synced. */
  synced: number;
  /** Sources that could not be read (path: reason); the rest is still synced. */
  errors: string[];
}

/** Syncs every source under `root` that changed, and forgets indexed ones that are gone from under it. */
export function syncTree(db: RecordsDb, root: string): SyncReport {
  const found = findSources(root);
  const report: SyncReport = { runs: found.runs.length, searches: found.searches.length, rankLogs: found.rankLogs.length, synced: 0, errors: [] };
  const attempt = (path: string, changed: boolean, sync: () => unknown) => {
    if (!changed) return;
    try {
      sync();
      report.synced++;
    } catch (err) {
      report.errors.push(`${path}: ${(err as Error).message}`);
    }
  };
  for (const d of found.runs) attempt(d, runChanged(db, d), () => syncRun(db, d));
  for (const d of found.searches) attempt(d, nasChanged(db, d, 'search'), () => syncSearch(db, d));
  for (const f of found.rankLogs) attempt(f, nasChanged(db, f, 'rank'), () => syncRankLog(db, f));
  // Indexed sources under root that are no longer there: their sync forgets them.
  const under = `${resolve(root)}/`;
  const seen = new Set([...found.runs, ...found.searches, ...found.rankLogs]);
  for (const { dir } of db.prepare('SELECT dir FROM runs').all() as { dir: string }[]) if (dir.startsWith(under) && !seen.has(dir)) attempt(dir, true, () => syncRun(db, dir));
  for (const { path, kind } of db.prepare('SELECT path, kind FROM nas_sources').all() as { path: string; kind: 'rank' | 'search' }[]) {
    if (path.startsWith(under) && !seen.has(path)) attempt(path, true, () => (kind === 'rank' ? syncRankLog(db, path) : syncSearch(db, path)));
  }
  return report;
}

/** Empties the records (the truth table included) and indexes everything under `root` again, in one transaction. */
export function reindex(db: RecordsDb, root: string): SyncReport {
  return db.transaction(() => {
    for (const t of ['runs', 'nas_sources', 'nas_truth', 'files']) db.prepare(`DELETE FROM ${t}`).run();
    return syncTree(db, root);
  }).immediate();
}
