// Real records for the records and dashboard tests: a tiny run made with the CLI (seconds), its evaluation,
// and NAS logs scored with the zero-cost `params` proxy against a made-up ground truth.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCell } from '../../src/models/index.js';
import { parseProxy } from '../../src/nas/proxies/index.js';
import { proxyKey } from '../../src/nas/rank.js';
import { enumerateCells } from '../../src/nas/space.js';
import { commandLine, recordEvaluation, recordRankLog, recordSearch } from '../../src/records/index.js';

export const root = new URL('../../../', import.meta.url).pathname; // dist/tests/records -> repo root
export const bin = join(root, 'bin', 'gtn.js');

const { GTN_DB: _db, ...baseEnv } = process.env;
export const env = { ...baseEnv, GTN_THREADS: '1' };

export function gtn(...args: string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `gtn ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

export const trainArgs = (out: string, iterations = 4, evalEvery = 2) => ['train', '--dataset', 'mnist', '--preset', 'tiny', '--iterations', String(iterations), '--eval-every', String(evalEvery), '--out', out, '--quiet'];

/** A real run folder of `iterations` outer iterations (validated every `evalEvery`). */
export function trainTiny(out: string, iterations = 4, evalEvery = 2): void {
  gtn(...trainArgs(out, iterations, evalEvery));
}

const evaluationsLogged = (run: string) => (existsSync(join(run, 'evaluations.jsonl')) ? readFileSync(join(run, 'evaluations.jsonl'), 'utf8').split('\n').length : 0);

/** `gtn eval` of the run, recorded (by the command itself where it does so, else here as it would). */
export function evalTiny(run: string, db: string | null = null): Record<string, unknown> {
  const args = ['eval', run, '--seeds', '1', '--json'];
  const before = evaluationsLogged(run);
  const result = JSON.parse(gtn(...args).trim().split('\n').pop()!) as Record<string, unknown>;
  if (evaluationsLogged(run) === before) recordEvaluation(db, run, commandLine(args), result);
  return result;
}

/** A ground-truth CSV over 61 cells: accuracy grows with the number of conv3x3 edges. Returns its cells. */
export function makeTruth(file: string): string[] {
  const cells = enumerateCells().filter((_, i) => i % 260 === 7).map(formatCell);
  const acc = (c: string, i: number) => 50 + 5 * (c.split('nor_conv_3x3').length - 1) + i / 100;
  writeFileSync(file, `index,arch_str,valid_accuracy_200ep,test_accuracy_200ep\n${cells.map((c, i) => `${i},${c},${acc(c, i)},${acc(c, i)}`).join('\n')}\n`);
  return cells;
}

/** A rank log and two searches (evolution, random) under `dir`, recorded with their truth as the NAS commands will. */
export function makeNas(dir: string, truth: string, db: string | null = null): { rankLog: string; searches: string[] } {
  mkdirSync(dir, { recursive: true });
  const rankLog = join(dir, 'rank-params.jsonl');
  gtn('nas', 'rank', '--archs', truth, '--proxy', 'params', '--out', rankLog, '--json');
  const spec = parseProxy('params');
  recordRankLog(db, rankLog, { proxyKey: proxyKey(spec), proxy: spec, truth });
  const searches = ['evolution', 'random'].map((strategy) => {
    const out = join(dir, `search-${strategy}`);
    gtn('nas', 'search', '--strategy', strategy, '--proxy', 'params', '--budget-evals', '20', '--population', '8', '--pool', truth, '--out', out, '--json');
    recordSearch(db, out, { truth });
    return out;
  });
  return { rankLog, searches };
}
