/**
 * Selection over a score table: uids plus named score columns, as read back from score files.
 * Adds what needs uids to the uid-agnostic steps: tie-breaking by uid and the given-uids restriction;
 * and, for score files without uids (clip-retrieval), tie-breaking by their key columns.
 */
import type { ScoreTable } from '../io/score-file.js';
import { compareUids, findUid, formatUid, sortUids, UID_WORDS, uidCount } from '../io/uid.js';
import {
  allRows,
  runSteps,
  type ScoreValues,
  type SelectionResult,
  type SelectionStep,
  type SelectionSummary,
} from './steps.js';

/** One row per scored pair, as io/score-file.ts reads it from score files (the same type, re-exported). */
export type { ScoreTable };

/** A score table whose columns may also be float64 (metadata columns joined in); a ScoreTable is one. */
export interface SelectTable {
  uids: Uint32Array;
  columns: Record<string, ScoreValues>;
}

export interface TableSelection {
  /** Kept rows of the table, ascending. */
  rows: Uint32Array;
  /** Their uids, sorted ascending, each once. */
  uids: Uint32Array;
  summary: SelectionSummary & {
    /** When given uids were used: how many there were, and how many rows of the table they matched. */
    given?: { uids: number; matchedRows: number };
  };
}

/**
 * Runs `steps` over `table`; with `givenUids`, first restricts the pool to the rows whose uid is among
 * them (N is then the number of such rows). A uid that appears in several rows (the same pair in two
 * shards) counts once per row in N, and once in the output.
 */
export function selectFromTable(
  table: SelectTable,
  steps: readonly SelectionStep[],
  givenUids?: Uint32Array,
): TableSelection {
  const pool = tablePool(table, givenUids);
  const { rows, summary } = runTableSteps(table, steps, pool);
  const result: TableSelection = { rows, uids: sortUids(gatherUids(table.uids, rows), { unique: true }), summary };
  if (givenUids)
    result.summary.given = { uids: uidCount(sortUids(givenUids, { unique: true })), matchedRows: pool.length };
  return result;
}

/**
 * The pool of `table` as explicit rows: every row, or with `givenUids` the rows whose uid is among them
 * (always explicit: with no score column, as for NormSim_2-D alone, the columns cannot tell the row count).
 * @throws {Error} when a column's length is not the table's row count
 */
export function tablePool(table: SelectTable, givenUids?: Uint32Array): Uint32Array {
  const rowCount = uidCount(table.uids);
  for (const [name, column] of Object.entries(table.columns)) {
    if (column.length !== rowCount)
      throw new Error(`score column ${name} has ${column.length} values for ${rowCount} uids`);
  }
  return givenUids ? rowsWithUidIn(table.uids, givenUids) : allRows(rowCount);
}

/**
 * Runs `steps` over the rows `pool` of `table` with ties broken by uid; `poolSize` is the N of the
 * fractions when it is not the pool's length (steps resumed after NormSim_2-D).
 */
export function runTableSteps(
  table: SelectTable,
  steps: readonly SelectionStep[],
  pool: Uint32Array,
  poolSize?: number,
): SelectionResult {
  return runSteps(
    {
      columns: table.columns,
      compareRows: (a, b) => compareUids(table.uids, a, table.uids, b),
      describeRow: (row) => `uid ${formatUid(table.uids, row)}`,
    },
    steps,
    pool,
    poolSize,
  );
}

/** Rows of `uids` (ascending) whose uid is in `set`; binary search in a sorted copy of `set`. */
export function rowsWithUidIn(uids: Uint32Array, set: Uint32Array): Uint32Array {
  const sorted = sortUids(set, { unique: true });
  const rows: number[] = [];
  for (let row = 0; row < uidCount(uids); row++) {
    if (findUid(sorted, uids, row) >= 0) rows.push(row);
  }
  return Uint32Array.from(rows);
}

/** The uids (or any UID_WORDS-word identities) of `rows`, in that order. */
export function gatherUids(uids: Uint32Array, rows: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(rows.length * UID_WORDS);
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k]!;
    out.set(uids.subarray(row * UID_WORDS, (row + 1) * UID_WORDS), k * UID_WORDS);
  }
  return out;
}

/** Key columns naming the rows of score files without uids (a clip-retrieval key column, or file and row). */
export type RowKeys = Record<string, string[] | Int32Array | BigInt64Array>;

/**
 * Runs `steps` over score columns whose rows are named by key columns rather than uids. Equal scores
 * are ordered by key (the columns in order; numbers by value, strings by code unit), so the result does
 * not depend on file order. `pool` is every row when omitted.
 * @returns the kept rows, ascending, and the summary
 */
export function runKeyedSteps(
  keys: RowKeys,
  columns: Record<string, ScoreValues>,
  steps: readonly SelectionStep[],
  pool?: Uint32Array,
): SelectionResult {
  const keyColumns = Object.entries(keys);
  const rowCount = keyColumns[0]?.[1].length ?? 0;
  for (const [name, column] of [...keyColumns, ...Object.entries(columns)]) {
    if (column.length !== rowCount) throw new Error(`column ${name} has ${column.length} values for ${rowCount} rows`);
  }
  const compareRows = (a: number, b: number) => {
    for (const [, column] of keyColumns) {
      const x = column[a]!;
      const y = column[b]!;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
  const describeRow = (row: number) => keyColumns.map(([name, column]) => `${name} ${column[row]}`).join(', ');
  return runSteps({ columns, compareRows, describeRow }, steps, pool ?? allRows(rowCount));
}
