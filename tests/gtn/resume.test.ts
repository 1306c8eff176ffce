// A training run killed with SIGKILL mid-run resumes from its last checkpoint and ends with exactly the
// metrics of a run that was never interrupted (timings aside).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../../../', import.meta.url).pathname; // dist/tests/gtn -> repo root
const bin = join(root, 'bin', 'gtn.js');
const work = mkdtempSync(join(tmpdir(), 'gtn-resume-'));
const env = { ...process.env, GTN_CACHE_DIR: join(work, 'cache') };
after(() => rmSync(work, { recursive: true, force: true }));

const trainArgs = (out: string) => [bin, 'train', '--preset', 'tiny', '--iterations', '6', '--eval-every', '2', '--out', out, '--quiet'];

function metrics(dir: string): object[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { seconds: _s, ...rest } = JSON.parse(l) as { seconds?: number };
      return rest;
    });
}

function iterationsLogged(dir: string): number {
  const f = join(dir, 'metrics.jsonl');
  if (!existsSync(f)) return 0;
  return readFileSync(f, 'utf8').split('\n').filter((l) => l.includes('"kind":"iteration"')).length;
}

describe('gtn train --resume', () => {
  it('continues a SIGKILLed run to the same metrics as an uninterrupted run', async () => {
    const full = join(work, 'full');
    const r = spawnSync(process.execPath, trainArgs(full), { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);

    const killed = join(work, 'killed');
    const child = spawn(process.execPath, trainArgs(killed), { env, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (iterationsLogged(killed) >= 3) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    assert.ok(iterationsLogged(killed) < 6, 'the run was killed before the end');

    const resumed = spawnSync(process.execPath, [bin, 'train', '--resume', killed, '--quiet'], { env, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(metrics(killed), metrics(full));
    assert.deepEqual(readFileSync(join(killed, 'checkpoints', 'last.gtnckpt')), readFileSync(join(full, 'checkpoints', 'last.gtnckpt')));
  });

  it('takes a new total of iterations on resume and refuses settings that config.json decides', () => {
    const full = join(work, 'full'); // the finished 6-iteration run of the first test
    const before = metrics(full);
    const config = readFileSync(join(full, 'config.json'), 'utf8');
    const changed = spawnSync(process.execPath, [bin, 'train', '--resume', full, '--meta-lr', '0.5', '--seed', '3', '--quiet'], { env, encoding: 'utf8' });
    assert.notEqual(changed.status, 0);
    assert.match(changed.stderr, /--resume .*full continues that run with the settings of its config\.json; --seed, --meta-lr cannot change them/);
    assert.match(changed.stderr, /--init-from .*full --out/);
    assert.doesNotMatch(changed.stderr, /at .*\.js:\d+/, 'no stack trace');
    const fewer = spawnSync(process.execPath, [bin, 'train', '--resume', full, '--iterations', '4', '--quiet'], { env, encoding: 'utf8' });
    assert.notEqual(fewer.status, 0);
    assert.match(fewer.stderr, /--iterations 4: .*full has run 6 iterations already/);
    assert.equal(readFileSync(join(full, 'config.json'), 'utf8'), config, 'refused resumes leave config.json as it was');

    const longer = spawnSync(process.execPath, [bin, 'train', '--resume', full, '--iterations', '8', '--quiet'], { env, encoding: 'utf8' });
    assert.equal(longer.status, 0, longer.stderr);
    assert.equal(JSON.parse(longer.stdout).iterations, 8);
    assert.equal((JSON.parse(readFileSync(join(full, 'config.json'), 'utf8')) as { meta: { iterations: number } }).meta.iterations, 8);
    const after8 = metrics(full);
    assert.deepEqual(after8.slice(0, before.length), before, 'the iterations already run stay as they were');
    assert.equal(iterationsLogged(full), 8);
    assert.ok(after8.some((m) => (m as { kind: string; iteration: number }).kind === 'validation' && (m as { iteration: number }).iteration === 8), 'the new last iteration is validated');
  });

  it('refuses to overwrite a run and explains bad options', () => {
    const full = join(work, 'full');
    const again = spawnSync(process.execPath, trainArgs(full), { env, encoding: 'utf8' });
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /already holds a run; use --resume/);
    const bad = spawnSync(process.execPath, [bin, 'train', '--preset', 'nope', '--out', join(work, 'x')], { env, encoding: 'utf8' });
    assert.match(bad.stderr, /--preset must be one of paper, cpu, compare, tiny; got 'nope'/);
    const badNum = spawnSync(process.execPath, [bin, 'train', '--steps', 'many'], { env, encoding: 'utf8' });
    assert.match(badNum.stderr, /--steps expects a non-negative integer, got 'many'/);
    const missing = spawnSync(process.execPath, [bin, 'eval', join(work, 'nothing-here')], { env, encoding: 'utf8' });
    assert.match(missing.stderr, /is not a run folder \(no config\.json\)/);
    assert.doesNotMatch(missing.stderr, /at .*\.js:\d+/, 'no stack trace');
  });
});
