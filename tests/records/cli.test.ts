// `gtn runs list` and `gtn runs reindex` on a real run folder (the commands registered on a program here, as
// src/cli/commands/index.ts registers them).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerRunsCommand } from '../../src/cli/commands/runs.js';
import { evalTiny, trainTiny } from './fixture.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-runs-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const runs = join(work, 'runs');

before(() => {
  trainTiny(join(runs, 'a'), 2, 2);
  trainTiny(join(runs, 'group', 'b'), 4, 2);
  evalTiny(join(runs, 'a'));
});

/** Runs `gtn runs ...` in this process and returns what it printed. */
async function runs_(...args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerRunsCommand(program);
  const out: string[] = [];
  const log = console.log;
  console.log = (...xs: unknown[]) => void out.push(xs.join(' '));
  try {
    await program.parseAsync(['node', 'gtn', 'runs', ...args]);
  } finally {
    console.log = log;
  }
  return out.join('\n');
}

describe('gtn runs', () => {
  it('list: a table of the runs under --runs, in runs/gtn.db by default', async () => {
    const text = await runs_('list', '--runs', runs);
    const lines = text.split('\n');
    assert.match(lines[0], /^run\s+teacher\s+dataset\s+status\s+iterations\s+best val\s+test$/);
    assert.match(lines[1], /^a\s+gtn\s+mnist\s+finished\s+2\/2\s+\S+% @2\s+\S+% ± \S+%$/);
    assert.match(lines[2], /^group\/b\s+gtn\s+mnist\s+finished\s+4\/4/);
    assert.ok(existsSync(join(runs, 'gtn.db')));
  });

  it('list --json: runs with their test evaluation', async () => {
    const { runs: list } = JSON.parse(await runs_('list', '--runs', runs, '--json')) as { runs: { name: string; iterations: number; evaluations: number; test: { command: string } | null }[] };
    assert.deepEqual(list.map((r) => [r.name, r.iterations, r.evaluations]), [['a', 2, 1], ['group/b', 4, 0]]);
    assert.match(list[0].test!.command, /^gtn eval .* --seeds 1 --json$/);
  });

  it('reindex --db: rebuilds a database from the folders alone', async () => {
    const db = join(work, 'elsewhere.db');
    assert.match(await runs_('reindex', '--runs', runs, '--db', db), /2 run\(s\), 0 search\(es\), 0 rank log\(s\) indexed/);
    const { runs: list } = JSON.parse(await runs_('list', '--runs', runs, '--db', db, '--json')) as { runs: { evaluations: number }[] };
    assert.equal(list[0].evaluations, 1, 'the evaluation came back from a/evaluations.jsonl');
  });

  it('a --runs that is not a folder is a clear error', async () => {
    await assert.rejects(runs_('list', '--runs', join(work, 'nope')), (e: Error) => e.name === 'GtnError' && /is not a folder/.test(e.message));
  });
});
