// The checkpoint file format: "GTNCKPT2", a little-endian uint32 header length, a JSON header, then the
// float32 tensors back to back (8-byte aligned). Written atomically; read with checks that name the file.
// The header's `checksum` is the SHA-256 of the whole file as written with that field's 64 hex digits
// zeroed, so a flipped byte anywhere (header or tensors) is caught on load. "GTNCKPT1" files predate the
// checksum and still load; in a GTNCKPT2 file it is required (a damaged field name cannot skip the check).
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';
import { GtnError } from '../errors.js';
import { Tensor, type Tree } from '../tensor/index.js';

const MAGIC = 'GTNCKPT2';
const MAGIC_V1 = 'GTNCKPT1';
const CHECKSUM_KEY = '"checksum":"';
const ZERO_SUM = '0'.repeat(64);

interface Entry {
  name: string;
  shape: number[];
  offset: number;
}

/** Flattens a tree into dotted names ("generator.fc1.v") and tensors. */
export function namedLeaves(tree: Tree, prefix = ''): [string, Tensor][] {
  if (tree instanceof Tensor) return [[prefix, tree]];
  if (Array.isArray(tree)) return (tree as Tree[]).flatMap((t, i) => namedLeaves(t, prefix ? `${prefix}.${i}` : `${i}`));
  return Object.entries(tree as Record<string, Tree | undefined>).flatMap(([k, v]) => (v === undefined ? [] : namedLeaves(v, prefix ? `${prefix}.${k}` : k)));
}

/** Rebuilds a tree from dotted names (numeric keys become arrays). */
export function treeFromNamed(entries: ReadonlyMap<string, Tensor>, prefix: string): Tree {
  const keys = [...entries.keys()].filter((k) => k === prefix || k.startsWith(`${prefix}.`));
  if (keys.length === 0) throw new Error(`no tensors under '${prefix}'`);
  if (keys.includes(prefix)) return entries.get(prefix)!;
  const children = [...new Set(keys.map((k) => k.slice(prefix.length + 1).split('.')[0]))];
  if (children.every((c) => /^\d+$/.test(c))) {
    return children.map(Number).sort((a, b) => a - b).map((i) => treeFromNamed(entries, `${prefix}.${i}`));
  }
  return Object.fromEntries(children.map((c) => [c, treeFromNamed(entries, `${prefix}.${c}`)]));
}

export function writeCheckpointFile(file: string, header: Record<string, unknown>, tensors: readonly [string, Tensor][]): void {
  const entries: Entry[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32') throw new Error(`checkpoint: tensor ${name} is ${t.dtype}; only float32 is stored`);
    entries.push({ name, shape: [...t.shape], offset });
    offset += t.size * 4;
  }
  const { checksum: _old, ...rest } = header;
  const json = Buffer.from(JSON.stringify({ checksum: ZERO_SUM, ...rest, tensors: entries }));
  const headLen = 8 + 4 + json.length;
  const pad = (8 - (headLen % 8)) % 8;
  const head = Buffer.alloc(headLen + pad, 0x20);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length + pad, 8);
  json.copy(head, 12);
  const parts: Uint8Array[] = [head];
  for (const [, t] of tensors) parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  head.write(sha256(parts), checksumAt(head, 12 + json.length), 'latin1');
  writeFileAtomic(file, parts);
}

