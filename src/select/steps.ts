/**
 * Selection steps over score columns: `top` and `min`, run in order, with the summary the CLI prints.
 *
 * Everything here works on row indices into a table of Float32Array score columns. How rows are
 * identified (uids, keys) is the caller's business: the only thing a step needs from it is an
 * ordering of rows by uid, used to break ties, so results do not depend on the order files were read.
 *
 * NaN policy: a NaN score in a column a step uses is rejected with an error naming the rows, before
 * anything is selected. Dropping such rows silently would change N-relative budgets without notice,
 * and a NaN score always means broken input (a NaN embedding), which the user must see.
 */

import { floorTimes, parseDecimalRatio } from './fraction.js';

/** Every row of a table of `count` rows, 0..count-1: the pool when no rows are left out. */
export function allRows(count: number): Uint32Array {
  const rows = new Uint32Array(count);
  for (let i = 0; i < count; i++) rows[i] = i;
  return rows;
}

/**
 * How a `top` step turns a fraction into rows:
 * - `floor` (clipsift, and the official negCLIPLoss/NormSim code's filter_by_score): exactly ⌊N·fraction⌋
 *   rows, ties at the cut broken by uid;
 * - `datacomp` (DataComp's baselines.py --fraction): the threshold is the score at index int(N·fraction)
 *   of the scores sorted in descending order (N·fraction a float64 product, as Python computes it), and
 *   every row scoring ≥ it is kept, so ⌊N·fraction⌋ + 1 rows plus any ties at the threshold; a
 *   fraction of exactly 1 keeps everything.
 */
export type Rounding = 'floor' | 'datacomp';

/** Keep, among the rows that survived the steps before, the top ⌊N·fraction⌋ rows by `column` (N = pool size). */
export interface TopStep {
  kind: 'top';
  column: string;
  /** In [0, 1]; relative to the pool, not to the survivors. ⌊N·fraction⌋ is exact in its shortest decimal. */
  fraction: number;
  /** Default 'floor'. */
  rounding?: Rounding;
  /**
   * The fraction as the user wrote it ('0.29', '29%'), when known: the count is then computed exactly
   * from these digits rather than from `fraction` (which should equal it to double precision).
   */
  decimal?: string;
}

/** Keep the rows whose `column` is ≥ `value`. */
export interface MinStep {
  kind: 'min';
  column: string;
  value: number;
}

export type SelectionStep = TopStep | MinStep;

/** What one step did. */
export interface StepOutcome {
  step: SelectionStep;
  /** Rows kept after this step. */
  kept: number;
  /**
   * The score the step implied: for `top`, the lowest score it kept (null when it kept nothing);
   * for `min`, its value.
   */
  threshold: number | null;
}

/** Pool size and the effect of each step, in order. */
export interface SelectionSummary {
  /** N: the rows the fractions refer to (after any given-uids restriction). */
  poolSize: number;
  steps: StepOutcome[];
  /** Rows kept at the end. */
  kept: number;
}

/** A score column: float32 as score files hold them, or float64 (metadata columns stored as doubles). */
export type ScoreValues = Float32Array | Float64Array;

/** The rows and scores the steps run over. */
export interface ScoreColumns {
  /** Named score columns, all of the same length (the table's row count). */
  columns: Readonly<Record<string, ScoreValues>>;
  /** Orders two rows by uid, ascending; ties between equal scores keep the row with the smaller uid. */
  compareRows(a: number, b: number): number;
  /** Names a row in error messages (e.g. its uid); defaults to "row <index>". */
  describeRow?(row: number): string;
}

/** Which rows survived, in ascending row order, and the summary. */
export interface SelectionResult {
  rows: Uint32Array;
  summary: SelectionSummary;
}

/**
 * Runs `steps` in order over `pool` (row indices, ascending; every row of the table when omitted).
 * `poolSize` is the N fractions refer to (default: the pool's length); a caller that ran other steps
 * first (NormSim_2-D) passes the rows left and the original N, so every fraction stays pool-relative.
 * Throws on an unknown column, a fraction outside [0, 1], a NaN min value, or NaN scores in a used column.
 */
export function runSteps(
  table: ScoreColumns,
  steps: readonly SelectionStep[],
  pool?: Uint32Array,
  poolSize?: number,
): SelectionResult {
  const rowCount = tableRowCount(table);
  let rows = pool ?? identityRows(rowCount);
  for (const step of steps) validateStep(table, step);
  for (const column of new Set(steps.map((s) => s.column))) assertNoNaN(table, column, rows);

  const n = poolSize ?? rows.length;
  const outcomes: StepOutcome[] = [];
  for (const step of steps) {
    const scores = table.columns[step.column]!;
    if (step.kind === 'top' && step.rounding === 'datacomp') {
      const kept = keepTopDataComp(rows, scores, n, step.fraction);
      rows = kept.rows;
      outcomes.push({ step, kept: rows.length, threshold: kept.threshold });
    } else if (step.kind === 'top') {
      const kept = keepTop(rows, scores, topCount(n, step), table.compareRows);
      rows = kept.rows;
      outcomes.push({ step, kept: rows.length, threshold: kept.threshold });
    } else {
      rows = keepAtLeast(rows, scores, step.value);
      outcomes.push({ step, kept: rows.length, threshold: step.value });
    }
  }
  return { rows, summary: { poolSize: n, steps: outcomes, kept: rows.length } };
}

/**
 * DataComp's --fraction rule (baselines/apply_filter.py get_threshold): threshold = the score at index
 * int(N·fraction) of the scores in descending order, keep every row ≥ it; fraction 1 keeps all rows.
 * Run after other steps, the sorted scores are the survivors' (and all survivors are kept when the
 * index falls past them). Returns the rows in ascending order and the threshold.
 */
