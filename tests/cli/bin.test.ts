// `npx gtn` runs under the V8 flags of src/nodeFlags.ts: bin/gtn.js's first line carries them, and the process it
// starts really has them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DEFAULT_NODE_FLAGS, NODE_FLAGS } from '../../src/nodeFlags.js';

const bin = new URL('../../../bin/gtn.js', import.meta.url).pathname;

test('bin/gtn.js starts node with the flags of src/nodeFlags.ts', () => {
  const first = readFileSync(bin, 'utf8').split('\n')[0];
  assert.equal(first, `#!/usr/bin/env -S node ${DEFAULT_NODE_FLAGS}`);
  // Run through the shebang (as npx does) and have the CLI's own process report its flags.
  const dir = mkdtempSync(join(tmpdir(), 'gtn-bin-'));
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, 'process.on("exit", () => console.error(JSON.stringify(process.execArgv)));\n');
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: `--require=${probe}` } });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
  const execArgv = JSON.parse(r.stderr.trim().split('\n').pop()!) as string[];
  for (const f of NODE_FLAGS) assert.ok(execArgv.includes(f), `${f} missing from ${JSON.stringify(execArgv)}`);
});

test('a bad engine environment variable is a one-line error naming it, exit code 2, no stack trace', () => {
  for (const [name, value, message] of [
    ['GTN_GC_BUDGET_MB', 'lots', /^gtn: GTN_GC_BUDGET_MB must be a number of MiB >= 0 .*got 'lots'$/],
    ['GTN_BACKEND', 'gpu', /^gtn: GTN_BACKEND must be 'js' or 'native', got 'gpu'$/],
  ] as const) {
    const r = spawnSync(bin, ['doctor'], { encoding: 'utf8', env: { ...process.env, [name]: value } });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
