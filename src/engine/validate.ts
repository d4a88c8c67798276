/** Argument checks for the engine API: every problem is named, nothing is clamped silently. */
import { fromFloat16Bits } from '../numeric/float16.js';

/** Row-major embeddings: float32 values, or IEEE float16 bit patterns as numpy stores '<f2'. */
export interface Embeddings {
  data: Float32Array | Uint16Array;
  rows: number;
  dim: number;
}

/** Row norms a check computed on the way (float32 rows), or undefined (float16 rows: computed when needed). */
export type RowNorms = Float64Array | undefined;

/**
 * Throws unless `e` is a well-formed embedding matrix with finite values. Returns its row norms when
 * the check computed them on the way (float32 data: one pass finds both), for checkNorms to reuse.
 */
export function checkEmbeddings(what: string, e: Embeddings): RowNorms {
  if (!e || typeof e !== 'object') throw new TypeError(`clipsift: ${what}: expected { data, rows, dim }`);
  if (!(e.data instanceof Float32Array) && !(e.data instanceof Uint16Array)) {
    throw new TypeError(`clipsift: ${what}: data must be a Float32Array or a Uint16Array of float16 bits`);
  }
  if (!Number.isInteger(e.rows) || e.rows < 1)
    throw new RangeError(`clipsift: ${what}: rows must be a positive integer, got ${e.rows}`);
  if (!Number.isInteger(e.dim) || e.dim < 1)
    throw new RangeError(`clipsift: ${what}: dim must be a positive integer, got ${e.dim}`);
  if (e.rows * e.dim !== e.data.length) {
    throw new RangeError(
      `clipsift: ${what}: rows × dim = ${e.rows} × ${e.dim} = ${e.rows * e.dim} but data has ${e.data.length} values`,
    );
  }
  const norms = e.data instanceof Float32Array ? rowNorms(e) : undefined;
  const row = firstNonFiniteRow(e, norms);
  if (row >= 0) throw new RangeError(`clipsift: ${what}: row ${row} has a non-finite value (NaN or Infinity)`);
  return norms;
}

/**
 * Index of the first row holding NaN or ±Infinity, or -1. `norms`: float32 rows' norms when already
 * computed (rowNorms), else they are computed here; float16 rows are read by their exponent bits.
 */
export function firstNonFiniteRow(e: Embeddings, norms?: Float64Array): number {
  const { data, dim } = e;
  if (data instanceof Uint16Array) {
    // float16: exponent bits all ones is Inf or NaN.
    for (let i = 0; i < data.length; i++) if ((data[i]! & 0x7c00) === 0x7c00) return Math.floor(i / dim);
    return -1;
  }
  return (norms ?? rowNorms(e)).findIndex((n) => !Number.isFinite(n));
}

/**
 * Each row's L2 norm, summed in float64 in one pass. A row holding NaN or ±Infinity gets NaN or
 * Infinity, and only such a row does: a finite float32 squared (< 2^256) summed over any dim stays finite.
 */
export function rowNorms(e: Embeddings): Float64Array {
  const { data, rows, dim } = e;
  const norms = new Float64Array(rows);
  if (data instanceof Float32Array) {
    for (let r = 0; r < rows; r++) norms[r] = Math.sqrt(sumOfSquares(data, r * dim, (r + 1) * dim));
  } else {
    for (let r = 0, i = 0; r < rows; r++) {
      let sum = 0;
      for (const end = i + dim; i < end; i++) sum += fromFloat16Bits(data[i]!) ** 2;
      norms[r] = Math.sqrt(sum);
    }
  }
  return norms;
}

/** Σ x² over data[start, end) in float64, in four running sums so the additions need not wait on each other. */
function sumOfSquares(data: Float32Array, start: number, end: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const a = data[i]!;
    const b = data[i + 1]!;
    const c = data[i + 2]!;
    const d = data[i + 3]!;
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i < end; i++) s0 += data[i]! * data[i]!;
  return s0 + s1 + (s2 + s3);
}

