// Lists of cells on disk: one NB201 cell string per line, or a CSV with an `arch_str` column (only that column
// is read: a search or proxy never sees any other column of such a file).
import { readFileSync } from 'node:fs';
import { GtnError } from '../errors.js';
import { parseCell, type Cell } from '../models/index.js';

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new GtnError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Splits a CSV line (no quoted commas in these files; quotes around a field are dropped). */
const fields = (line: string): string[] => line.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));

/** The cells of an architecture file, each validated (errors name the file and line). */
export function readArchs(file: string): Cell[] {
  const lines = readText(file, 'architecture file').split(/\r?\n/);
  const header = fields(lines[0] ?? '');
  const col = header.indexOf('arch_str');
  const out: Cell[] = [];
  lines.forEach((line, i) => {
    if ((col >= 0 && i === 0) || !line.trim() || line.startsWith('#')) return;
    const text = col >= 0 ? fields(line)[col] : line.trim();
    if (text === undefined) throw new GtnError(`${file}:${i + 1}: no arch_str field`);
    try {
      out.push(parseCell(text));
    } catch (err) {
      throw new GtnError(`${file}:${i + 1}: ${(err as Error).message}`);
    }
  });
  if (!out.length) throw new GtnError(`${file} holds no cells`);
  return out;
}
