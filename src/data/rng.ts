// A small seeded, counter-based PRNG for data sampling (split-mix style): output i is a pure function of
// (seed, i), so the same seed always yields the same stream, and fork() derives independent streams cheaply.
// Kept here, not in the tensor engine, so that src/data depends on nothing but Node.

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

  /** An independent stream keyed by (this seed, stream id); does not advance this generator. */
  fork(stream: number): Rng {
    const s = (mix32(this.k0 ^ mix32(stream >>> 0)) + mix32(this.k1 + (stream >>> 0))) >>> 0;
    return new Rng(s * 2097152 + (mix32(s ^ this.k1) & 0x1fffff));
  }
}
