// Encodes unsigned-byte IDX files (the format MNIST ships in), so that synthetic datasets can be read by the
// same tools as the real ones.
export function encodeIdx(data: Uint8Array, dims: readonly number[]): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`encodeIdx: dims [${dims.join(', ')}] need ${n} bytes, got ${data.length}`);
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(0x08, 2); // unsigned byte
  head.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  const out = new Uint8Array(head.length + data.length);
  out.set(head, 0);
  out.set(data, head.length);
  return out;
}
