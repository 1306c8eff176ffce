// A profiling wrapper around any backend: time and call count per kernel (and per unary/binary op). Turned on
// with GTN_PROFILE=1; GTN_PROFILE=shapes also splits convolutions, matmuls, pooling and elementwise ops by shape.
// `profileReport()` prints the table (the bench does at exit).
import type { Backend } from './backend.js';

const SHAPED = new Set(['conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'matmul', 'maxPool2d', 'maxPool2dBackward', 'avgPool2d', 'avgPool2dBackward', 'batchNorm', 'batchNormBackward']);

/** The shape arguments of a kernel call, for GTN_PROFILE=shapes: `[N,C,H,W] [O,C,kh,kw]`, or `bxmxkxn` for matmul. */
function shapeKey(name: string, args: unknown[]): string {
  if (name === 'matmul') return `${args[2]}x${args[3]}x${args[4]}x${args[5]}${args[6] ? ' tA' : ''}${args[7] ? ' tB' : ''}`;
  return args
    .filter((a): a is number[] => Array.isArray(a) && a.every((v) => typeof v === 'number'))
    .map((a) => `[${a.join(',')}]`)
    .join(' ');
}

/** Bytes of the arrays a kernel returned (one array, or a tuple of them): what it gave the GC to track. */
function outputBytes(r: unknown): number {
  if (ArrayBuffer.isView(r)) return r.byteLength;
  if (Array.isArray(r)) return r.reduce((s: number, v) => s + outputBytes(v), 0);
  if (r && typeof r === 'object') return Object.values(r).reduce((s: number, v) => s + outputBytes(v), 0);
  return 0;
}

/** The output shape of a binary call, or the length of a unary call's input, for GTN_PROFILE=shapes. */
function elementwiseSize(name: string, args: unknown[]): string {
  if (name === 'binary') return `[${(args[5] as number[]).join(',')}]`;
  return `${(args[1] as Float32Array).length}`;
}

const stats = new Map<string, { calls: number; ms: number; bytes: number }>();

export function profiled(inner: Backend): Backend {
  const bySize = process.env.GTN_PROFILE === 'shapes';
  const wrap = <K extends keyof Backend>(name: K) => {
    const fn = inner[name] as unknown as (...a: unknown[]) => unknown;
    return (...args: unknown[]) => {
      const key =
        name === 'unary' || name === 'binary'
          ? `${name}:${String(args[0])}${bySize ? ' ' + elementwiseSize(name, args) : ''}`
          : bySize && SHAPED.has(name)
            ? `${name} ${shapeKey(name, args)}`
            : name;
      const t0 = performance.now();
      const r = fn.apply(inner, args);
      const s = stats.get(key) ?? { calls: 0, ms: 0, bytes: 0 };
      s.calls++;
      s.ms += performance.now() - t0;
      s.bytes += outputBytes(r);
      stats.set(key, s);
      return r;
    };
  };
  const out: Record<string, unknown> = { name: `${inner.name}+profile` };
  for (const k of Object.keys(inner) as (keyof Backend)[]) if (typeof inner[k] === 'function') out[k] = wrap(k);
  return out as unknown as Backend;
}

export function profileReport(): string {
  const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, v]) => s + v.ms, 0);
  return [
    `kernel time ${(total / 1000).toFixed(2)} s, output ${(rows.reduce((s, [, v]) => s + v.bytes, 0) / 1e9).toFixed(2)} GB`,
    ...rows
      .slice(0, process.env.GTN_PROFILE === 'shapes' ? 120 : 40)
      .map(([k, v]) => `${k.padEnd(28)} ${v.calls.toString().padStart(8)} calls ${(v.ms / 1000).toFixed(3).padStart(9)} s ${((100 * v.ms) / total).toFixed(1).padStart(5)}% ${(v.bytes / 1e6).toFixed(0).padStart(7)} MB out`),
  ].join('\n');
}

export function resetProfile(): void {
  stats.clear();
}
