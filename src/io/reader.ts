/**
 * The shape every embedding input takes once opened, whatever the file
 * format: a count of rows of `dim` values, delivered in chunks of rows.
 * float16 data stays as raw IEEE half bits (Uint16Array) so it can reach the
 * engine without being widened in JavaScript.
 */

/** Element type of the arrays a reader hands out. */
export type RowDtype = 'f2' | 'f4';

/** Row data: half bits for 'f2', float32 for 'f4'; row-major, `rows × dim`. */
export type RowData = Float32Array | Uint16Array;

/** `rows` consecutive rows starting at row `start`. */
export interface RowChunk {
  start: number;
  rows: number;
  data: RowData;
}

/** A sequential view of an embedding matrix. */
export interface EmbeddingReader {
  /** Name for error messages, e.g. `shard.npz:l14_img.npy`. */
  readonly name: string;
  readonly rows: number;
  readonly dim: number;
  readonly dtype: RowDtype;
  /**
   * Yield the rows in order, `chunkRows` at a time (the last chunk may be
   * shorter). Each call starts again from row 0.
   */
  readRowChunks(chunkRows: number): AsyncIterable<RowChunk>;
}

/** Throw RangeError unless `chunkRows` is a positive integer (a caller bug, not bad input). */
export function checkChunkRows(chunkRows: number): void {
  if (!Number.isSafeInteger(chunkRows) || chunkRows < 1) {
    throw new RangeError(`chunkRows must be a positive integer, got ${chunkRows}`);
  }
}

/** Turn a random-access row reader into the chunk iterator of EmbeddingReader. */
export async function* chunksByRandomAccess(
  rows: number,
  chunkRows: number,
  readRows: (start: number, count: number) => Promise<RowData>,
): AsyncGenerator<RowChunk> {
  checkChunkRows(chunkRows);
  for (let start = 0; start < rows; start += chunkRows) {
    const count = Math.min(chunkRows, rows - start);
    yield { start, rows: count, data: await readRows(start, count) };
  }
}

/** Every row of `reader` in one new row-major array of its element type (float16 bits stay float16 bits). */
export async function readAllRows(
  reader: EmbeddingReader,
  chunkRows = 16384,
): Promise<{ data: RowData; rows: number; dim: number }> {
  const { rows, dim } = reader;
  const data: RowData = reader.dtype === 'f2' ? new Uint16Array(rows * dim) : new Float32Array(rows * dim);
  for await (const chunk of reader.readRowChunks(chunkRows)) data.set(chunk.data, chunk.start * dim);
  return { data, rows, dim };
}
