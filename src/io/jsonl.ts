// Append-only JSON-lines logs: each record is one line, appended and fsynced, so a killed process loses at most
// the record it was writing; a torn last line is ignored on reading.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function appendJsonl(file: string, record: object): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Every complete record of a log (none if the file does not exist). */
export function readJsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (err) {
      // Only the last line can be torn by a kill; anything else is a damaged file.
      if (i < lines.length - 2) throw new Error(`${file}:${i + 1}: not a JSON record (${(err as Error).message})`);
    }
  });
  return out;
}
