/**
 * Joining score tables by uid: scores of one pool computed in several runs (negCLIPLoss with one
 * teacher, NormSim with another, as the official code's --arch_ncl does) or DataComp's own metadata
 * columns (clip_l14_similarity_score, …) beside clipsift's scores.
 *
 * The first table sets the rows and their order; every other table contributes its columns, matched
 * row by row through its uids. A strict table must hold exactly the first table's uids: a uid present
 * in one and missing in the other is an error naming both tables, the uid and how many more there are.
 * A lenient table (metadata: the whole pool, while score files may have dropped invalid rows) only
 * has to cover the first table's uids; its other rows are ignored.
 */
import { compareUids, formatUid, uidCount, uidOrder } from '../io/uid.js';
import type { ScoreValues } from './steps.js';
import type { SelectTable } from './table.js';

/** A table to join, with the name errors use (a directory or file). */
export interface JoinInput {
  name: string;
  table: SelectTable;
  /** Rows of this table whose uid the first table lacks are ignored instead of refused. */
  lenient?: boolean;
}

/**
 * The tables' columns side by side, rows in the first table's order.
 * @throws {Error} when a column is in two tables, a uid repeats within a joined table, or uids differ
 */
export function joinByUid(inputs: readonly JoinInput[]): SelectTable {
  const [first, ...rest] = inputs;
  if (!first) throw new Error('nothing to join');
  const rows = uidCount(first.table.uids);
  const columns: Record<string, ScoreValues> = { ...first.table.columns };
  const owner = new Map(Object.keys(columns).map((c) => [c, first.name]));
  for (const input of rest) {
    const { uids } = input.table;
    const count = uidCount(uids);
    const order = uidOrder(uids);
    for (let k = 1; k < count; k++) {
      if (compareUids(uids, order[k - 1]!, uids, order[k]!) === 0)
        throw new Error(
          `${input.name}: uid ${formatUid(uids, order[k]!)} appears more than once, so it cannot be joined by uid`,
        );
    }
    // For each row of the first table, its row in this one.
    const match = new Uint32Array(rows);
    const used = new Uint8Array(count);
    let missing = 0;
    let firstMissing = -1;
    for (let row = 0; row < rows; row++) {
      let lo = 0;
      let hi = count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareUids(uids, order[mid]!, first.table.uids, row) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (lo < count && compareUids(uids, order[lo]!, first.table.uids, row) === 0) {
        match[row] = order[lo]!;
        used[order[lo]!] = 1;
      } else {
        missing++;
        if (firstMissing < 0) firstMissing = row;
      }
    }
    if (missing > 0)
      throw new Error(
        `uid ${formatUid(first.table.uids, firstMissing)} is in ${first.name} but not in ${input.name}` +
          `${missing > 1 ? ` (${missing} uids in all)` : ''}; joined inputs must score the same rows`,
      );
    if (!input.lenient) {
      const extra = used.indexOf(0);
      if (extra >= 0) {
        const all = used.reduce((n, u) => n + (u ? 0 : 1), 0);
        throw new Error(
          `uid ${formatUid(uids, extra)} is in ${input.name} but not in ${first.name}` +
            `${all > 1 ? ` (${all} uids in all)` : ''}; joined inputs must score the same rows`,
        );
      }
    }
    for (const [name, values] of Object.entries(input.table.columns)) {
      if (owner.has(name))
        throw new Error(
          `column ${name} is in both ${owner.get(name)} and ${input.name}; join inputs with different columns`,
        );
      const out = values instanceof Float64Array ? new Float64Array(rows) : new Float32Array(rows);
      for (let row = 0; row < rows; row++) out[row] = values[match[row]!]!;
      columns[name] = out;
      owner.set(name, input.name);
    }
  }
  return { uids: first.table.uids, columns };
}
