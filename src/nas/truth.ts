// NAS-Bench-201 ground truth (accuracies after full training) for REPORTING ONLY: rank correlations and the
// true accuracy of a search's result. No proxy or search strategy receives anything read here.
import { readFileSync } from 'node:fs';
import { GtnError } from '../errors.js';
import { formatCell, parseCell } from '../models/index.js';
import type { Rng } from '../tensor/index.js';

export interface TrueAccuracy {
  valid200: number;
  test200: number;
  test12?: number;
}

/** arch string (normalised) -> accuracies, from a CSV with arch_str, valid_accuracy_200ep, test_accuracy_200ep[, test_accuracy_12ep]. */
export function readTruth(file: string): Map<string, TrueAccuracy> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GtnError(`cannot read ground-truth file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const head = lines[0].split(',');
  const col = (name: string) => head.indexOf(name);
  const [a, v, t, t12] = [col('arch_str'), col('valid_accuracy_200ep'), col('test_accuracy_200ep'), col('test_accuracy_12ep')];
  if (a < 0 || v < 0 || t < 0) throw new GtnError(`${file}: a ground-truth CSV needs the columns arch_str, valid_accuracy_200ep, test_accuracy_200ep`);
  const out = new Map<string, TrueAccuracy>();
  lines.slice(1).forEach((line, i) => {
    const f = line.split(',');
    const valid200 = Number(f[v]);
    const test200 = Number(f[t]);
    if (!Number.isFinite(valid200) || !Number.isFinite(test200)) throw new GtnError(`${file}:${i + 2}: accuracies are not numbers`);
    let key: string;
    try {
      key = formatCell(parseCell(f[a]));
    } catch (err) {
      throw new GtnError(`${file}:${i + 2}: ${(err as Error).message}`);
    }
    out.set(key, { valid200, test200, test12: t12 >= 0 && f[t12] !== '' ? Number(f[t12]) : undefined });
  });
  return out;
}

/**
 * `n` cells spread over the whole accuracy range: the cells sorted by 200-epoch test accuracy are cut into n
 * bins of equal count and one cell is drawn from each (the evaluation set of a rank-correlation measurement).
 */
export function stratifiedSample(truth: ReadonlyMap<string, TrueAccuracy>, n: number, rng: Rng, exclude: ReadonlySet<string> = new Set()): string[] {
  const cells = [...truth.entries()].filter(([a]) => !exclude.has(a)).sort((x, y) => x[1].test200 - y[1].test200 || (x[0] < y[0] ? -1 : 1));
  if (n > cells.length) throw new GtnError(`cannot draw ${n} cells from ${cells.length}`);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const lo = Math.floor((k * cells.length) / n);
    const hi = Math.floor(((k + 1) * cells.length) / n);
    out.push(cells[lo + rng.int(hi - lo)][0]);
  }
  return out;
}
