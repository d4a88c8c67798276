/**
 * Reading a whole embedding matrix into one typed array for the engine, checking every row on the way.
 *
 * The engine takes a shard's embeddings as one array, so the rows have to be gathered somewhere; doing
 * the checks (non-finite values, zero rows, norms) while copying costs one extra pass over memory that
 * is already hot, instead of a second read of a multi-gigabyte file.
 */
import type { EmbeddingReader, RowData } from '../io/reader.js';
import { halfTable } from '../numeric/float16.js';

/** What was measured while gathering: enough to warn about or reject a matrix. */
export interface RowStats {
  rows: number;
  /** Rows holding NaN or ±Inf, ascending. */
  nonFiniteRows: number[];
  /** Rows whose values are all zero (a failed encoder output), ascending. */
  zeroRows: number[];
  /** Finite rows whose norm exceeds the limit asked for (their scores would overflow float32), ascending. */
  overlargeRows: number[];
  /** L2 norm range over the finite, non-zero rows (NaN when there are none). */
  minNorm: number;
  maxNorm: number;
  /** Sum of the norms of those rows, for a mean. */
  normSum: number;
  normCount: number;
}

/** Rows gathered into one contiguous array, with their checks. */
export interface GatheredRows {
  data: RowData;
  rows: number;
  dim: number;
  stats: RowStats;
}

/** Rows per read from the reader: ~3 MiB of f16 at dim 768, big enough that per-chunk overhead vanishes. */
export const GATHER_CHUNK_ROWS = 2048;

/**
 * Reads every row of `reader` into a new array of its element type (float16 bits stay float16 bits)
 * and measures each row. Memory: the result plus one chunk.
 * @param onRows called after each chunk with the number of rows it added (for progress)
 * @param normLimit rows with a larger L2 norm are listed in stats.overlargeRows
 */
export async function gatherRows(
  reader: EmbeddingReader,
  onRows?: (rows: number) => void,
  normLimit = Infinity,
): Promise<GatheredRows> {
  const { rows, dim } = reader;
  const data: RowData = reader.dtype === 'f2' ? new Uint16Array(rows * dim) : new Float32Array(rows * dim);
  const stats = emptyStats();
  for await (const chunk of reader.readRowChunks(GATHER_CHUNK_ROWS)) {
    data.set(chunk.data as never, chunk.start * dim);
    measureRows(chunk.data, dim, chunk.start, stats, normLimit);
    onRows?.(chunk.rows);
  }
  stats.rows = rows;
  return { data, rows, dim, stats };
}

/** Measures every row of `reader` without keeping them: memory is one chunk, whatever the file size. */
export async function gatherRowStats(reader: EmbeddingReader, onRows?: (rows: number) => void): Promise<RowStats> {
  const stats = emptyStats();
  for await (const chunk of reader.readRowChunks(GATHER_CHUNK_ROWS)) {
    measureRows(chunk.data, reader.dim, chunk.start, stats);
    onRows?.(chunk.rows);
  }
  stats.rows = reader.rows;
  return stats;
}

function emptyStats(): RowStats {
  return {
    rows: 0,
    nonFiniteRows: [],
    zeroRows: [],
    overlargeRows: [],
    minNorm: NaN,
    maxNorm: NaN,
    normSum: 0,
    normCount: 0,
  };
}

function measureRows(data: RowData, dim: number, firstRow: number, stats: RowStats, normLimit = Infinity): void {
  const count = dim > 0 ? data.length / dim : 0;
  const half = data instanceof Uint16Array ? halfTable() : undefined;
  for (let r = 0; r < count; r++) {
    let sumSquares = 0;
    const base = r * dim;
    // Squares are summed in float64, so a finite float32 or float16 value cannot overflow them:
    // the sum is non-finite exactly when some value is NaN or ±Inf.
    if (half) {
      const bits = data as Uint16Array;
      for (let j = 0; j < dim; j++) {
        const v = half[bits[base + j]!]!;
        sumSquares += v * v;
      }
    } else {
      for (let j = 0; j < dim; j++) {
        const v = data[base + j]!;
        sumSquares += v * v;
      }
    }
    if (!Number.isFinite(sumSquares)) stats.nonFiniteRows.push(firstRow + r);
    else if (sumSquares === 0) stats.zeroRows.push(firstRow + r);
    else {
      const norm = Math.sqrt(sumSquares);
      if (norm > normLimit) stats.overlargeRows.push(firstRow + r);
      if (!(norm >= stats.minNorm)) stats.minNorm = norm;
      if (!(norm <= stats.maxNorm)) stats.maxNorm = norm;
      stats.normSum += norm;
      stats.normCount++;
    }
  }
}

/**
 * Removes the rows listed in `drop` (ascending) by moving later rows down, in place; returns the
 * shortened view. Used for --skip-invalid and duplicate uids, so no second copy of the matrix is made.
 */
export function dropRows<T extends RowData>(data: T, dim: number, drop: readonly number[]): T {
  if (drop.length === 0) return data;
  const rows = data.length / dim;
  let write = 0;
  let next = 0;
  for (let r = 0; r < rows; r++) {
    if (next < drop.length && drop[next] === r) {
      next++;
      continue;
    }
    if (write !== r) data.copyWithin(write * dim, r * dim, (r + 1) * dim);
    write++;
  }
  return data.subarray(0, write * dim) as T;
}

/**
 * "3, 17, 40 and 12 more": row numbers for a one-line message. `total` is how many rows there are in
 * all when `rows` holds only the first few of them (inspect keeps the first 10 of 400 zero rows).
 */
export function listRows(rows: readonly number[], shown = 5, total = rows.length): string {
  const head = rows.slice(0, shown).join(', ');
  const listed = Math.min(shown, rows.length);
  return total > listed ? `${head} and ${formatCount(total - listed)} more` : head;
}

/** 1234567 → '1,234,567', as the CLI writes counts (cli/words.ts); the pipeline may not import a shell. */
function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}
