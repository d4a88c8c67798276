/**
 * NormSim_2-D: NormSim_2 selection for when no target data exist, the selection being its own target.
 *
 * Start from a set S of candidate images (the rows kept by earlier steps). Score every x in S by
 * NormSim_2(x)² = xᵀ G x with G = Σ_{s∈S} s sᵀ, drop the lowest-scoring chunk, and repeat over T
 * iterations until |S| is the final size. Rows that sit in crowded, well-represented directions of
 * the selection keep high scores; outliers (off-distribution images, rare junk) go first.
 *
 * Exact mode (the default) never rebuilds G. Removing rows R changes it to G' = G − Σ_{r∈R} r rᵀ, so
 *   score_i² ← score_i² − Σ_{r∈R} (x_i · r)²,
 * which is NormSim_2(x_i)² against a p = 2 target made of R alone. The engine computes that as a
 * direct product when |R| < dim (O(n·|R|·d) per round, O(n·(n₀ − n_final)·d) in all, instead of
 * O(T·n·d²) for rebuilding G), and through the Gram matrix of R otherwise, so a round never costs
 * more than O(n·d²). Squared scores are kept in float64 so the subtractions do not drift.
 * Every round rescores all n input rows, removed ones included: cheaper than gathering the
 * survivors into a new matrix each round, and at most n₀/n_final times the work.
 *
 * Sample mode mimics the reference implementation: each iteration re-estimates G from a random
 * `sampleFraction` of the current selection (seeded) and rescores everything against it.
 *
 * Chunk sizes (`schedule`): by default ('even') the R₀ = n₀ − n_final removals are spread evenly,
 * iteration t removing ⌊(t+1)·R₀/T⌋ − ⌊t·R₀/T⌋ rows, so the sizes sum to R₀ exactly and differ by at
 * most one (when R₀ < T some iterations remove nothing and are skipped). 'official' is the schedule of
 * the official code (vas_d / vas_d_v2): every round but the last removes c = ⌈R₀/T⌉ rows and the last
 * cuts to n_final, so the last round removes R₀ − (T−1)·c, which may be far fewer than c. Where
 * (T−1)·c would pass n_final (the official code would then fail in torch.topk) the rounds stop at
 * n_final. The two schedules rank against different intermediate selections, so they keep
 * slightly different rows (1–2 % of the uids at the paper's scale).
 * Ties in a ranking remove the row that `compareRows` orders last (the larger uid), as `top` steps do.
 */
import { RandomStream } from '../numeric/random.js';
import { keepTop } from './steps.js';

/** Row-major embeddings, float32 or float16 bits: the engine's `Embeddings`. */
export interface EmbeddingMatrix {
  data: Float32Array | Uint16Array;
  rows: number;
  dim: number;
}

/** The two engine operations NormSim_2-D needs (the real Engine satisfies this). */
export interface NormSimEngine<Target> {
  prepareTarget(target: EmbeddingMatrix, options: { p: number }): Promise<Target>;
  normSim(candidates: EmbeddingMatrix, target: Target): Promise<Float32Array>;
}

export interface NormSim2DOptions {
  /** Rows left at the end; at most the number of rows given. */
  finalSize: number;
  /** T, the number of removal rounds (default 500, as in the reference's medium-scale runs). */
  iterations?: number;
  /** How many rows each round removes: 'even' (default) or 'official' (see the module comment). */
  schedule?: 'even' | 'official';
  /** When set, re-estimate the target from this fraction (0, 1] of the selection each iteration. */
  sampleFraction?: number;
  /** Seed of the sample mode's draws (default 0). */
  seed?: number;
  /** Orders rows by uid; among equal scores the row ordered first is kept. Default: row index. */
  compareRows?(a: number, b: number): number;
  /** Called after each iteration that removed rows, e.g. for progress. */
  onIteration?(iteration: number, iterations: number, remaining: number): void;
}

export interface NormSim2DResult {
  /** Indices of the kept rows of the input matrix, ascending. */
  rows: Uint32Array;
  /** Iterations that removed at least one row. */
  iterations: number;
  /** NormSim_2 of the lowest kept row in the last ranking (null when nothing was ranked or kept). */
  threshold: number | null;
}

/** How many rows each of `iterations` rounds removes so that `total` are removed in all. */
export function removalSchedule(total: number, iterations: number): number[] {
  const sizes: number[] = [];
  for (let t = 0; t < iterations; t++)
    sizes.push(Math.floor(((t + 1) * total) / iterations) - Math.floor((t * total) / iterations));
  return sizes;
}

