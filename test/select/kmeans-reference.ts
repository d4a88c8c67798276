/**
 * A plain float64 k-means written from the definitions in src/select/kmeans.ts (seeded initial rows,
 * L2 assignment with ties to the lowest index, mean update, stop when nothing changes), and a
 * clustered fixture, for the k-means and image-based tests.
 */
import { permutation } from 'clipsift';
import { expect } from 'vitest';
import { rng } from '../cli/helpers.js';

/** Rows scattered around `centers` well separated centres (unit-ish vectors), row i around centre i mod centers. */
export function clustered(n: number, dim: number, centers: number, spread: number, seed: number) {
  const next = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const c = Array.from({ length: centers }, () => Array.from({ length: dim }, () => gauss()));
  const data = new Float32Array(n * dim);
  const label = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    label[i] = (i * 7 + (i >> 3)) % centers;
    for (let j = 0; j < dim; j++) data[i * dim + j] = c[label[i]!]![j]! + spread * gauss();
  }
  return { data, label };
}

export function dot64(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += a[ai * dim + j]! * b[bi * dim + j]!;
  return s;
}

/** Lloyd's k-means in float64, as documented in src/select/kmeans.ts. */
export function referenceKMeans(x: Float64Array, n: number, dim: number, k: number, rounds: number, seed: number) {
  const order = permutation(n, seed);
  const c = new Float64Array(k * dim);
  for (let a = 0; a < k; a++) for (let j = 0; j < dim; j++) c[a * dim + j] = x[order[a]! * dim + j]!;
  let assignment = new Int32Array(n).fill(-1);
  let ran = 0;
  for (let round = 0; round < rounds; round++) {
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      for (let a = 0; a < k; a++) {
        let d = 0;
        for (let j = 0; j < dim; j++) d += (x[i * dim + j]! - c[a * dim + j]!) ** 2;
        if (d < best) {
          best = d;
          next[i] = a;
        }
      }
    }
    ran++;
    const changed = next.some((v, i) => v !== assignment[i]);
    assignment = next;
    if (!changed) break;
    const sums = new Float64Array(k * dim);
    const sizes = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      sizes[next[i]!]! += 1;
      for (let j = 0; j < dim; j++) sums[next[i]! * dim + j]! += x[i * dim + j]!;
    }
    for (let a = 0; a < k; a++) {
      expect(sizes[a], 'the fixture has no empty cluster').toBeGreaterThan(0);
      for (let j = 0; j < dim; j++) c[a * dim + j] = sums[a * dim + j]! / sizes[a]!;
    }
  }
  return { centroids: c, assignment, iterations: ran };
}
