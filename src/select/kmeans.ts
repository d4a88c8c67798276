/**
 * DataComp's image-based baseline: cluster the pool's image embeddings with k-means, then keep the
 * samples whose cluster is the nearest cluster of at least one target image.
 *
 * The rule is DataComp's (baselines/apply_filter.py, load_uids_with_image_filter): every target
 * embedding is assigned to the centroid with the largest inner product, the distinct centroids so hit
 * form the kept set, and a pool sample is kept when its own largest-inner-product centroid is in it.
 * The centroids come from k-means in L2 (DataComp trains faiss.Clustering, not spherical, 20
 * iterations, on the pool's l14_img rows; 100 000 clusters for its pools).
 *
 * k-means here is Lloyd's algorithm, deterministic:
 * - initial centroids: the first k rows of the seeded permutation of the rows (numeric/random.ts),
 *   where faiss takes k rows of its own seeded permutation (so the two start from different rows);
 * - each iteration assigns every row to the nearest centroid in L2 (argmax x·c − ‖c‖²/2, the dot
 *   products from the engine's f32 GEMM, ties to the lowest index), then moves each centroid to the
 *   mean of its rows (float64 sums in row order); it stops after `iterations` rounds, or earlier when no
 *   assignment changed (the next rounds would change nothing);
 * - an empty cluster takes half of the largest cluster (lowest index among equals): both centroids
 *   are the larger one's, nudged apart by ±1/1024 per coordinate, as faiss splits; faiss picks the
 *   cluster to split at random, weighted by size.
 * Every step is independent of the thread count, so the centroids are bitwise reproducible.
 */
import type { Embeddings, Engine } from '../engine/index.js';
import { float16ToFloat32 } from '../numeric/float16.js';
import { permutation } from '../numeric/random.js';

/** Relative nudge that separates the two halves of a split cluster (faiss's EPS). */
const SPLIT_EPS = 1 / 1024;

export interface KMeansOptions {
  /** k: how many clusters. */
  clusters: number;
  /** Lloyd rounds (default 20, as DataComp's faiss run). */
  iterations?: number;
  /** Seed of the initial choice of rows (default 0). */
  seed?: number;
  /** Called after each round with (round, rounds, rows whose cluster changed). */
  onIteration?: (round: number, rounds: number, changed: number) => void;
}

export interface KMeansResult {
  /** k × dim float32 centroids, row-major. */
  centroids: Float32Array;
  clusters: number;
  dim: number;
  /** Rounds run (fewer than asked when the assignment stopped changing). */
  iterations: number;
  /** Each row's cluster after the last round's update (nearest in L2 to the final centroids' predecessors). */
  assignment: Int32Array;
}

/**
 * Lloyd's k-means of `data`'s rows (see the module comment for the exact procedure).
 * @throws {RangeError} when there are fewer rows than clusters (as faiss refuses)
 */
export async function kMeans(engine: Engine, data: Embeddings, options: KMeansOptions): Promise<KMeansResult> {
  const { rows, dim } = data;
  const k = options.clusters;
  const rounds = options.iterations ?? 20;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`clipsift: clusters must be a positive integer, got ${k}`);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError(`clipsift: iterations must be a positive integer, got ${rounds}`);
  if (rows < k)
    throw new RangeError(`clipsift: ${rows} rows cannot make ${k} clusters (k-means needs rows ≥ clusters)`);
  const values = data.data instanceof Uint16Array ? float16ToFloat32(data.data) : data.data;
  const centroids = new Float32Array(k * dim);
  const order = permutation(rows, options.seed ?? 0);
  for (let c = 0; c < k; c++) centroids.set(values.subarray(order[c]! * dim, (order[c]! + 1) * dim), c * dim);

  let assignment: Int32Array = new Int32Array(rows).fill(-1);
  let ran = 0;
  for (let round = 0; round < rounds; round++) {
    const shift = halfSquaredNorms(centroids, k, dim);
    const { index } = await engine.nearestCentroids(data, { data: centroids, rows: k, dim }, { shift });
    let changed = 0;
    for (let i = 0; i < rows; i++) if (index[i] !== assignment[i]) changed++;
    assignment = index;
    ran = round + 1;
    options.onIteration?.(ran, rounds, changed);
    if (changed === 0) break;
    updateCentroids(values, assignment, centroids, k, dim);
  }
  return { centroids, clusters: k, dim, iterations: ran, assignment };
}