/** Throws unless image and text embeddings pair up row for row; returns their row norms as checkEmbeddings does. */
export function checkPairs(img: Embeddings, txt: Embeddings): [RowNorms, RowNorms] {
  const norms: [RowNorms, RowNorms] = [
    checkEmbeddings('image embeddings', img),
    checkEmbeddings('text embeddings', txt),
  ];
  if (img.dim !== txt.dim) throw new RangeError(`clipsift: image dim ${img.dim} differs from text dim ${txt.dim}`);
  if (img.rows !== txt.rows) throw new RangeError(`clipsift: ${img.rows} image rows but ${txt.rows} text rows`);
  return norms;
}

export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`clipsift: ${name} must be an integer >= 1, got ${value}`);
}

/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The temperatures negCLIPLoss accepts: 1/τ must be a finite float32 with room for unit rows (τ ≥ 2^-120) and τ/2 times a
 * batch's log-sum-exp must stay finite (τ ≤ 2^100), or every score of the batch is NaN or Infinity.
 */
export const TEMPERATURE_RANGE = { min: 2 ** -120, max: 2 ** 100 } as const;

/** Why `temperature` cannot be used (as a phrase: "temperature must be …"), or undefined when it can. */
export function temperatureProblem(temperature: number): string | undefined {
  if (typeof temperature !== 'number' || !(temperature > 0) || !Number.isFinite(temperature))
    return `temperature must be a finite number > 0, got ${temperature}`;
  const { min, max } = TEMPERATURE_RANGE;
  if (temperature < min || temperature > max)
    return `temperature must be between 2^-120 (${min.toPrecision(3)}) and 2^100 (${max.toPrecision(3)}) so that 1/temperature and the scores are finite in float32, got ${temperature}`;
  return undefined;
}

/**
 * The largest L2 norm an embedding row may have so that its scores stay finite in float32:
 * CLIPScore needs |x|·|y| < FLOAT32_MAX, negCLIPLoss |x|·|y|/τ (every dot product of a batch, scaled),
 * both with a factor 4 to spare for rounding. Unit-norm rows pass for every accepted temperature.
 * @param temperature the negCLIPLoss temperature, when negCLIPLoss is computed
 */
export function maxFiniteNorm(temperature?: number): number {
  return Math.sqrt((FLOAT32_MAX / 4) * Math.min(1, temperature ?? 1));
}

/**
 * The first row whose L2 norm exceeds `limit`, with its norm, or undefined. Rows holding NaN are not
 * looked at. `norms`: the rows' norms when already computed (checkEmbeddings), else they are computed here.
 */
export function firstOverlargeRow(
  e: Embeddings,
  limit: number,
  norms?: Float64Array,
): { row: number; norm: number } | undefined {
  // float16 values are at most 65504: such rows cannot pass the limit unless it is tiny.
  if (e.data instanceof Uint16Array && 65504 * Math.sqrt(e.dim) <= limit) return undefined;
  const all = norms ?? rowNorms(e);
  const row = all.findIndex((norm) => norm > limit);
  return row >= 0 ? { row, norm: all[row]! } : undefined;
}

/** Throws unless no row of `e` has a norm beyond `limit` (see maxFiniteNorm); `norms` as firstOverlargeRow takes them. */
export function checkNorms(what: string, e: Embeddings, limit: number, norms?: Float64Array): void {
  const found = firstOverlargeRow(e, limit, norms);
  if (found) {
    throw new RangeError(
      `clipsift: ${what}: row ${found.row} has norm ${found.norm.toPrecision(3)}, beyond ${limit.toPrecision(3)}: its scores would not be finite in float32 (L2-normalise the rows or drop it)`,
    );
  }
}

/** Throws when a computed score is NaN or infinite: such a score is never returned. */
export function checkFiniteScores(what: string, scores: Float32Array): Float32Array {
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      throw new RangeError(
        `clipsift: ${what} of row ${i} is ${scores[i]}, not finite: the embeddings or parameters overflow float32`,
      );
    }
  }
  return scores;
}
