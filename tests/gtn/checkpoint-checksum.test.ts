// Checkpoints carry a checksum of their content: one flipped byte anywhere (tensor data or header) is caught on
// load with a message naming the file — in the library and in `gtn eval`, as a user meets it — while files
// written before the checksum existed still load, and truncation and a bad header are still named as such.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { peekCheckpointFile, readCheckpointFile } from '../../src/gtn/checkpointFile.js';
import { loadRunState } from '../../src/gtn/runState.js';

const root = new URL('../../../', import.meta.url).pathname; // dist/tests/gtn -> repo root
const bin = join(root, 'bin', 'gtn.js');
const work = mkdtempSync(join(tmpdir(), 'gtn-checksum-'));
after(() => rmSync(work, { recursive: true, force: true }));
const run = join(work, 'run');
const ckpt = join(run, 'checkpoints', 'last.gtnckpt');
const gtn = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, GTN_THREADS: '1' } });

before(() => {
  const r = gtn('train', '--dataset', 'mnist', '--preset', 'tiny', '--iterations', '2', '--eval-every', '2', '--out', run, '--quiet');
  assert.equal(r.status, 0, r.stderr);
});

/** A copy of the checkpoint with byte `at` (a negative index counts from the end) changed. */
function damaged(name: string, at: number): string {
  const buf = readFileSync(ckpt);
  const i = at < 0 ? buf.length + at : at;
  buf[i] ^= 0x5a;
  const f = join(work, name);
  writeFileSync(f, buf);
  return f;
}

const namesFile = (f: string, what: RegExp) => (e: Error) => e.name === 'GtnError' && e.message.includes(f) && what.test(e.message);

/** The header's end (where the tensor data start). */
const headerEnd = () => 12 + readFileSync(ckpt).readUInt32LE(8);

describe('checkpoint checksum', () => {
  it('a checkpoint written by the trainer loads', () => {
    assert.equal(loadRunState(ckpt).iteration, 2);
    assert.equal((readCheckpointFile(ckpt).header as { checksum?: unknown }).checksum, undefined, 'the checksum is not part of the header handed out');
  });

  it('one flipped byte in the middle of the tensor data is caught, naming the file', () => {
    const f = damaged('middle.gtnckpt', Math.floor((headerEnd() + readFileSync(ckpt).length) / 2));
    assert.throws(() => loadRunState(f), namesFile(f, /corrupt.*checksum/));
  });

  it('a flipped byte in the header (still valid JSON) or in the checksum itself is caught', () => {
    const text = readFileSync(ckpt).toString('latin1', 0, headerEnd());
    const digit = text.indexOf('"iteration":2') + '"iteration":'.length;
    const f = join(work, 'header.gtnckpt');
    const buf = readFileSync(ckpt);
    buf[digit] = '3'.charCodeAt(0);
    writeFileSync(f, buf);
    assert.throws(() => loadRunState(f), namesFile(f, /corrupt/));
    const sum = text.indexOf('"checksum":"') + '"checksum":"'.length + 10;
    const g = damaged('sum.gtnckpt', sum);
    assert.throws(() => loadRunState(g), namesFile(g, /corrupt/));
    const key = text.indexOf('"checksum"') + 2; // "checksum" -> "ch?cksum": the field looks absent
    const h = damaged('key.gtnckpt', key);
    assert.throws(() => loadRunState(h), namesFile(h, /corrupt/));
  });

  it('gtn eval on a damaged checkpoint stops with a message naming the file (exit 2)', () => {
    const copy = join(work, 'evalrun');
    spawnSync('cp', ['-r', run, copy]);
    const f = join(copy, 'checkpoints', 'best.gtnckpt');
    const buf = readFileSync(f);
    buf[Math.floor(buf.length / 2)] ^= 0x01;
    writeFileSync(f, buf);
    const r = gtn('eval', copy, '--seeds', '1');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /corrupt/);
    assert.ok(r.stderr.includes(f), r.stderr);
  });

  it('files from before the checksum (GTNCKPT1, no checksum field) still load, to the same state', () => {
    const buf = readFileSync(ckpt);
    const end = headerEnd();
    const header = JSON.parse(buf.toString('utf8', 12, end)) as Record<string, unknown>;
    delete header.checksum;
    const json = Buffer.from(JSON.stringify(header));
    const pad = (8 - ((12 + json.length) % 8)) % 8;
    const head = Buffer.alloc(12 + json.length + pad, 0x20);
    head.write('GTNCKPT1', 0, 'latin1');
    head.writeUInt32LE(json.length + pad, 8);
    json.copy(head, 12);
    const old = join(work, 'old.gtnckpt');
    writeFileSync(old, Buffer.concat([head, buf.subarray(end)]));
    const a = loadRunState(old);
    const b = loadRunState(ckpt);
    assert.equal(a.iteration, b.iteration);
    assert.deepEqual(Array.from(a.meta.logLr.data), Array.from(b.meta.logLr.data));
    assert.deepEqual(a.adam.m.map((m) => Array.from(m)), b.adam.m.map((m) => Array.from(m)));
  });

  it('truncation and a bad header are still reported as such', () => {
    const buf = readFileSync(ckpt);
    const cut = join(work, 'cut.gtnckpt');
    writeFileSync(cut, buf.subarray(0, buf.length - 100));
    assert.throws(() => loadRunState(cut), namesFile(cut, /truncated/));
    const magic = damaged('magic.gtnckpt', 2);
    assert.throws(() => loadRunState(magic), namesFile(magic, /bad magic/));
    const brace = join(work, 'brace.gtnckpt');
    const b2 = readFileSync(ckpt);
    b2[12] = 0x20; // the header's opening brace
    writeFileSync(brace, b2);
    assert.throws(() => loadRunState(brace), namesFile(brace, /corrupt header/));
  });

  it('peek reads a tensor without loading the file', () => {
    copyFileSync(ckpt, join(work, 'peek.gtnckpt'));
    const p = peekCheckpointFile(join(work, 'peek.gtnckpt'), ['meta.momentumLogit']);
    assert.equal(p.header.iteration, 2);
    assert.deepEqual([...p.tensors.keys()], ['meta.momentumLogit']);
    assert.deepEqual(Array.from(p.tensors.get('meta.momentumLogit')!.data), Array.from(readCheckpointFile(ckpt).tensors.get('meta.momentumLogit')!.data));
  });
});
