/**
 * The engine's nearest-centroid search, k-means and DataComp's image-based filter against a plain
 * float64 reference written here from the definitions (Lloyd's algorithm with the documented seeding,
 * L2 assignment, mean update; DataComp's largest-inner-product rule for the filter).
 */
import { createEngine, type Embeddings, type Engine } from 'clipsift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageBasedFilter, kMeans } from '../../src/select/kmeans.js';
import { float16ToFloat32, toFloat16Bits } from '../../src/numeric/float16.js';
import { rng } from '../cli/helpers.js';
import { clustered, dot64, referenceKMeans } from './kmeans-reference.js';

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ threads: 2, simd: 'baseline' });
});
afterAll(async () => {
  await engine.close();
});

describe('engine.nearestCentroids', () => {
  it('finds argmax x·c − shift[c] as float64 does, bitwise the same at 1 and 3 threads, float16 rows too', async () => {
    // More rows than a block (512) and centroids than a tile (512): several tasks and tiles.
    const n = 1100;
    const k = 700;
    const dim = 40;
    const next = rng(3);
    const rows = Float32Array.from({ length: n * dim }, () => next() * 2 - 1);
    const cents = Float32Array.from({ length: k * dim }, () => next() * 2 - 1);
    const shift = Float64Array.from({ length: k }, () => next());
    const one = await createEngine({ threads: 1, simd: 'baseline' });
    const three = await createEngine({ threads: 3, simd: 'baseline' });
    try {
      for (const data of [rows, Uint16Array.from(rows, toFloat16Bits)]) {
        const e: Embeddings = { data, rows: n, dim };
        const c: Embeddings = { data: cents, rows: k, dim };
        const a = await one.nearestCentroids(e, c, { shift });
        const b = await three.nearestCentroids(e, c, { shift });
        expect(Buffer.from(a.index.buffer).equals(Buffer.from(b.index.buffer))).toBe(true);
        expect(Buffer.from(a.score.buffer).equals(Buffer.from(b.score.buffer))).toBe(true);
        const x = data instanceof Uint16Array ? float16ToFloat32(data) : data;
        let ties = 0;
        for (let i = 0; i < n; i++) {
          const s = Array.from({ length: k }, (_, j) => dot64(x, i, cents, j, dim) - shift[j]!);
          const best = s.indexOf(Math.max(...s));
          expect(Math.abs(a.score[i]! - s[best]!)).toBeLessThan(1e-5);
          if (a.index[i] !== best) {
            // Only a near-tie may go the other way in float32.
            expect(s[best]! - s[a.index[i]!]!).toBeLessThan(1e-5);
            ties++;
          }
        }
        expect(ties).toBeLessThan(3);
      }
    } finally {
      await one.close();
      await three.close();
    }
  });

  it('takes float16 centroids (a given centroid file) and fewer centroids than a tile, as float64 does', async () => {
    const n = 600;
    const k = 300;
    const dim = 24;
    const next = rng(17);
    const rows = Float32Array.from({ length: n * dim }, () => next() * 2 - 1);
    const half = Uint16Array.from({ length: k * dim }, () => toFloat16Bits(next() * 2 - 1));
    const cents = float16ToFloat32(half);
    const got = await engine.nearestCentroids({ data: rows, rows: n, dim }, { data: half, rows: k, dim });
    let ties = 0;
    for (let i = 0; i < n; i++) {
      const s = Array.from({ length: k }, (_, j) => dot64(rows, i, cents, j, dim));
      const best = s.indexOf(Math.max(...s));
      expect(Math.abs(got.score[i]! - s[best]!)).toBeLessThan(1e-5);
      if (got.index[i] !== best) {
        expect(s[best]! - s[got.index[i]!]!).toBeLessThan(1e-5);
        ties++;
      }
    }
    expect(ties).toBeLessThan(3);
  });

  it('refuses a shift of the wrong length and mismatched dims', async () => {
    const e: Embeddings = { data: new Float32Array(8), rows: 2, dim: 4 };
    expect(() => engine.nearestCentroids(e, e, { shift: new Float64Array(3) })).toThrow(/shift/);
    expect(() => engine.nearestCentroids(e, { data: new Float32Array(6), rows: 2, dim: 3 })).toThrow(/dim/);
  });
});

describe('kMeans', () => {
  it('matches the float64 reference (same rounds, same assignment, centroids to 1e-5)', async () => {
    const n = 900;
    const dim = 24;
    const k = 12;
    const { data } = clustered(n, dim, 9, 0.6, 11);
    const ref = referenceKMeans(Float64Array.from(data), n, dim, k, 20, 5);
    const got = await kMeans(engine, { data, rows: n, dim }, { clusters: k, iterations: 20, seed: 5 });
    expect(got.iterations).toBe(ref.iterations);
    expect([...got.assignment]).toEqual([...ref.assignment]);
    let worst = 0;
    for (let i = 0; i < k * dim; i++) worst = Math.max(worst, Math.abs(got.centroids[i]! - ref.centroids[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it('gives bitwise the same centroids at 1, 2 and 4 threads (several blocks and tiles)', async () => {
    const n = 1300;
    const dim = 16;
    const { data } = clustered(n, dim, 40, 1.5, 4);
    const results: Float32Array[] = [];
    for (const threads of [1, 2, 4]) {
      const e = await createEngine({ threads, simd: 'baseline' });
      try {
        results.push((await kMeans(e, { data, rows: n, dim }, { clusters: 600, iterations: 4, seed: 1 })).centroids);
      } finally {
        await e.close();
      }
    }
    for (const r of results.slice(1)) expect(Buffer.from(r.buffer).equals(Buffer.from(results[0]!.buffer))).toBe(true);
  });

  it('refuses fewer rows than clusters', async () => {
    await expect(kMeans(engine, { data: new Float32Array(12), rows: 3, dim: 4 }, { clusters: 4 })).rejects.toThrow(
      /3 rows cannot make 4 clusters/,
    );
  });
});

describe('imageBasedFilter (DataComp image_based)', () => {
  it('keeps the pool rows whose nearest centroid by inner product is the nearest of some target image', async () => {
    const n = 800;
    const dim = 20;
    const k = 10;
    const { data } = clustered(n, dim, 8, 0.5, 21);
    const pool: Embeddings = { data, rows: n, dim };
    // Target images: a few pool rows of two clusters, perturbed.
    const next = rng(9);
    const picks = [0, 8, 16, 1, 9];
    const target = new Float32Array(picks.length * dim);
    picks.forEach((row, t) => {
      for (let j = 0; j < dim; j++) target[t * dim + j] = data[row * dim + j]! + 0.05 * (next() - 0.5);
    });
    const got = await imageBasedFilter(
      engine,
      pool,
      { data: target, rows: picks.length, dim },
      {
        clusters: k,
        seed: 2,
      },
    );

    const ref = referenceKMeans(Float64Array.from(data), n, dim, k, 20, 2);
    const argmaxDot = (x: ArrayLike<number>, i: number) => {
      let best = -Infinity;
      let at = -1;
      for (let a = 0; a < k; a++) {
        const v = dot64(x, i, ref.centroids, a, dim);
        if (v > best) {
          best = v;
          at = a;
        }
      }
      return at;
    };
    const hit = new Set(picks.map((_, t) => argmaxDot(target, t)));
    const expected = Array.from({ length: n }, (_, i) => (hit.has(argmaxDot(data, i)) ? 1 : 0));
    expect([...got.targetClusters]).toEqual([...hit].sort((a, b) => a - b));
    expect([...got.keep]).toEqual(expected);
    const kept = expected.reduce((s: number, v) => s + v, 0);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(n);
  });
});
