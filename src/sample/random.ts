/**
 * A seeded random stream that gives the same numbers, bit for bit, in every JavaScript runtime.
 *
 * xoshiro128** over 32-bit integers (Math.imul, shifts, xors), seeded through splitmix32. Only integer
 * operations and float64 additions/multiplications are used: no Math.log/cos/exp, whose last bits
 * are implementation-defined and would make the sample pool differ between V8, SpiderMonkey and JSC.
 */
export class RandomStream {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let state = seed >>> 0;
    const next = (): number => {
      // splitmix32: spreads any seed, including 0, over a full non-zero state.
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
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
