// `gtn train --skip-norm x`: the bound lands in config.json, and every meta-step whose gradient norm is over it is
// logged as skipped (its norm kept), so a run whose norms all exceed it ends with the teacher it started from.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { bin, env, trainArgs } from '../records/fixture.js';

const work = mkdtempSync(join(tmpdir(), 'gtn-skipnorm-'));
after(() => rmSync(work, { recursive: true, force: true }));

const train = (out: string, skip: string) => spawnSync(process.execPath, [bin, ...trainArgs(out, 3, 3), '--skip-norm', skip], { encoding: 'utf8', env });

function iterations(dir: string): { skipped: boolean; gradNorm: number; innerLr: number[] }[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.kind === 'iteration');
}

it('skips every meta-step over the bound and takes those under it', () => {
  const tight = join(work, 'tight');
  const r = train(tight, '1e-12');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(tight, 'config.json'), 'utf8')).meta.skipNorm, 1e-12);
  const its = iterations(tight);
  assert.equal(its.length, 3);
  for (const e of its) {
    assert.equal(e.skipped, true);
    assert.ok(e.gradNorm > 1e-12 && Number.isFinite(e.gradNorm), 'the skipped step keeps its norm');
    assert.deepEqual(e.innerLr, its[0].innerLr, 'no step moved the schedule');
  }
  const loose = join(work, 'loose');
  assert.equal(train(loose, '1e30').status, 0);
  const took = iterations(loose);
  assert.ok(took.every((e) => !e.skipped));
  assert.notDeepEqual(took[2].innerLr, took[0].innerLr);
});

it('a negative bound is a one-line error naming the setting', () => {
  const r = train(join(work, 'bad'), '-1');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /skip-?norm/i);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
