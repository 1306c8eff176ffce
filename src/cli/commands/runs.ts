// `gtn runs`: the run records (an SQLite index of the run folders and NAS logs) — list them, rebuild them.
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { GtnError } from '../../errors.js';
import { dbPathForRuns, listNasSources, listRuns, reindex, syncTree, withRecords, type RunSummary } from '../../records/index.js';

interface RunsFlags {
  runs: string;
  db?: string;
  json?: boolean;
}

function checkRunsDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new GtnError(`--runs ${dir} is not a folder`);
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);

function table(runs: RunSummary[]): string {
  const rows = [
    ['run', 'teacher', 'dataset', 'status', 'iterations', 'best val', 'test'],
    ...runs.map((r) => [
      r.name,
      r.teacher ?? '-',
      r.dataset ?? '-',
      r.status,
      `${r.iterations}/${r.plannedIterations ?? '?'}`,
      r.bestValidation === null ? '-' : `${pct(r.bestValidation)} @${r.bestIteration}`,
      r.test ? `${pct(r.test.accuracyMean)} ± ${pct(r.test.accuracyStd)}` : '-',
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

export function registerRunsCommand(program: Command): void {
  const runs = program.command('runs').description('the run records: an index of run folders and NAS logs (the folders stay the source of truth)');
  const common = (c: Command) => c.option('--runs <dir>', 'runs folder', 'runs').option('--db <file>', 'records database (default: GTN_DB, else RUNS/gtn.db)');

  common(runs.command('list').description('runs with their status, best validation and latest test accuracy'))
    .option('--json', 'one JSON object: runs and NAS sources')
    .action((f: RunsFlags) => {
      checkRunsDir(f.runs);
      withRecords(f.db ?? dbPathForRuns(f.runs), (db) => {
        const report = syncTree(db, f.runs);
        for (const e of report.errors) console.error(`gtn: skipped ${e}`);
        const list = listRuns(db);
        if (f.json) console.log(JSON.stringify({ runs: list, nas: listNasSources(db) }));
        else console.log(list.length ? table(list) : `no runs under ${f.runs}`);
      });
    });

  common(runs.command('reindex').description('rebuild the records from the run folders, search folders and rank logs under --runs'))
    .action((f: RunsFlags) => {
      checkRunsDir(f.runs);
      const file = f.db ?? dbPathForRuns(f.runs);
      const report = withRecords(file, (db) => reindex(db, f.runs));
      for (const e of report.errors) console.error(`gtn: skipped ${e}`);
      console.log(`${file}: ${report.runs} run(s), ${report.searches} search(es), ${report.rankLogs} rank log(s) indexed`);
    });
}
