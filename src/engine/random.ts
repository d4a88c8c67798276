/**
 * Seeded shuffles that give the same permutation in every runtime: 32-bit integer arithmetic
 * (Math.imul) and exact float64 steps only.
 */

/** splitmix32-style generator: a u32 state stepped by a Weyl constant and mixed. */
function generator(seed: number): () => number {
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
  const next = generator((Math.imul(a >>> 0, 0x9e3779b1) ^ (b >>> 0)) >>> 0);
  next();
  return next();
}

/** Seed for one shard: depends only on the run's seed and the shard's name, not on other shards. */
export function deriveSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return mixSeed(seed, h);
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates over 53-bit uniforms). */
export function permutation(n: number, seed: number): Uint32Array {
  const next = generator(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const u = (next() * 2 ** 21 + (next() >>> 11)) / 2 ** 53;
    const j = Math.floor(u * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
