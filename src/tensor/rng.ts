// The one seeded random number generator of gtn (initialisation, noise, data sampling, augmentation).
// Counter-based: output i of a stream is a pure function of (key, i), so the same seed always yields the same
// stream, and fork() derives independent child streams by name or index without advancing the parent.
// Not a cryptographic generator.

const TWO32 = 4294967296;

// A bijective 32-bit mixer (Wellons' "lowbias32"): good avalanche for consecutive counters.
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x21f0aaad);
  x ^= x >>> 15;
  x = Math.imul(x, 0x735a2d97);
  x ^= x >>> 15;
  return x >>> 0;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

export class Rng {
  private readonly k0: number;
  private readonly k1: number;
  private counter = 0;

  /** seed: any safe integer (negative and > 2^32 allowed). */
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO32) >>> 0;
    this.k0 = mix32(lo ^ 0x9e3779b9);
    this.k1 = mix32((hi + this.k0) ^ 0x85ebca6b);
  }

  /** A stream from an integer seed or a string. */
  static seeded(seed: number | string): Rng {
    return new Rng(typeof seed === 'string' ? hashString(seed) : seed);
  }

  /** The next uniform 32-bit unsigned integer. */
  u32(): number {
    const c = this.counter++;
    const lo = c >>> 0;
    const hi = Math.floor(c / TWO32);
    // imul by an odd constant and adding a key are bijections, so each 2^32 block of counters never repeats.
    const z = mix32((Math.imul(lo, 0x9e3779b9) + this.k0) | 0);
    return mix32(z ^ Math.imul(hi, 0x85ebca6b) ^ this.k1);
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.u32() / TWO32;
  }

  /** Uniform integer in [0, n), exactly unbiased (rejection of the short last block). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO32) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO32 - (TWO32 % n);
    for (;;) {
      const r = this.u32();
      if (r < limit) return r % n;
    }
  }

  /** Fills a Float32Array with U[lo, hi). */
  uniform(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.float();
    return out;
  }

  /** Fills a Float32Array with N(mean, std^2) (Box-Muller, both outputs used). */
  normal(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = (this.u32() + 1) / (TWO32 + 1); // in (0, 1): the log is finite
      const u2 = this.float();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** An independent stream keyed by (this stream's key, name or index); does not advance this generator. */
  fork(name: string | number): Rng {
    const id = typeof name === 'string' ? hashString(name) : name >>> 0;
    const s = (mix32(this.k0 ^ mix32(id)) + mix32(this.k1 + id)) >>> 0;
    return new Rng(s * 2097152 + (mix32(s ^ this.k1) & 0x1fffff));
  }
}
