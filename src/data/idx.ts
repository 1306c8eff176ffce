// Decoder for IDX files (the MNIST / Fashion-MNIST container), plain or gzip-compressed.
// Layout: 0x00 0x00 <type> <ndim>, then ndim big-endian uint32 dims, then the payload in row-major order.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { GtnError } from '../errors.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;

/** Reads a file, naming it in a GtnError if it is missing or unreadable. */
export function readSourceFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new GtnError(`${file}: file not found`);
    throw new GtnError(`${file}: cannot read (${code ?? (err as Error).message})`);
  }
}

/** Decompresses when the bytes start with the gzip magic (1f 8b), whatever the file name says. */
export function maybeGunzip(buf: Buffer, file: string): Buffer {
  if (buf.length < 2 || buf[0] !== 0x1f || buf[1] !== 0x8b) return buf;
  try {
    return gunzipSync(buf);
  } catch (err) {
    throw new GtnError(`${file}: corrupt or truncated gzip data (${(err as Error).message})`);
  }
}

/** Decodes an unsigned-byte IDX buffer; `file` is only used in error messages. */
export function decodeIdx(buf: Uint8Array, file: string): IdxArray {
  if (buf.length < 4) throw new GtnError(`${file}: too short for an IDX header (${buf.length} bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new GtnError(`${file}: not an IDX file (magic bytes ${hex(buf[0]!)} ${hex(buf[1]!)}, expected 00 00)`);
  }
  if (buf[2] !== UBYTE) throw new GtnError(`${file}: unsupported IDX element type ${hex(buf[2]!)} (only unsigned byte, 08)`);
  const ndim = buf[3]!;
  if (ndim < 1 || ndim > 4) throw new GtnError(`${file}: IDX header claims ${ndim} dimensions (expected 1 to 4)`);
  const headerLen = 4 + 4 * ndim;
  if (buf.length < headerLen) throw new GtnError(`${file}: truncated IDX header (${buf.length} of ${headerLen} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  let size = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    size *= d;
  }
  const expected = headerLen + size;
  if (buf.length < expected) {
    throw new GtnError(`${file}: truncated IDX data (${buf.length} bytes, header [${dims.join(', ')}] needs ${expected})`);
  }
  if (buf.length > expected) {
    throw new GtnError(`${file}: ${buf.length - expected} unexpected trailing bytes after IDX data [${dims.join(', ')}]`);
  }
  // A plain Uint8Array view (not a Buffer), so every decoder hands back the same type.
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + headerLen, size) };
}

/** Reads and decodes a plain or gzipped IDX file. */
export function readIdxFile(file: string): IdxArray {
  return decodeIdx(maybeGunzip(readSourceFile(file), file), file);
}

/** Checks the decoded dims, naming the file and both shapes on mismatch. */
export function expectDims(arr: IdxArray, expected: number[], file: string): void {
  if (arr.dims.length !== expected.length || arr.dims.some((d, i) => d !== expected[i])) {
    throw new GtnError(`${file}: IDX dims [${arr.dims.join(', ')}], expected [${expected.join(', ')}]`);
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
