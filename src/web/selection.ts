/**
 * The page's selection: the same `top` steps `clipsift select` runs, through the same function
 * (src/select's runSteps, ties broken by uid), built from the sliders. Fractions are of the
 * whole pool, as in the paper: "negCLIPLoss 30 %, then NormSim 20 %" keeps 20 % of the pool.
 */
import { formatUid, compareUids, sortUids } from '../io/uid.js';
import {
  allRows,
  assertNoNaN,
  runSteps,
  type ScoreColumns,
  type SelectionResult,
  type SelectionStep,
  type SelectionSummary,
} from '../select/steps.js';
import { gatherUids } from '../select/table.js';
import type { ScoredPool } from './protocol.js';

export interface SliderFractions {
  negclip: number;
  normsim: number;
}

export interface PageSelection {
  /** Kept rows, ascending. */
  rows: Uint32Array;
  /** Kept uids, sorted, for subset.npy; null when the pool has no uids. */
  uids: Uint32Array | null;
  summary: SelectionSummary;
  /** The rows the first step (negCLIPLoss) keeps on its own, ascending: the scatter shows which step dropped a row. */
  afterFirst: Uint32Array;
}

export function selectionSteps(pool: ScoredPool, fractions: SliderFractions): SelectionStep[] {
  const steps: SelectionStep[] = [{ kind: 'top', column: 'negclip_loss', fraction: fractions.negclip }];
  if (pool.normsimColumn) steps.push({ kind: 'top', column: pool.normsimColumn, fraction: fractions.normsim });
  return steps;
}

/**
 * The selection of one scored pool, asked again on every slider move. The scores are computed once
 * and never change, so the first step's survivors depend only on the negCLIPLoss fraction: they are
 * kept, and a NormSim move re-selects among them alone. Running the steps one after the other over
 * the same N is what runSteps does in one go, so the rows equal `clipsift select`'s.
 */
export class PageSelector {
  private readonly table: ScoreColumns;
  private readonly all: Uint32Array;
  private first: { fraction: number; result: SelectionResult } | null = null;

  constructor(private readonly pool: ScoredPool) {
    const { uids, ids } = pool;
    // As select/table's runTableSteps orders rows with uids; without them (clip-retrieval without a key
    // column, plain .npy) ties break by row key instead.
    this.table = uids
      ? {
          columns: pool.scores,
          compareRows: (a, b) => compareUids(uids, a, uids, b),
          describeRow: (row) => `uid ${formatUid(uids, row)}`,
        }
      : {
          columns: pool.scores,
          compareRows: (a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0),
          describeRow: (row) => ids[row]!,
        };
    this.all = allRows(pool.rows);
    // runSteps looks for NaN among the rows it starts from, and the NormSim step starts from the first
    // step's survivors: look through the whole pool once, as one run of both steps does.
    if (pool.normsimColumn) assertNoNaN(this.table, pool.normsimColumn, this.all);
  }

  select(fractions: SliderFractions): PageSelection {
    const [first, ...rest] = selectionSteps(this.pool, fractions);
    if (this.first?.fraction !== fractions.negclip)
      this.first = { fraction: fractions.negclip, result: runSteps(this.table, [first!], this.all) };
    const afterFirst = this.first.result;
    const { rows, summary } =
      rest.length > 0 ? runSteps(this.table, rest, afterFirst.rows, this.pool.rows) : afterFirst;
    return {
      rows,
      uids: this.pool.uids ? sortUids(gatherUids(this.pool.uids, rows), { unique: true }) : null,
      summary: { poolSize: this.pool.rows, steps: [...afterFirst.summary.steps, ...summary.steps], kept: rows.length },
      afterFirst: afterFirst.rows,
    };
  }
}

/** A 0/1 flag per pool row: 1 for rows in `kept`. */
export function keptMask(rows: number, kept: Uint32Array): Uint8Array {
  const mask = new Uint8Array(rows);
  for (const row of kept) mask[row] = 1;
  return mask;
}
