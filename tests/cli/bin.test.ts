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
