// Incremental reading of a source file for the records: the `files` table remembers how much of each file has
// been ingested (bytes of whole lines, and its inode and size), so a sync reads only what was appended. A file
// replaced since (a new inode: an atomic rewrite, e.g. a resumed run's trimmed metrics) or grown shorter is
// read again from the start, and the caller drops what it had derived from it.
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import type { RecordsDb } from './db.js';

interface FileRow {
  ino: number;
  size: number;
  mtime_ms: number;
  offset: number;
  lines: number;
}

export interface NewLines {
  /** The file was replaced or shrank: everything derived from it before must be dropped. */
  reset: boolean;
  /** Complete lines not read before, with their 0-based line numbers. */
  lines: { n: number; text: string }[];
}

export function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

const row = (db: RecordsDb, path: string) => db.prepare('SELECT ino, size, mtime_ms, offset, lines FROM files WHERE path = ?').get(path) as FileRow | undefined;

/** Whether the file differs from what the records last saw (no database write). */
export function fileChanged(db: RecordsDb, path: string, st: Stats | null = statOrNull(path)): boolean {
  const r = row(db, path);
  if (!st) return r !== undefined;
  return !r || r.ino !== st.ino || r.size !== st.size || r.mtime_ms !== st.mtimeMs;
}

/** Records the file as seen without reading lines (for files ingested whole, like config.json). */
export function markSeen(db: RecordsDb, path: string, st: Stats | null): void {
  if (!st) db.prepare('DELETE FROM files WHERE path = ?').run(path);
  else db.prepare('INSERT OR REPLACE INTO files (path, ino, size, mtime_ms, offset, lines) VALUES (?, ?, ?, ?, ?, 0)').run(path, st.ino, st.size, st.mtimeMs, st.size);
}

function readRange(path: string, from: number, to: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    let got = 0;
    while (got < buf.length) {
      const k = readSync(fd, buf, got, buf.length - got, from + got);
      if (k === 0) break;
      got += k;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * The complete lines appended to `path` since the last call, and the new position stored. A torn last line
 * (a writer killed mid-line, or still writing) is left for a later call. Call inside the transaction that
 * stores what the lines say, so the position and the data commit together.
 */
export function readNewLines(db: RecordsDb, path: string): NewLines {
  const st = statOrNull(path);
  const prev = row(db, path);
  if (!st) {
    if (prev) db.prepare('DELETE FROM files WHERE path = ?').run(path);
    return { reset: prev !== undefined, lines: [] };
  }
  const reset = prev !== undefined && (prev.ino !== st.ino || st.size < prev.offset);
  const from = prev && !reset ? prev.offset : 0;
  let lineNo = prev && !reset ? prev.lines : 0;
  const buf = st.size > from ? readRange(path, from, st.size) : Buffer.alloc(0);
  const end = buf.lastIndexOf(0x0a) + 1;
  const lines: NewLines['lines'] = [];
  for (const text of buf.toString('utf8', 0, end).split('\n').slice(0, -1)) lines.push({ n: lineNo++, text });
  db.prepare('INSERT OR REPLACE INTO files (path, ino, size, mtime_ms, offset, lines) VALUES (?, ?, ?, ?, ?, ?)').run(path, st.ino, st.size, st.mtimeMs, from + end, lineNo);
  return { reset, lines };
}

/** A line as JSON, or null for a damaged line (skipped: the records are an index, not a validator). */
export function parseLine<T>(text: string): T | null {
  if (!text.trim()) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
