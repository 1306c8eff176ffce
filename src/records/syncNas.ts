// Ingests NAS records: rank logs (JSON lines of RankRecord, src/nas/rank.ts) and search folders (search.json +
// evaluations.jsonl, src/nas/search.ts), incrementally like run folders. What the logs do not say is kept in a
// small sidecar beside them, written by the command that made them: the proxy description of each proxyKey, and
// the ground-truth CSV given with --truth (read into nas_truth, for reporting only).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { readTruth } from '../nas/truth.js';
import { displayName, type RecordsDb } from './db.js';
import { fileChanged, markSeen, parseLine, readNewLines, statOrNull } from './cursor.js';

export interface NasSidecar {
  /** proxyKey -> the proxy's full description (rank logs). */
  proxies?: Record<string, Record<string, unknown>>;
  /** Absolute path of the ground-truth CSV the command was given. */
  truth?: string;
}

export const rankSidecar = (log: string) => `${resolve(log)}.meta.json`;
export const searchFiles = (dir: string) => ({ settings: join(resolve(dir), 'search.json'), log: join(resolve(dir), 'evaluations.jsonl'), sidecar: join(resolve(dir), 'meta.json') });

function readSidecar(file: string): NasSidecar {
  try {
    return (parseLine<NasSidecar>(readFileSync(file, 'utf8')) ?? {}) as NasSidecar;
  } catch {
    return {};
  }
}

