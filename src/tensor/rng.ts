// Counter-based random numbers: value i of a stream is a pure function of (key, i), so results do not depend
// on how draws are split between calls, and any stream can be forked into independent children by name or
// index without sharing state. The mixer is a three-round 32-bit hash (murmur3's finaliser), plenty for
// initialisation, noise and sampling; this is not a cryptographic generator.

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

export class Rng {
  private counter = 0;
  private constructor(
    private readonly k0: number,
    private readonly k1: number,
  ) {}

  /** A stream from an integer seed (any safe integer) or a string. */
  static seeded(seed: number | string): Rng {
    if (typeof seed === 'string') return new Rng(hashString(seed), fmix32(hashString(seed) ^ 0x9e3779b9));
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    return new Rng(fmix32(lo ^ 0x3c6ef372), fmix32(hi ^ fmix32(lo + 0x9e3779b9)));
  }

  /** An independent child stream, named by a string or an index; does not advance this stream. */
  fork(name: string | number): Rng {
    const h = typeof name === 'number' ? fmix32(name ^ 0x7f4a7c15) : hashString(name);
    return new Rng(fmix32(this.k0 ^ h), fmix32(this.k1 + fmix32(h ^ 0x94d049bb)));
  }

  /** Next raw 32-bit unsigned integer. */
  nextU32(): number {
    const c = this.counter++;
    return (fmix32(fmix32(c ^ this.k0) + this.k1) ^ fmix32(c + this.k1)) >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution (never exactly 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fills a Float32Array with U[lo, hi). */
  uniform(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.next();
    return out;
  }

  /** Fills a Float32Array with N(mean, std^2) (Box-Muller, both outputs used). */
  normal(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = (this.nextU32() + 1) / 4294967297; // in (0, 1): log is finite
      const u2 = this.next();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
