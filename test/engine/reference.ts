// Float64 reference implementations, written straight from the definitions (no tiling, no online
// log-sum-exp), to check the kernels against. float16 goes through src/numeric/float16.ts, which is
// checked against numpy for every bit pattern, not through the engine's own conversion.
import { fromFloat16Bits, toFloat16Bits } from '../../src/numeric/float16.js';

export interface Matrix {
  data: Float32Array | Uint16Array;
  rows: number;
  dim: number;
}

export function toF64(m: Matrix): Float64Array {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < out.length; i++) out[i] = m.data instanceof Uint16Array ? fromFloat16Bits(m.data[i]) : m.data[i];
  return out;
}

function dot(a: Float64Array, i: number, b: Float64Array, j: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += a[i * dim + k] * b[j * dim + k];
  return s;
}

export function clipScoreRef(img: Matrix, txt: Matrix): Float64Array {
  const a = toF64(img),
    b = toF64(txt);
  return Float64Array.from({ length: img.rows }, (_, i) => dot(a, i, b, i, img.dim));
}

function logSumExp(values: number[]): number {
  const m = Math.max(...values);
  return m + Math.log(values.reduce((s, v) => s + Math.exp(v - m), 0));
}

/** negCLIPLoss of the rows listed in `batch` (indices into img/txt), by the formula. */
export function negClipBatchRef(
  a: Float64Array,
  b: Float64Array,
  dim: number,
  batch: ArrayLike<number>,
  tau: number,
): Float64Array {
  const n = batch.length;
  const s = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => dot(a, batch[i], b, batch[j], dim)),
  );
  return Float64Array.from({ length: n }, (_, i) => {
    const row = logSumExp(s[i].map((v) => v / tau));
    const col = logSumExp(s.map((r) => r[i] / tau));
    return s[i][i] - (tau / 2) * (row + col);
  });
}

/** negCLIPLoss over shuffles given as permutations, cut into consecutive batches. */
export function negClipLossRef(
  img: Matrix,
  txt: Matrix,
  batchSize: number,
  tau: number,
  orders: ArrayLike<number>[],
): Float64Array {
  const a = toF64(img),
    b = toF64(txt);
  const n = img.rows;
  const sum = new Float64Array(n);
  for (const order of orders) {
    for (let first = 0; first < n; first += batchSize) {
      const batch = Array.from({ length: Math.min(batchSize, n - first) }, (_, i) => order[first + i]);
      const values = negClipBatchRef(a, b, img.dim, batch, tau);
      batch.forEach((row, i) => {
        sum[row] += values[i];
      });
    }
  }
  return sum.map((v) => v / orders.length);
}

export function normSimRef(candidates: Matrix, target: Matrix, p: number): Float64Array {
  const x = toF64(candidates),
    t = toF64(target);
  return Float64Array.from({ length: candidates.rows }, (_, i) => {
    const sims = Array.from({ length: target.rows }, (_, j) => Math.abs(dot(x, i, t, j, candidates.dim)));
    if (p === Infinity) return Math.max(...sims);
    const m = Math.max(...sims);
    if (m === 0) return 0;
    return m * sims.reduce((s, v) => s + (v / m) ** p, 0) ** (1 / p);
  });
}

/** Seeded Gaussian rows, L2-normalised unless told otherwise (Box–Muller over a small LCG). */
export function randomRows(rows: number, dim: number, seed: number, normalize = true): Float32Array {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 2 ** 32;
  };
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      const g = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      out[r * dim + k] = g;
      norm += g * g;
    }
    if (normalize) for (let k = 0; k < dim; k++) out[r * dim + k] /= Math.sqrt(norm);
  }
  return out;
}

/** Round-to-nearest-even float → f16 bits. */
export function toHalf(values: Float32Array): Uint16Array {
  return Uint16Array.from(values, toFloat16Bits);
}

export function maxAbsError(got: Float32Array, want: Float64Array): number {
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  return m;
}

export function maxRelError(got: Float32Array, want: Float64Array): number {
  let m = 0;
  for (let i = 0; i < want.length; i++)
    m = Math.max(m, Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-30));
  return m;
}