/** Merges `add` into a sidecar file (atomically). */
export function updateSidecar(file: string, add: NasSidecar): void {
  const prev = readSidecar(file);
  const next: NasSidecar = { ...prev };
  if (add.truth) next.truth = resolve(add.truth);
  if (add.proxies) next.proxies = { ...prev.proxies, ...add.proxies };
  writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`);
}

/** Loads the ground truth named by a sidecar into nas_truth when the CSV changed since it was last read. */
function ingestTruth(db: RecordsDb, csv: string | undefined): void {
  if (!csv) return;
  const st = statOrNull(csv);
  if (!st || !fileChanged(db, csv, st)) return;
  let truth: ReturnType<typeof readTruth>;
  try {
    truth = readTruth(csv);
  } catch {
    return; // A damaged CSV: `gtn nas` reports it; the records just lack the truth.
  }
  const ins = db.prepare('INSERT OR REPLACE INTO nas_truth (arch, valid200, test200, test12, source) VALUES (?, ?, ?, ?, ?)');
  for (const [arch, t] of truth) ins.run(arch, t.valid200, t.test200, t.test12 ?? null, csv);
  markSeen(db, csv, st);
}

function sourceId(db: RecordsDb, path: string, kind: 'rank' | 'search', fields: { strategy?: string | null; proxy?: string | null; settings?: string | null }, mtime: number): number {
  const name = displayName(db.name, path);
  db.prepare(`
    INSERT INTO nas_sources (path, kind, name, strategy, proxy, settings, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (path) DO UPDATE SET strategy = coalesce(excluded.strategy, strategy), proxy = coalesce(excluded.proxy, proxy),
      settings = coalesce(excluded.settings, settings), updated_ms = max(updated_ms, excluded.updated_ms)`).run(path, kind, name, fields.strategy ?? null, fields.proxy ?? null, fields.settings ?? null, mtime);
  return (db.prepare('SELECT id FROM nas_sources WHERE path = ?').get(path) as { id: number }).id;
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
/** A score as stored: -Infinity (a failed evaluation) stays comparable, other non-numbers are null. */
const score = (x: unknown) => (typeof x === 'number' && !Number.isNaN(x) ? x : null);
const host = (r: Record<string, unknown>) => (typeof r.host === 'string' ? r.host : typeof r.worker === 'string' ? r.worker : hostname());

/** Whether a rank log or search folder changed since its last sync (metadata only). */
export function nasChanged(db: RecordsDb, path: string, kind: 'rank' | 'search'): boolean {
  const files = kind === 'rank' ? [resolve(path), rankSidecar(path)] : Object.values(searchFiles(path));
  return files.some((p) => fileChanged(db, p));
}

/** Brings the records of a rank log up to date; returns its source id (null when the file is gone). */
export function syncRankLog(db: RecordsDb, log: string): number | null {
  const path = resolve(log);
  return db.transaction((): number | null => {
    const st = statOrNull(path);
    if (!st) {
      forgetSource(db, path, [path, rankSidecar(path)]);
      return null;
    }
    const side = readSidecar(rankSidecar(path));
    markSeen(db, rankSidecar(path), statOrNull(rankSidecar(path)));
    ingestTruth(db, side.truth);
    const id = sourceId(db, path, 'rank', {}, st.mtimeMs);
    const { reset, lines } = readNewLines(db, path);
    if (reset) db.prepare('DELETE FROM nas_evaluations WHERE source_id = ?').run(id);
    const ins = db.prepare('INSERT OR REPLACE INTO nas_evaluations (source_id, seq, arch, proxy, proxy_key, settings, score, seconds, by_steps, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const { n, text } of lines) {
      const r = parseLine<Record<string, unknown>>(text);
      if (!r || typeof r.arch !== 'string' || typeof r.proxyKey !== 'string') continue;
      const spec = side.proxies?.[r.proxyKey];
      const label = spec ? (spec.kind === 'gtn' ? `gtn:${String(spec.run)}` : String(spec.kind)) : r.proxyKey;
      ins.run(id, n, r.arch, label, r.proxyKey, spec ? JSON.stringify(spec) : null, score(r.score), num(r.seconds), r.bySteps === undefined ? null : JSON.stringify(r.bySteps), host(r));
    }
    // Labels of records read before the sidecar named their proxy.
    for (const [key, spec] of Object.entries(side.proxies ?? {})) {
      const label = spec.kind === 'gtn' ? `gtn:${String(spec.run)}` : String(spec.kind);
      db.prepare('UPDATE nas_evaluations SET proxy = ?, settings = ? WHERE source_id = ? AND proxy_key = ? AND settings IS NULL').run(label, JSON.stringify(spec), id, key);
    }
    db.prepare('UPDATE nas_sources SET proxy = (SELECT group_concat(DISTINCT proxy) FROM nas_evaluations WHERE source_id = ?) WHERE id = ?').run(id, id);
    return id;
  }).immediate();
}

interface SearchSettingsFile {
  strategy?: string;
  proxy?: { kind?: string; settings?: Record<string, unknown> };
}

/** Brings the records of a search folder up to date; returns its source id (null without search.json). */
export function syncSearch(db: RecordsDb, dir: string): number | null {
  const f = searchFiles(dir);
  const path = resolve(dir);
  return db.transaction((): number | null => {
    const st = statOrNull(f.settings);
    if (!st) {
      forgetSource(db, path, Object.values(f));
      return null;
    }
    const settings = parseLine<SearchSettingsFile>(readFileSync(f.settings, 'utf8')) ?? {};
    markSeen(db, f.settings, st);
    const side = readSidecar(f.sidecar);
    markSeen(db, f.sidecar, statOrNull(f.sidecar));
    ingestTruth(db, side.truth);
    const proxy = settings.proxy?.kind ?? null;
    const proxySettings = settings.proxy ? JSON.stringify(settings.proxy) : null;
    const id = sourceId(db, path, 'search', { strategy: settings.strategy ?? null, proxy, settings: proxySettings }, Math.max(st.mtimeMs, statOrNull(f.log)?.mtimeMs ?? 0));
    const { reset, lines } = readNewLines(db, f.log);
    if (reset) db.prepare('DELETE FROM nas_evaluations WHERE source_id = ?').run(id);
    const ins = db.prepare('INSERT OR REPLACE INTO nas_evaluations (source_id, seq, arch, proxy, settings, score, seconds, elapsed, reused, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const { text } of lines) {
      const r = parseLine<Record<string, unknown>>(text);
      // A log line is a result ({event: 'result', ...}, or a bare record in older logs) or a proposal (skipped).
      if (!r || (r.event !== undefined && r.event !== 'result') || typeof r.arch !== 'string' || !Number.isInteger(r.n)) continue;
      ins.run(id, r.n, r.arch, proxy, proxySettings, score(r.score), num(r.seconds), num(r.elapsed), r.reused ? 1 : 0, host(r));
    }
    return id;
  }).immediate();
}

function forgetSource(db: RecordsDb, path: string, files: string[]): void {
  db.prepare('DELETE FROM nas_sources WHERE path = ?').run(path);
  for (const p of files) db.prepare('DELETE FROM files WHERE path = ?').run(p);
}
