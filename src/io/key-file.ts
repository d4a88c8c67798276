/**
 * Kept-key files: what `select` writes for score files without uids (clip-retrieval rows named by a key
 * column, or by file and row), where there is no DataComp subset to write. Two forms of the same rows:
 * a parquet of the key columns (types kept), and a plain text list, one row per line, the key columns
 * separated by tabs.
 */
import type { ParquetColumn } from './parquet.js';
import { writeParquetTable } from './parquet.js';
import type { KeyColumns } from './layouts.js';
import type { KeyColumn } from './score-file.js';

/** The same key column of several score files, one after the other (numbers stay numbers when every part is). */
export function concatKeyColumn(parts: readonly KeyColumn[]): KeyColumn {
  if (parts.every((p) => p instanceof Int32Array)) {
    const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
  if (parts.every((p) => p instanceof BigInt64Array)) {
    const out = new BigInt64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
  return parts.flatMap((p) => Array.from(p as ArrayLike<string | number | bigint>, String));
}

/** The values of `rows` of a key column, in that order, of the same type. */
export function gatherKeyColumn(column: KeyColumn, rows: ArrayLike<number>): KeyColumn {
  if (column instanceof Int32Array) return Int32Array.from(rows, (row) => column[row]!);
  if (column instanceof BigInt64Array) {
    const out = new BigInt64Array(rows.length);
    for (let k = 0; k < rows.length; k++) out[k] = column[rows[k]!]!;
    return out;
  }
  return Array.from(rows, (row) => column[row]!);
}

/** Row `row` of the key columns as one line of the text list (no line break): the values joined by tabs. */
export function keyText(keys: KeyColumns, row: number): string {
  return Object.values(keys)
    .map((column) => String(column[row]))
    .join('\t');
}

/**
 * The text list: one line per row, key columns separated by tabs, each line ending in '\n'.
 * @throws {TypeError} naming the column and row when a value holds a tab or a line break (the list could not be read back)
 */
export function encodeKeyList(keys: KeyColumns): Uint8Array {
  const lines: string[] = [];
  const rows = keyRowCount(keys);
  for (const [name, column] of Object.entries(keys)) {
    if (Array.isArray(column)) {
      const bad = column.findIndex((v) => /[\t\r\n]/.test(v));
      if (bad >= 0)
        throw new TypeError(
          `key column ${name} row ${bad} holds a tab or line break, which a text list cannot hold: write a .parquet`,
        );
    }
  }
  for (let row = 0; row < rows; row++) lines.push(`${keyText(keys, row)}\n`);
  return new TextEncoder().encode(lines.join(''));
}

/** The parquet of the key columns (strings as UTF8, Int32/BigInt64 as INT32/INT64), every column REQUIRED. */
export function encodeKeyParquet(keys: KeyColumns): Uint8Array {
  return writeParquetTable({ columns: keys as Record<string, ParquetColumn> });
}

function keyRowCount(keys: KeyColumns): number {
  const lengths = new Set(Object.values(keys).map((c) => c.length));
  if (lengths.size > 1) throw new TypeError(`key columns differ in length (${[...lengths].join(', ')})`);
  return lengths.values().next().value ?? 0;
}