function sha256(parts: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Byte offset of the checksum's hex digits in a header buffer (-1 when absent). */
function checksumAt(head: Buffer, end: number): number {
  const i = head.indexOf(CHECKSUM_KEY, 12, 'latin1');
  return i < 0 || i + CHECKSUM_KEY.length + 64 > end ? -1 : i + CHECKSUM_KEY.length;
}

/** Throws unless the file's bytes hash to the checksum its header carries. */
function verifyChecksum(file: string, buf: Buffer, headerEnd: number, expected: unknown): void {
  const at = checksumAt(buf, headerEnd);
  if (typeof expected !== 'string' || at < 0 || buf.toString('latin1', at, at + 64) !== expected) {
    throw new GtnError(`checkpoint ${file} is corrupt (its checksum field is damaged)`);
  }
  const zeroed = Buffer.from(buf.subarray(0, headerEnd));
  zeroed.write(ZERO_SUM, at, 'latin1');
  if (sha256([zeroed, buf.subarray(headerEnd)]) !== expected) {
    throw new GtnError(`checkpoint ${file} is corrupt (checksum mismatch: the file changed after it was written)`);
  }
}

/** The magic, header and where the tensor data start; `buf` may hold only the file's beginning. */
function parseHead(file: string, buf: Buffer, fileSize: number): { magic: string; header: Record<string, unknown> & { tensors?: Entry[] }; dataStart: number } {
  const magic = buf.length >= 12 ? buf.toString('latin1', 0, 8) : '';
  if (magic !== MAGIC && magic !== MAGIC_V1) throw new GtnError(`${file} is not a gtn checkpoint (bad magic)`);
  const len = buf.readUInt32LE(8);
  if (12 + len > fileSize) throw new GtnError(`checkpoint ${file} is truncated (header runs past the end)`);
  try {
    return { magic, header: JSON.parse(buf.toString('utf8', 12, 12 + len)), dataStart: 12 + len };
  } catch {
    throw new GtnError(`checkpoint ${file} has a corrupt header`);
  }
}

function checkExtents(file: string, entries: readonly Entry[], dataStart: number, fileSize: number): void {
  for (const e of entries) {
    if (dataStart + e.offset + e.shape.reduce((a, b) => a * b, 1) * 4 > fileSize) throw new GtnError(`checkpoint ${file} is truncated (tensor ${e.name} is incomplete)`);
  }
}

export function readCheckpointFile(file: string): { header: Record<string, unknown>; tensors: Map<string, Tensor> } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new GtnError(`cannot read checkpoint ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const { magic, header, dataStart } = parseHead(file, buf, buf.length);
  const entries = header.tensors ?? [];
  checkExtents(file, entries, dataStart, buf.length);
  if (magic === MAGIC || 'checksum' in header) verifyChecksum(file, buf, dataStart, header.checksum);
  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    const start = dataStart + e.offset;
    const data = new Float32Array(e.shape.reduce((a, b) => a * b, 1));
    new Uint8Array(data.buffer).set(buf.subarray(start, start + data.length * 4));
    tensors.set(e.name, new Tensor(data, e.shape));
  }
  delete header.tensors;
  delete header.checksum;
  return { header, tensors };
}

/**
 * The header and the named tensors only, read without loading (or verifying) the rest of the file: for
 * viewers that show a few small tensors of a large checkpoint. Training and evaluation use readCheckpointFile.
 */
export function peekCheckpointFile(file: string, names: readonly string[]): { header: Record<string, unknown>; tensors: Map<string, Tensor> } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new GtnError(`cannot read checkpoint ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    const readAt = (pos: number, n: number) => {
      const b = Buffer.alloc(n);
      let got = 0;
      while (got < n) {
        const k = readSync(fd, b, got, n - got, pos + got);
        if (k === 0) break;
        got += k;
      }
      return b.subarray(0, got);
    };
    const size = fstatSync(fd).size;
    const first = readAt(0, 12);
    const len = first.length === 12 ? first.readUInt32LE(8) : 0;
    const { header, dataStart } = parseHead(file, readAt(0, Math.min(size, 12 + len)), size);
    const entries = (header.tensors ?? []).filter((e) => names.includes(e.name));
    checkExtents(file, entries, dataStart, size);
    const tensors = new Map<string, Tensor>();
    for (const e of entries) {
      const data = new Float32Array(e.shape.reduce((a, b) => a * b, 1));
      new Uint8Array(data.buffer).set(readAt(dataStart + e.offset, data.length * 4));
      tensors.set(e.name, new Tensor(data, e.shape));
    }
    delete header.tensors;
    delete header.checksum;
    return { header, tensors };
  } finally {
    closeSync(fd);
  }
}
