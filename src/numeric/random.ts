/**
 * The one seeded random source: the same numbers, bit for bit, in every JavaScript runtime.
 *
 * Only 32-bit integer operations (Math.imul, shifts, xors) and exact float64 steps are used: no
 * Math.log/cos/exp, whose last bits are implementation-defined. splitmix32 spreads a seed (and seeds
 * the others); `permutation` is the engine's negCLIPLoss shuffle; `RandomStream` (xoshiro128**) is
 * the general stream the demo pool and NormSim_2-D's sampling draw from.
 */

/** splitmix32: a u32 state stepped by a Weyl constant and mixed; any seed, 0 included, is fine. */
export function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Mixes two u32 values into one (for per-repeat and per-shard seeds). */
export function mixSeed(a: number, b: number): number {
  const next = splitmix32((Math.imul(a >>> 0, 0x9e3779b1) ^ (b >>> 0)) >>> 0);
  next();
  return next();
}

/** Seed for one shard: depends only on the run's seed and the shard's name (FNV-1a of its UTF-8), not on other shards. */
export function deriveSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return mixSeed(seed, h);
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates over 53-bit uniforms from splitmix32). */
export function permutation(n: number, seed: number): Uint32Array {
  const next = splitmix32(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const u = (next() * 2 ** 21 + (next() >>> 11)) / 2 ** 53;
    const j = Math.floor(u * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** A seeded stream: xoshiro128** over 32-bit integers, its state seeded through splitmix32. */
export class RandomStream {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const next = splitmix32(seed);
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float64 uniform in [0, 1) with 32 random bits (exact: a 32-bit integer times 2⁻³²). */
  uniform(): number {
    return this.nextUint32() * 2.3283064365386963e-10;
  }

  /** An integer uniform in [0, n), n ≤ 2³²; the tiny modulo bias is irrelevant for a demo pool. */
  below(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /**
   * An approximately standard normal value: the sum of four uniforms, centred and scaled to unit
   * variance (Irwin–Hall). Its tails are bounded, which does not matter for random directions in
   * hundreds of dimensions, and it needs no transcendental function.
   */
  normal(): number {
    const sum = this.uniform() + this.uniform() + this.uniform() + this.uniform();
    return (sum - 2) * 1.7320508075688772; // variance of the sum is 4/12 = 1/3
  }

  /** 32 lowercase hex digits, the shape of a DataComp uid. */
  hex32(): string {
    let out = '';
    for (let i = 0; i < 4; i++) out += this.nextUint32().toString(16).padStart(8, '0');
    return out;
  }

  /** Shuffles `items` in place (Fisher–Yates). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
