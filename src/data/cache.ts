// Binary cache of decoded datasets: "GTNDATA1", a uint32 LE header length, a JSON header, then the raw uint8
// payload (train x, train y, test x, test y). The header records each source file's size, mtime and SHA-256;
// a changed size or mtime makes the cache stale. Writes are atomic: temp file, fsync, rename.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GtnError } from '../errors.js';
import type { RawDataset } from './sources.js';

const MAGIC = 'GTNDATA1';
// Bump when the decoded layout changes, so old caches are ignored.
const FORMAT = 1;

export interface SourceStamp {
  file: string;
  size: number;
  mtimeMs: number;
  sha256?: string;
}

interface Header {
  format: number;
  name: string;
  trainCount: number;
  testCount: number;
  lengths: [number, number, number, number];
  sources: SourceStamp[];
}

export function cacheDir(): string {
  return process.env.GTN_CACHE_DIR || join(homedir(), '.cache', 'gtn');
}

export function cachePath(name: string, dir = cacheDir()): string {
  return join(dir, `${name}.v${FORMAT}.bin`);
}

/** Size and mtime of each source file (cheap: no reading). */
export function stampSources(files: string[]): SourceStamp[] {
  return files.map((file) => {
    try {
      const st = statSync(file);
      return { file, size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      throw new GtnError(`${file}: cannot stat (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  });
}

export function hashFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Returns the cached data, or a reason why the cache cannot be used (absent, stale, corrupt). */
export function readCache(file: string, name: string, sources: SourceStamp[]): { data: RawDataset } | { miss: string } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return { miss: 'no cache file' };
  }
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) return { miss: 'bad cache magic' };
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) return { miss: 'truncated cache header' };
  let h: Header;
  try {
    h = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as Header;
  } catch {
    return { miss: 'unreadable cache header' };
  }
  if (h.format !== FORMAT || h.name !== name) return { miss: 'cache format or name differs' };
  if (h.sources.length !== sources.length) return { miss: 'source file list changed' };
  for (let i = 0; i < sources.length; i++) {
    const a = h.sources[i]!;
    const b = sources[i]!;
    if (a.file !== b.file || a.size !== b.size || a.mtimeMs !== b.mtimeMs) return { miss: `source ${b.file} changed` };
  }
  const total = h.lengths.reduce((s, n) => s + n, 0);
  if (buf.length !== 12 + hlen + total) return { miss: 'cache payload has the wrong length' };
  const parts: Uint8Array[] = [];
  let off = 12 + hlen;
  for (const n of h.lengths) {
    parts.push(new Uint8Array(buf.buffer, buf.byteOffset + off, n));
    off += n;
  }
  const [trX, trY, teX, teY] = parts as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  return { data: { train: { x: trX, y: trY, count: h.trainCount }, test: { x: teX, y: teY, count: h.testCount } } };
}

/** Writes the cache atomically; a reader never sees a half-written file. */
export function writeCache(file: string, name: string, sources: SourceStamp[], data: RawDataset): void {
  const payload = [data.train.x, data.train.y, data.test.x, data.test.y];
  const header: Header = {
    format: FORMAT,
    name,
    trainCount: data.train.count,
    testCount: data.test.count,
    lengths: payload.map((p) => p.length) as Header['lengths'],
    sources,
  };
  const hbuf = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(hbuf.length, 8);
  writeFileAtomic(file, [pre, hbuf, ...payload]);
}