export function keepTopDataComp(
  rows: Uint32Array,
  scores: ScoreValues,
  poolSize: number,
  fraction: number,
): { rows: Uint32Array; threshold: number | null } {
  if (rows.length === 0) return { rows: new Uint32Array(0), threshold: null };
  const values = scores instanceof Float64Array ? new Float64Array(rows.length) : new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) values[i] = scores[rows[i]!]!;
  values.sort();
  // Python: n = int(len(df) * fraction) on float64; sorted descending, index n (index -1 when fraction is 1).
  const index = fraction === 1 ? rows.length - 1 : Math.trunc(poolSize * fraction);
  const threshold = values[Math.max(0, rows.length - 1 - Math.min(index, rows.length - 1))]!;
  return { rows: keepAtLeast(rows, scores, threshold), threshold };
}

/**
 * The `count` rows of `rows` with the highest `scores`, ties broken by `compareRows` (smaller first),
 * returned in ascending row order with the lowest kept score. Scores must not be NaN.
 * Sorting a copy of the scores natively finds the cut-off; only rows tied at the cut-off need the
 * (slower) uid comparison, so this stays fast on pools of tens of millions of rows.
 */
export function keepTop(
  rows: Uint32Array,
  scores: Float32Array | Float64Array,
  count: number,
  compareRows: (a: number, b: number) => number,
): { rows: Uint32Array; threshold: number | null } {
  if (count <= 0 || rows.length === 0) return { rows: new Uint32Array(0), threshold: null };
  // Same element type as the scores, so the cut-off compares exactly with them.
  const values = scores instanceof Float64Array ? new Float64Array(rows.length) : new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) values[i] = scores[rows[i]!]!;
  values.sort();
  if (count >= rows.length) return { rows: rows.slice(), threshold: values[0]! };

  const threshold = values[rows.length - count]!;
  let above = 0;
  const tied: number[] = [];
  for (const row of rows) {
    const score = scores[row]!;
    if (score > threshold) above++;
    else if (score === threshold) tied.push(row); // -0 and +0 are one value here, as in `>`.
  }
  tied.sort(compareRows);
  const keepTied = new Set(tied.slice(0, count - above));
  const kept = new Uint32Array(count);
  let n = 0;
  for (const row of rows) {
    const score = scores[row]!;
    if (score > threshold || (score === threshold && keepTied.has(row))) kept[n++] = row;
  }
  return { rows: kept, threshold };
}

/** The rows of `rows` whose score is ≥ `value`, in the same order. */
export function keepAtLeast(rows: Uint32Array, scores: ScoreValues, value: number): Uint32Array {
  let n = 0;
  const kept = new Uint32Array(rows.length);
  for (const row of rows) if (scores[row]! >= value) kept[n++] = row;
  return kept.slice(0, n);
}

/** Throws, naming up to five rows, when `column` holds NaN in any of `rows`. */
export function assertNoNaN(table: ScoreColumns, column: string, rows: Uint32Array): void {
  const scores = table.columns[column];
  if (!scores) return;
  const bad: number[] = [];
  let count = 0;
  for (const row of rows) {
    if (Number.isNaN(scores[row]!)) {
      count++;
      if (bad.length < 5) bad.push(row);
    }
  }
  if (count === 0) return;
  const describe = table.describeRow ?? ((row: number) => `row ${row}`);
  const names = bad.map(describe).join(', ');
  throw new Error(
    `column ${column} is NaN in ${count} row${count === 1 ? '' : 's'}: ${names}${count > bad.length ? ', …' : ''}`,
  );
}

/** ⌊N·fraction⌋, exact in decimal (src/select/fraction.ts): 29 % of 100 rows is 29 rows, not 28. */
export function topCount(poolSize: number, step: TopStep): number {
  return floorTimes(poolSize, step.decimal ?? step.fraction);
}

function validateStep(table: ScoreColumns, step: SelectionStep): void {
  if (!(step.column in table.columns)) {
    const known = Object.keys(table.columns).join(', ') || 'none';
    throw new Error(`unknown score column "${step.column}" (columns: ${known})`);
  }
  validateStepValues(step);
}

/** Checks a step's own numbers (a top fraction in [0, 1], exactly as written; a min that is a number). */
export function validateStepValues(step: SelectionStep): void {
  if (step.kind === 'top' && !(step.fraction >= 0 && step.fraction <= 1)) {
    throw new Error(`top ${step.column}: fraction must be in [0, 1], got ${step.fraction}`);
  }
  if (step.kind === 'top' && step.decimal !== undefined) {
    const ratio = parseDecimalRatio(step.decimal);
    if (!ratio || ratio.numerator > ratio.denominator)
      throw new Error(
        `top ${step.column}: fraction must be in [0, 1] (or 0%–100%), written in decimal, got '${step.decimal}'`,
      );
  }
  if (step.kind === 'min' && Number.isNaN(step.value)) throw new Error(`min ${step.column}: value is NaN`);
}

function tableRowCount(table: ScoreColumns): number {
  const lengths = new Set(Object.values(table.columns).map((c) => c.length));
  if (lengths.size > 1) throw new Error(`score columns differ in length: ${[...lengths].join(', ')}`);
  return lengths.size === 0 ? 0 : [...lengths][0]!;
}

function identityRows(count: number): Uint32Array {
  const rows = new Uint32Array(count);
  for (let i = 0; i < count; i++) rows[i] = i;
  return rows;
}
