/**
 * `clipsift run`'s cut: which rows of each shard survive the cheap steps (those on negCLIPLoss and
 * CLIPScore), described compactly enough to travel in a queue job, and exactly.
 *
 * A step keeps, of the rows it is given, some set K. Whatever the step (top with floor or DataComp
 * rounding, min), K is "every row scoring above t, and some of the rows scoring exactly t", t being
 * the lowest score kept. So a cut records, per step, t and which tied rows were kept (by uid, within
 * their shard; or "all of them"). A row survives the steps iff it passes every step's cut in order;
 * thresholdCuts checks that on the whole pool before any cut is handed out, so a cut can never select
 * other rows than select's own steps did.
 */
import { formatUid, UID_WORDS, uidCount } from '../io/uid.js';
import type { ScoreValues } from '../select/steps.js';

/** One step's cut within one shard. */
export interface StepCut {
  column: string;
  /** The lowest score the step kept; null when it kept nothing. */
  threshold: number | null;
  /** Which rows scoring exactly `threshold` passed: all, or the uids listed (kept or dropped, the shorter). */
  tied: { all: true } | { keep: string[] } | { drop: string[] };
}

/** The rows of a table the steps were run over, split by shard (the table is the shards' rows in order). */
export interface ShardSpans {
  names: readonly string[];
  /** Row count of each shard's score file, in table order. */
  rows: readonly number[];
}

/**
 * From the rows before and after each step, every shard's cuts. `stages[k]` is the rows (ascending)
 * step k was given; `stages[k + 1]` what it kept. Throws when the cuts, applied to the whole pool,
 * would keep other rows than the steps did (never expected: it guards the exactness claim).
 */
export function thresholdCuts(
  uids: Uint32Array,
  columns: readonly { name: string; values: ScoreValues }[],
  stages: readonly Uint32Array[],
  spans: ShardSpans,
): Map<string, StepCut[]> {
  const starts: number[] = [];
  let at = 0;
  for (const count of spans.rows) {
    starts.push(at);
    at += count;
  }
  if (at !== uidCount(uids)) throw new Error(`the shards hold ${at} rows but the table has ${uidCount(uids)}`);
  const shardOf = (row: number) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const cuts = new Map<string, StepCut[]>(spans.names.map((name) => [name, []]));
  columns.forEach(({ name, values }, k) => {
    const before = stages[k]!;
    const after = stages[k + 1]!;
    let threshold: number | null = null;
    for (const row of after) if (threshold === null || values[row]! < threshold) threshold = values[row]!;
    const keep = spans.names.map(() => [] as string[]);
    const drop = spans.names.map(() => [] as string[]);
    if (threshold !== null) {
      const kept = new Set(after);
      for (const row of before) {
        if (values[row] !== threshold) continue;
        (kept.has(row) ? keep : drop)[shardOf(row)]!.push(formatUid(uids, row));
      }
    }
    spans.names.forEach((shard, s) => {
      const tied: StepCut['tied'] =
        drop[s]!.length === 0
          ? { all: true }
          : keep[s]!.length <= drop[s]!.length
            ? { keep: keep[s]! }
            : { drop: drop[s]! };
      cuts.get(shard)!.push({ column: name, threshold, tied });
    });
  });
  // The cuts must keep exactly the rows the steps kept.
  const survivors = stages[stages.length - 1]!;
  let next = 0;
  spans.names.forEach((shard, s) => {
    const start = starts[s]!;
    const count = spans.rows[s]!;
    const local: Record<string, ScoreValues> = {};
    for (const { name, values } of columns) local[name] = values.subarray(start, start + count) as ScoreValues;
    const rows = survivingRows(uids.subarray(start * UID_WORDS, (start + count) * UID_WORDS), local, cuts.get(shard)!);
    // Survivors are ascending, so each shard's are the next run of them.
    const expected = survivors.subarray(next, next + rows.length);
    next += rows.length;
    if (expected.length !== rows.length || rows.some((row, k) => row + start !== expected[k]))
      throw new Error(`internal error: the cut of shard ${shard} does not reproduce the selection`);
  });
  if (next !== survivors.length) throw new Error('internal error: the cuts keep fewer rows than the selection');
  return cuts;
}

/**
 * The rows (ascending) of one shard's score file that pass every cut, given its uids and the cut
 * columns. Scores are compared as stored (float32), exactly as the steps compared them.
 */
export function survivingRows(
  uids: Uint32Array,
  columns: Readonly<Record<string, ScoreValues>>,
  cuts: readonly StepCut[],
): Uint32Array {
  const tests = cuts.map((cut) => {
    const values = columns[cut.column];
    if (!values) throw new Error(`the cut needs score column ${cut.column}`);
    const listed = 'keep' in cut.tied ? new Set(cut.tied.keep) : 'drop' in cut.tied ? new Set(cut.tied.drop) : null;
    const keepListed = 'keep' in cut.tied;
    return { values, threshold: cut.threshold, listed, keepListed };
  });
  const out: number[] = [];
  for (let row = 0; row < uidCount(uids); row++) {
    let pass = true;
    for (const { values, threshold, listed, keepListed } of tests) {
      const score = values[row]!;
      if (threshold === null || score < threshold || Number.isNaN(score)) pass = false;
      else if (score === threshold && listed) pass = listed.has(formatUid(uids, row)) === keepListed;
      if (!pass) break;
    }
    if (pass) out.push(row);
  }
  return Uint32Array.from(out);
}
