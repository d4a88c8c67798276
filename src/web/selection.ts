/**
 * The page's selection: the same `top` steps `clipsift select` runs, through the same function
 * (src/select's selectFromTable, ties broken by uid), built from the sliders. Fractions are of the
 * whole pool, as in the paper: "negCLIPLoss 30 %, then NormSim 20 %" keeps 20 % of the pool.
 */
import { runSteps, type SelectionStep, type SelectionSummary } from '../select/steps.js';
import { selectFromTable } from '../select/table.js';
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
}

export function selectionSteps(pool: ScoredPool, fractions: SliderFractions): SelectionStep[] {
  const steps: SelectionStep[] = [{ kind: 'top', column: 'negclip_loss', fraction: fractions.negclip }];
  if (pool.normsimColumn) steps.push({ kind: 'top', column: pool.normsimColumn, fraction: fractions.normsim });
  return steps;
}

export function selectRows(pool: ScoredPool, steps: SelectionStep[]): PageSelection {
  if (pool.uids) {
    const { rows, uids, summary } = selectFromTable({ uids: pool.uids, columns: pool.scores }, steps);
    return { rows, uids, summary };
  }
  // No uids (clip-retrieval without a key column, plain .npy): ties break by row key instead.
  const { rows, summary } = runSteps(
    { columns: pool.scores, compareRows: compareIds(pool.ids), describeRow: (row) => pool.ids[row]! },
    steps,
  );
  return { rows, uids: null, summary };
}

function compareIds(ids: string[]): (a: number, b: number) => number {
  return (a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0);
}

/** A 0/1 flag per pool row: 1 for rows in `kept`. */
export function keptMask(rows: number, kept: Uint32Array): Uint8Array {
  const mask = new Uint8Array(rows);
  for (const row of kept) mask[row] = 1;
  return mask;
}
