// The checkpoint file format: "GTNCKPT1", a little-endian uint32 header length, a JSON header, then the
// float32 tensors back to back (8-byte aligned). Written atomically; read with checks that name the file.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';
import { GtnError } from '../errors.js';
import { Tensor, type Tree } from '../tensor/index.js';

const MAGIC = 'GTNCKPT1';

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
  const json = Buffer.from(JSON.stringify({ ...header, tensors: entries }));
  const headLen = 8 + 4 + json.length;
  const pad = (8 - (headLen % 8)) % 8;
  const head = Buffer.alloc(headLen + pad, 0x20);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length + pad, 8);
  json.copy(head, 12);
  const parts: Uint8Array[] = [head];
  for (const [, t] of tensors) parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  writeFileAtomic(file, parts);
}

export function readCheckpointFile(file: string): { header: Record<string, unknown>; tensors: Map<string, Tensor> } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new GtnError(`cannot read checkpoint ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new GtnError(`${file} is not a gtn checkpoint (bad magic)`);
  const len = buf.readUInt32LE(8);
  if (12 + len > buf.length) throw new GtnError(`checkpoint ${file} is truncated (header runs past the end)`);
  let header: Record<string, unknown> & { tensors?: Entry[] };
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + len));
  } catch {
    throw new GtnError(`checkpoint ${file} has a corrupt header`);
  }
  const dataStart = 12 + len;
  const tensors = new Map<string, Tensor>();
  for (const e of header.tensors ?? []) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const start = dataStart + e.offset;
    if (start + n * 4 > buf.length) throw new GtnError(`checkpoint ${file} is truncated (tensor ${e.name} is incomplete)`);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(buf.subarray(start, start + n * 4));
    tensors.set(e.name, new Tensor(data, e.shape));
  }
  delete header.tensors;
  return { header, tensors };
}