/**
 * The official code's schedule: ⌈total/T⌉ per round, the last round taking what is left; rounds stop
 * early (size 0) once `total` is reached.
 */
export function officialRemovalSchedule(total: number, iterations: number): number[] {
  const chunk = Math.ceil(total / iterations);
  const sizes: number[] = [];
  let left = total;
  for (let t = 0; t < iterations; t++) {
    const size = t === iterations - 1 ? left : Math.min(chunk, left);
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/** Runs NormSim_2-D over all rows of `images` and returns the rows it keeps. */
export async function normSim2D<Target>(
  engine: NormSimEngine<Target>,
  images: EmbeddingMatrix,
  options: NormSim2DOptions,
): Promise<NormSim2DResult> {
  const n = images.rows;
  const iterations = options.iterations ?? 500;
  const { finalSize, sampleFraction } = options;
  if (!Number.isInteger(finalSize) || finalSize < 0 || finalSize > n) {
    throw new Error(`NormSim_2-D: final size must be an integer in [0, ${n}], got ${finalSize}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new Error(`NormSim_2-D: iterations must be a positive integer, got ${iterations}`);
  if (sampleFraction !== undefined && !(sampleFraction > 0 && sampleFraction <= 1)) {
    throw new Error(`NormSim_2-D: sample fraction must be in (0, 1], got ${sampleFraction}`);
  }
  const compareRows = options.compareRows ?? ((a: number, b: number) => a - b);
  let current: Uint32Array = new Uint32Array(n);
  for (let i = 0; i < n; i++) current[i] = i;
  if (finalSize === n) return { rows: current, iterations: 0, threshold: null };

  const random = new RandomStream(options.seed ?? 0);
  // Exact mode: squared scores against the current selection, maintained by subtraction.
  const squared = new Float64Array(n);
  if (sampleFraction === undefined) {
    const scores = await engine.normSim(images, await engine.prepareTarget(images, { p: 2 }));
    for (let i = 0; i < n; i++) squared[i] = scores[i]! * scores[i]!;
  }

  let done = 0;
  let threshold: number | null = null;
  const schedule =
    options.schedule === 'official'
      ? officialRemovalSchedule(n - finalSize, iterations)
      : removalSchedule(n - finalSize, iterations);
  for (const [t, size] of schedule.entries()) {
    if (size === 0) continue;
    if (sampleFraction !== undefined) {
      const sample = sampleRows(random, current, Math.max(1, Math.ceil(sampleFraction * current.length)));
      const scores = await engine.normSim(images, await engine.prepareTarget(gatherRows(images, sample), { p: 2 }));
      for (const row of current) squared[row] = scores[row]! * scores[row]!;
    }
    const kept = keepTop(current, squared, current.length - size, compareRows);
    threshold = kept.threshold === null ? null : Math.sqrt(Math.max(0, kept.threshold));
    const removed = rowsNotIn(current, kept.rows);
    current = kept.rows;
    if (sampleFraction === undefined && current.length > 0) {
      // Subtract the removed rows' share of G from every remaining score.
      const share = await engine.normSim(images, await engine.prepareTarget(gatherRows(images, removed), { p: 2 }));
      for (const row of current) squared[row]! -= share[row]! * share[row]!;
    }
    done++;
    options.onIteration?.(t + 1, iterations, current.length);
  }
  return { rows: current, iterations: done, threshold };
}

/** The rows `rows` of `matrix`, as a new matrix. */
export function gatherRows(matrix: EmbeddingMatrix, rows: Uint32Array): EmbeddingMatrix {
  const { dim } = matrix;
  const data =
    matrix.data instanceof Uint16Array ? new Uint16Array(rows.length * dim) : new Float32Array(rows.length * dim);
  rows.forEach((row, k) => {
    data.set(matrix.data.subarray(row * dim, (row + 1) * dim), k * dim);
  });
  return { data, rows: rows.length, dim };
}

/** `count` distinct elements of `rows`, drawn uniformly (partial Fisher–Yates on a copy). */
function sampleRows(random: RandomStream, rows: Uint32Array, count: number): Uint32Array {
  const pool = rows.slice();
  for (let i = 0; i < count; i++) {
    const j = i + random.below(pool.length - i);
    const tmp = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = tmp;
  }
  return pool.slice(0, count).sort();
}

/** Elements of ascending `all` missing from its ascending subset `subset`. */
function rowsNotIn(all: Uint32Array, subset: Uint32Array): Uint32Array {
  const out = new Uint32Array(all.length - subset.length);
  let j = 0;
  let n = 0;
  for (const row of all) {
    if (j < subset.length && subset[j] === row) j++;
    else out[n++] = row;
  }
  return out;
}