/** ‖c‖²/2 of every centroid, in float64. */
function halfSquaredNorms(centroids: Float32Array, k: number, dim: number): Float64Array {
  const out = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += centroids[c * dim + j]! * centroids[c * dim + j]!;
    out[c] = s / 2;
  }
  return out;
}

/** Each centroid ← the mean of its rows (float64 sums in row order); empty clusters split the largest. */
function updateCentroids(
  values: Float32Array,
  assignment: Int32Array,
  centroids: Float32Array,
  k: number,
  dim: number,
): void {
  const sums = new Float64Array(k * dim);
  const sizes = new Float64Array(k);
  for (let i = 0; i < assignment.length; i++) {
    const c = assignment[i]!;
    sizes[c]! += 1;
    const at = c * dim;
    const row = i * dim;
    for (let j = 0; j < dim; j++) sums[at + j]! += values[row + j]!;
  }
  for (let c = 0; c < k; c++) {
    if (sizes[c] === 0) continue;
    for (let j = 0; j < dim; j++) centroids[c * dim + j] = sums[c * dim + j]! / sizes[c]!;
  }
  for (let c = 0; c < k; c++) {
    if (sizes[c] !== 0) continue;
    let largest = 0;
    for (let d = 1; d < k; d++) if (sizes[d]! > sizes[largest]!) largest = d;
    for (let j = 0; j < dim; j++) {
      const v = centroids[largest * dim + j]!;
      const up = Math.fround(v * (1 + SPLIT_EPS));
      const down = Math.fround(v * (1 - SPLIT_EPS));
      centroids[c * dim + j] = j % 2 === 0 ? up : down;
      centroids[largest * dim + j] = j % 2 === 0 ? down : up;
    }
    sizes[c] = sizes[largest]! / 2;
    sizes[largest] = sizes[largest]! / 2;
  }
}

export interface ImageBasedResult {
  /** For each pool row: kept (1) or not (0). */
  keep: Uint8Array;
  /** The distinct clusters hit by the target's images. */
  targetClusters: Int32Array;
  kMeans: KMeansResult;
}

/**
 * DataComp's image-based filter: k-means over `pool`, then keep the pool rows whose largest-inner-product
 * centroid is the largest-inner-product centroid of some row of `target` (see keepNearTarget).
 */
export async function imageBasedFilter(
  engine: Engine,
  pool: Embeddings,
  target: Embeddings,
  options: KMeansOptions,
): Promise<ImageBasedResult> {
  if (target.dim !== pool.dim)
    throw new RangeError(`clipsift: target dim ${target.dim} differs from the pool's image dim ${pool.dim}`);
  const result = await kMeans(engine, pool, options);
  const centroids: Embeddings = { data: result.centroids, rows: result.clusters, dim: result.dim };
  return { ...(await keepNearTarget(engine, pool, target, centroids)), kMeans: result };
}

/**
 * DataComp's rule with given centroids (e.g. the ones DataComp ships): every target row votes for its
 * largest-inner-product centroid; a pool row is kept when its own largest-inner-product centroid got a vote.
 */
export async function keepNearTarget(
  engine: Engine,
  pool: Embeddings,
  target: Embeddings,
  centroids: Embeddings,
): Promise<{ keep: Uint8Array; targetClusters: Int32Array }> {
  if (target.dim !== pool.dim || centroids.dim !== pool.dim)
    throw new RangeError(
      `clipsift: pool dim ${pool.dim}, target dim ${target.dim} and centroid dim ${centroids.dim} must agree`,
    );
  const hit = new Uint8Array(centroids.rows);
  for (const c of (await engine.nearestCentroids(target, centroids)).index) hit[c] = 1;
  const poolNearest = (await engine.nearestCentroids(pool, centroids)).index;
  const keep = new Uint8Array(pool.rows);
  for (let i = 0; i < pool.rows; i++) keep[i] = hit[poolNearest[i]!]!;
  const targetClusters: number[] = [];
  hit.forEach((h, c) => {
    if (h) targetClusters.push(c);
  });
  return { keep, targetClusters: Int32Array.from(targetClusters) };
}
