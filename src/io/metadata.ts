/**
 * DataComp metadata columns (clip_l14_similarity_score, clip_b32_similarity_score, …) by uid, as
 * selection steps use them. Only the uid and the named columns are read (parquet is columnar: the
 * other column chunks — url, text, … — are never fetched), one row group at a time, into typed
 * arrays sized from the footers, so memory is the result plus one row group's values.
 */
import { InputError } from './errors.js';
import { openParquet, type ParquetInput } from './parquet.js';
import type { ByteSource } from './source.js';
import { parseUids, UID_WORDS } from './uid.js';

/** Metadata rows: uids (UID_WORDS words each) and numeric columns, rows in file order. */
export interface MetadataTable {
  uids: Uint32Array;
  /**
   * float32 when every value of the column is one (DataComp stores its scores as float), else
   * float64, so thresholds compare exactly as pandas compares them.
   */
  columns: Record<string, Float32Array | Float64Array>;
}

/**
 * Reads the uid and `columns` of DataComp metadata parquets, concatenated in the order given.
 * @param open opens each name (a file, a URL…) as a byte source; it is closed after reading
 * @throws {InputError} naming the file (and the row and field) for a missing column, a bad uid, or a
 *   value that is null, NaN or not a number
 */
export async function readMetadataColumns(
  names: readonly string[],
  columns: readonly string[],
  open: (name: string) => Promise<ByteSource>,
): Promise<MetadataTable> {
  // Footers first: the row count sizes the arrays, and a missing column is found before any data is read.
  // Each footer is read once; a closed source reopens when its columns are read (ByteSource.close).
  const files: { name: string; source: ByteSource; parquet: ParquetInput }[] = [];
  let total = 0;
  for (const name of names) {
    const source = await open(name);
    try {
      const parquet = await openParquet(source);
      for (const column of ['uid', ...columns]) {
        if (!parquet.columns.includes(column))
          throw new InputError(name, `has no column ${column} (columns: ${parquet.columns.join(', ')})`, {
            field: column,
          });
      }
      files.push({ name, source, parquet });
      total += parquet.rows;
    } finally {
      await source.close?.();
    }
  }
  const uids = new Uint32Array(total * UID_WORDS);
  const values = Object.fromEntries(columns.map((c) => [c, new Float64Array(total)]));
  const single = Object.fromEntries(columns.map((c) => [c, true]));
  let at = 0;
  for (const { name, source, parquet } of files) {
    try {
      let start = 0;
      for (const groupRows of parquet.rowGroups) {
        const read = await parquet.readColumns(['uid', ...columns], { rowStart: start, rowEnd: start + groupRows });
        uids.set(parseUids(read.uid!, name, start), (at + start) * UID_WORDS);
        for (const column of columns) {
          const out = values[column]!;
          const part = read[column]!;
          for (let i = 0; i < part.length; i++) {
            const value = part[i];
            if (typeof value !== 'number' || Number.isNaN(value))
              throw new InputError(
                name,
                `is ${value === null ? 'null' : Number.isNaN(value) ? 'NaN' : typeof value}, not a number`,
                { row: start + i, field: column },
              );
            if (single[column] && Math.fround(value) !== value) single[column] = false;
            out[at + start + i] = value;
          }
        }
        start += groupRows;
      }
      at += start;
    } finally {
      await source.close?.();
    }
  }
  const table: MetadataTable = { uids, columns: {} };
  for (const column of columns)
    table.columns[column] = single[column] ? Float32Array.from(values[column]!) : values[column]!;
  return table;
}
