/**
 * Exact selection in bounded memory: the same --top/--min steps as steps.ts and table.ts, computed by
 * passes over the pool instead of holding it, so memory follows the kept uids, not the pool.
 *
 * Each `top` step needs only its exact threshold, the k-th largest surviving score. Scores map to
 * order-preserving 32-bit keys (the float32 bit pattern, sign-flipped); one pass builds a histogram of
 * the keys' high 16 bits, a second pass one of the low 16 bits inside the bin holding the k-th value,
 * which pins the value exactly. A third pass counts the rows above and at it; only when the tied rows
 * outnumber the places left does a fourth pass read uids, and it keeps the smallest (uid, row) pairs
 * exactly as the in-memory sort does. A decided step is a predicate on (row, score), so later passes
 * re-derive the survivors without storing them.
 *
 * Rows are numbered across the pool in the order the passes deliver them (the in-memory table's
 * numbering). The caller supplies the passes (io reads the files); everything here is pure over arrays.
 */
import { compareUids, findUid, formatUid, sortUids, UID_WORDS, uidCount, uidOrder } from '../io/uid.js';
import { type SelectionStep, type SelectionSummary, type StepOutcome, topCount, validateStepValues } from './steps.js';

/** One block of consecutive rows of the pool. */
export interface ScoreBlock {
  /** Index of the block's first row in the pool (rows counted across all files, in order). */
  start: number;
  rows: number;
  /** The columns the pass asked for, one value per row. */
  columns: Readonly<Record<string, Float32Array>>;
  /** The rows' uids (UID_WORDS per row), when the pass asked for them. */
  uids?: Uint32Array;
}

/** Starts a fresh pass over the whole pool, block by block in row order, reading only `columns` (and uids if asked). */
export type ScorePasses = (columns: readonly string[], withUids: boolean) => AsyncIterable<ScoreBlock>;

/** Options of streamSelect. */
export interface StreamSelectOptions {
  /** Restrict the pool to rows whose uid is among these first (any order; repeats ignored). */
  givenUids?: Uint32Array;
  /** Uids per sorted run of the result (default 2M, 32 MiB): bounds the memory of sorting the kept uids. */
  runUids?: number;
  /** Called after every pass with its number, for progress displays. */
  onPass?: (pass: number, what: string) => void;
  /**
   * Where the sorted runs go as the last pass makes them (e.g. to disk past a memory budget:
   * src/cli/uid-runs.ts). Without one they stay in memory, in the result's `runs`.
   */
  runStore?: UidRunStore;
  /** Runs the passes before the last elsewhere (e.g. as jobs, one per score file); not with givenUids. */
  runPass?: PassRunner;
}

/** Takes the sorted runs of kept uids as they are made; the caller reads them back for the merge. */
export interface UidRunStore {
  /** A sorted run, unique within itself; the array is the store's from now on. */
  add(run: Uint32Array): void | Promise<void>;
}

/** The result: the kept uids as sorted runs (each sorted, unique within itself) and the summary. */
export interface StreamSelection {
  /** Sorted runs of kept uids (empty when a runStore took them); mergeSortedUids turns them into the sorted unique set. */
  runs: Uint32Array[];
  /** Kept rows (a uid kept in two rows counts twice). */
  keptRows: number;
  summary: SelectionSummary & { given?: { uids: number; matchedRows: number } };
}

/**
 * A step once decided, as plain data: min steps need no pass; a top step keeps nothing, everything, or the
 * rows above its threshold plus the tied rows given (ascending pool rows) or all of them.
 */
export type DecidedStep =
  | { kind: 'min'; column: string; value: number }
  | { kind: 'top'; column: string; keep: 'none' | 'all' }
  | { kind: 'top'; column: string; keep: 'cut'; threshold: number; ties: 'all' | number[] };

/** The survivors a pass looks at: the pool rows passing every decided step. */
interface Survivors {
  columns: string[];
  decided: DecidedStep[];
}

/**
 * One pass of streamSelect over some rows of the pool (one score file, or the whole pool), as plain data:
 * `pool` counts rows and NaN scores; `coarse` and `fine` histogram the keys of `column`'s surviving scores
 * (fine: only keys whose high 16 bits are `bin`); `ties` counts survivors above and at `threshold`;
 * `tiebreak` keeps the `places` smallest (uid, row) among the survivors at `threshold`.
 */
export type FilePass =
  | { kind: 'pool'; columns: string[] }
  | (Survivors & { kind: 'coarse'; column: string })
  | (Survivors & { kind: 'fine'; column: string; bin: number })
  | (Survivors & { kind: 'ties'; column: string; threshold: number })
  | (Survivors & { kind: 'tiebreak'; column: string; threshold: number; places: number });

/** A pass's result over some rows, as plain data; results of disjoint rows merge (mergePassResults). */
export type FilePassResult =
  | { kind: 'pool'; rows: number; poolRows: number; nan: Record<string, { count: number; rows: number[] }> }
  | { kind: 'histogram'; bins: number[]; counts: number[] }
  | { kind: 'ties'; above: number; tied: number }
  | { kind: 'tiebreak'; uids: number[]; rows: number[] };

/** A FilePass as JSON text (non-finite numbers, e.g. an infinite threshold, survive the round trip). */
export function encodePass(pass: FilePass): string {
  return JSON.stringify(pass, (_, value) =>
    typeof value === 'number' && !Number.isFinite(value) ? { number: String(value) } : value,
  );
}

/** The FilePass of encodePass's text. */
export function decodePass(text: string): FilePass {
  return JSON.parse(text, (_, value) =>
    value !== null && typeof value === 'object' && typeof value.number === 'string' && Object.keys(value).length === 1
      ? Number(value.number)
      : value,
  ) as FilePass;
}

/** The order-preserving key of a float32 bit pattern: keys compare as the floats do (−0 below +0, NaN aside). */
export function floatKey(bits: number): number {
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/** The float32 whose key is `key`. */
export function keyFloat(key: number): number {
  const bits = key & 0x80000000 ? (key & 0x7fffffff) >>> 0 : ~key >>> 0;
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}

/**
 * In a histogram of `counts` (bins ascending), the bin holding the element of descending rank `rank`
 * (1 = the largest) among `before` elements already known to lie above every bin.
 */
export function binOfRank(counts: Float64Array, rank: number, before = 0): { bin: number; above: number } {
  let cumulative = before;
  for (let bin = counts.length - 1; bin >= 0; bin--) {
    const next = cumulative + counts[bin]!;
    if (next >= rank) return { bin, above: cumulative };
    cumulative = next;
  }
  throw new RangeError(`rank ${rank} exceeds the ${cumulative} counted values`);
}

function passes(step: DecidedStep, row: number, score: number): boolean {
  if (step.kind === 'min') return score >= step.value;
  if (step.keep !== 'cut') return step.keep === 'all';
  if (score > step.threshold) return true;
  if (score !== step.threshold) return false; // −0 and +0 are one value here, as in the in-memory `===`.
  return step.ties === 'all' || hasRow(step.ties, row);
}

function hasRow(sorted: readonly number[], row: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < row) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === row;
}

/**
 * The survivors of a block: a mask, 1 for the rows in the pool that pass every decided step. With
 * `keptAfter`, keptAfter[j] also gains the block's rows alive after step j. The mask is reused from block
 * to block (read its first block.rows entries).
 */
function survivorMask(
  decided: readonly DecidedStep[],
  inPool: (row: number) => boolean,
): (block: ScoreBlock, keptAfter?: number[]) => Uint8Array {
  let mask = new Uint8Array(0);
  return (block, keptAfter) => {
    if (mask.length < block.rows) mask = new Uint8Array(block.rows);
    for (let i = 0; i < block.rows; i++) mask[i] = inPool(block.start + i) ? 1 : 0;
    decided.forEach((step, j) => {
      const scores = block.columns[step.column]!;
      let alive = 0;
      for (let i = 0; i < block.rows; i++) {
        if (mask[i] && !passes(step, block.start + i, scores[i]!)) mask[i] = 0;
        alive += mask[i]!;
      }
      if (keptAfter) keptAfter[j]! += alive;
    });
    return mask;
  };
}

/** @throws {Error} for a step column the block lacks, naming the columns it has */
function checkColumns(block: ScoreBlock, columns: readonly string[]): void {
  for (const column of columns) {
    if (!(column in block.columns)) {
      const known = Object.keys(block.columns).join(', ') || 'none';
      throw new Error(`unknown score column "${column}" (columns: ${known})`);
    }
  }
}

/** Sorted-unique set membership of a block's uids, as a bitmap over pool rows built in pass 0. */
class RowBitmap {
  private words = new Uint32Array(1024);
  set(row: number): void {
    const word = Math.floor(row / 32);
    if (word >= this.words.length) {
      const grown = new Uint32Array(Math.max(word + 1, this.words.length * 2));
      grown.set(this.words);
      this.words = grown;
    }
    this.words[word]! |= 1 << (row & 31);
  }
  has(row: number): boolean {
    const word = Math.floor(row / 32);
    return word < this.words.length && (this.words[word]! & (1 << (row & 31))) !== 0;
  }
}

/** Which pool rows are in: the rows whose uid is among the given uids, marked by the pool pass. */
class GivenRows {
  readonly bitmap = new RowBitmap();
  constructor(readonly given: Uint32Array) {}
  mark(block: ScoreBlock): void {
    for (let i = 0; i < block.rows; i++) if (findUid(this.given, block.uids!, i) >= 0) this.bitmap.set(block.start + i);
  }
  has(row: number): boolean {
    return this.bitmap.has(row);
  }
}

/**
 * Runs one pass over the rows `read` delivers (one score file with its pool row numbers, or the whole
 * pool) and returns its result as plain data: the one function behind both the local select and the
 * jobs of `select --queue`. `given` (local only) restricts the pool to rows whose uid was given.
 * @throws {Error} for a step column the rows lack
 */
export async function runFilePass(
  pass: FilePass,
  read: ScorePasses,
  given?: { mark(block: ScoreBlock): void; has(row: number): boolean },
): Promise<FilePassResult> {
  const inPool = (row: number) => !given || given.has(row);
  const survivors = survivorMask(pass.kind === 'pool' ? [] : pass.decided, inPool);
  const keysOf = (block: ScoreBlock, column: string) =>
    new Uint32Array(block.columns[column]!.buffer, block.columns[column]!.byteOffset, block.rows);
  const histogram = pass.kind === 'coarse' || pass.kind === 'fine' ? new Float64Array(0x10000) : undefined;
  const nan = Object.fromEntries(pass.columns.map((c) => [c, { count: 0, rows: [] as number[] }]));
  let rows = 0;
  let poolRows = 0;
  let above = 0;
  let tied = 0;
  const best = pass.kind === 'tiebreak' ? new TieKeeper(pass.places) : undefined;
  const withUids = pass.kind === 'tiebreak' || (pass.kind === 'pool' && given !== undefined);
  for await (const block of read(pass.columns, withUids)) {
    checkColumns(block, pass.columns);
    rows += block.rows;
    if (pass.kind === 'pool') {
      if (given) given.mark(block);
      for (let i = 0; i < block.rows; i++) if (inPool(block.start + i)) poolRows++;
      for (const column of pass.columns) {
        const scores = block.columns[column]!;
        const found = nan[column]!;
        for (let i = 0; i < block.rows; i++) {
          if (Number.isNaN(scores[i]!) && inPool(block.start + i)) {
            if (found.rows.length < 5) found.rows.push(block.start + i);
            found.count++;
          }
        }
      }
      continue;
    }
    const alive = survivors(block);
    if (pass.kind === 'coarse') {
      const keys = keysOf(block, pass.column);
      for (let i = 0; i < block.rows; i++) if (alive[i]) histogram![floatKey(keys[i]!) >>> 16]!++;
    } else if (pass.kind === 'fine') {
      const keys = keysOf(block, pass.column);
      for (let i = 0; i < block.rows; i++) {
        if (!alive[i]) continue;
        const key = floatKey(keys[i]!);
        if (key >>> 16 === pass.bin) histogram![key & 0xffff]!++;
      }
    } else if (pass.kind === 'ties') {
      const scores = block.columns[pass.column]!;
      for (let i = 0; i < block.rows; i++) {
        if (!alive[i]) continue;
        if (scores[i]! > pass.threshold) above++;
        else if (scores[i] === pass.threshold) tied++;
      }
    } else {
      const scores = block.columns[pass.column]!;
      for (let i = 0; i < block.rows; i++)
        if (alive[i] && scores[i] === pass.threshold) best!.add(block.uids!, i, block.start + i);
    }
  }
  if (pass.kind === 'pool') return { kind: 'pool', rows, poolRows, nan };
  if (histogram) {
    const bins: number[] = [];
    const counts: number[] = [];
    histogram.forEach((count, bin) => {
      if (count > 0) {
        bins.push(bin);
        counts.push(count);
      }
    });
    return { kind: 'histogram', bins, counts };
  }
  if (pass.kind === 'ties') return { kind: 'ties', above, tied };
  return { kind: 'tiebreak', ...best!.entries() };
}

function expect<K extends FilePassResult['kind']>(
  results: readonly FilePassResult[],
  kind: K,
): Extract<FilePassResult, { kind: K }>[] {
  for (const result of results)
    if (result.kind !== kind) throw new Error(`a pass returned a ${result.kind} result where ${kind} was due`);
  return results as Extract<FilePassResult, { kind: K }>[];
}

/** Runs a pass over every part of the pool and returns the parts' results, in row order. */
export type PassRunner = (pass: FilePass) => Promise<FilePassResult[]>;

/**
 * Runs `steps` over the pool the passes deliver, exactly as selectFromTable does over the whole table:
 * the same kept rows, counts after each step and thresholds, ties at a threshold kept by ascending uid
 * (then row), the same errors for unknown columns, bad fractions and NaN scores. Memory: the kept uids
 * (16 bytes a row, in runs) plus, per top step, the rows tied at its threshold that it keeps.
 *
 * Every pass but the last is a FilePass; `options.runPass` may run them elsewhere (one job per score
 * file: src/cluster/select-passes.ts), else they run here over `pool`. The last pass, which collects
 * the kept uids, always reads `pool` here.
 */
export async function streamSelect(
  pool: ScorePasses,
  steps: readonly SelectionStep[],
  options: StreamSelectOptions = {},
): Promise<StreamSelection> {
  const columns = [...new Set(steps.map((s) => s.column))];
  for (const step of steps) validateStepValues(step);
  const given = options.givenUids ? new GivenRows(sortUids(options.givenUids, { unique: true })) : undefined;
  if (given && options.runPass) throw new Error('given uids restrict the pool only when the passes run here');
  let passCount = 0;
  const runPass = async (pass: FilePass, what: string) => {
    const results = options.runPass ? await options.runPass(pass) : [await runFilePass(pass, pool, given)];
    options.onPass?.(++passCount, what);
    return results;
  };
  /** Thresholds by step index, for top steps that kept something. */
  const outcomeThresholds = new Map<number, number>();
  const decided: DecidedStep[] = [];
  const summed = (results: FilePassResult[]) => {
    const histogram = new Float64Array(0x10000);
    for (const part of expect(results, 'histogram'))
      part.bins.forEach((bin, k) => {
        histogram[bin]! += part.counts[k]!;
      });
    return histogram;
  };

  // Pass 0: the pool (given uids), its size N, and NaN scores in any column a step uses.
  const pool0 = expect(await runPass({ kind: 'pool', columns }, 'pool'), 'pool');
  const poolSize = pool0.reduce((n, part) => n + part.poolRows, 0);
  for (const column of columns) {
    const count = pool0.reduce((n, part) => n + part.nan[column]!.count, 0);
    if (count === 0) continue;
    const rows = pool0.flatMap((part) => part.nan[column]!.rows).slice(0, 5);
    const names = await describeRows(pool, rows);
    throw new Error(
      `column ${column} is NaN in ${count} row${count === 1 ? '' : 's'}: ${names.join(', ')}${count > rows.length ? ', …' : ''}`,
    );
  }

  for (const step of steps) {
    if (step.kind === 'min') {
      decided.push({ kind: 'min', column: step.column, value: step.value });
      continue;
    }
    const datacomp = step.rounding === 'datacomp';
    // ⌊N·f⌋ exactly from the decimal written, as the in-memory select (steps.ts topCount).
    const count = datacomp ? 0 : topCount(poolSize, step);
    const survivors = { columns, decided: decided.slice(), column: step.column };
    // Histogram of the high 16 key bits of the surviving scores; its total is the survivor count.
    const high = summed(await runPass({ kind: 'coarse', ...survivors }, `top ${step.column}: coarse histogram`));
    const surviving = high.reduce((a, b) => a + b, 0);
    if (surviving === 0 || (!datacomp && count <= 0)) {
      decided.push({ kind: 'top', column: step.column, keep: 'none' });
      continue;
    }
    // DataComp's rule (steps.ts keepTopDataComp): the value at descending index int(N·f) of the survivors
    // (N·f a float64 product; the last survivor when f is 1 or the index falls past them), every row ≥ it kept.
    const rank = datacomp
      ? Math.min(step.fraction === 1 ? surviving - 1 : Math.trunc(poolSize * step.fraction), surviving - 1) + 1
      : Math.min(count, surviving);
    const coarse = binOfRank(high, rank);
    const low = summed(
      await runPass({ kind: 'fine', ...survivors, bin: coarse.bin }, `top ${step.column}: fine histogram`),
    );
    const fine = binOfRank(low, rank, coarse.above);
    const threshold = keyFloat(((coarse.bin << 16) | fine.bin) >>> 0);
    if (datacomp || count >= surviving) {
      // Every survivor at or above the threshold stays (for `floor` that is every survivor, the threshold
      // being the lowest of them, as the in-memory sort reports).
      decided.push({ kind: 'top', column: step.column, keep: 'cut', threshold, ties: 'all' });
      outcomeThresholds.set(decided.length - 1, threshold);
      continue;
    }
    const counted = expect(
      await runPass({ kind: 'ties', ...survivors, threshold }, `top ${step.column}: ties`),
      'ties',
    );
    const above = counted.reduce((n, part) => n + part.above, 0);
    const tied = counted.reduce((n, part) => n + part.tied, 0);
    const places = count - above;
    if (places === tied) {
      decided.push({ kind: 'top', column: step.column, keep: 'cut', threshold, ties: 'all' });
    } else {
      // More rows share the threshold than places remain: keep the `places` smallest (uid, row), each
      // part's smallest merged in row order.
      const parts = expect(
        await runPass({ kind: 'tiebreak', ...survivors, threshold, places }, `top ${step.column}: tie-break by uid`),
        'tiebreak',
      );
      const best = new TieKeeper(places);
      for (const part of parts) {
        const uids = Uint32Array.from(part.uids);
        part.rows.forEach((row, k) => {
          best.add(uids, k, row);
        });
      }
      decided.push({ kind: 'top', column: step.column, keep: 'cut', threshold, ties: best.entries().rows });
    }
    outcomeThresholds.set(decided.length - 1, threshold);
  }

  // Final pass: count the survivors of every step, and collect the uids of the rows that pass them all.
  const keptAfter = new Array<number>(decided.length).fill(0);
  const runs: Uint32Array[] = [];
  const runUids = Math.max(1, options.runUids ?? 512 * 1024);
  let buffer = new Uint32Array(Math.min(runUids, 65536) * UID_WORDS);
  let buffered = 0;
  const flush = () => {
    if (buffered > 0) runs.push(sortUids(buffer.subarray(0, buffered * UID_WORDS), { unique: true }));
    buffered = 0;
  };
  // With a store, finished runs leave memory after every block.
  const store = options.runStore;
  let keptRows = 0;
  const survivorsOf = survivorMask(decided, (row) => !given || given.has(row));
  for await (const block of pool(columns, true)) {
    checkColumns(block, columns);
    // Count step by step.
    const alive = survivorsOf(block, keptAfter);
    const uids = block.uids!;
    for (let i = 0; i < block.rows; i++) {
      if (!alive[i]) continue;
      if (buffered * UID_WORDS === buffer.length) {
        if (buffered >= runUids) flush();
        else {
          const grown = new Uint32Array(Math.min(runUids, buffered * 2) * UID_WORDS);
          grown.set(buffer);
          buffer = grown;
        }
      }
      buffer.set(uids.subarray(i * UID_WORDS, (i + 1) * UID_WORDS), buffered * UID_WORDS);
      buffered++;
      keptRows++;
    }
    if (store) for (const finished of runs.splice(0)) await store.add(finished);
  }
  options.onPass?.(++passCount, 'collect');
  flush();
  if (store) for (const finished of runs.splice(0)) await store.add(finished);

  const outcomes: StepOutcome[] = steps.map((step, j) => ({
    step,
    kept: keptAfter[j]!,
    threshold: step.kind === 'min' ? step.value : (outcomeThresholds.get(j) ?? null),
  }));
  const summary: StreamSelection['summary'] = {
    poolSize,
    steps: outcomes,
    kept: keptRows,
  };
  if (given) summary.given = { uids: uidCount(given.given), matchedRows: poolSize };
  return { runs, keptRows, summary };
}

/** `uid i` descriptions of pool rows, by one more pass that reads uids (error paths only). */
async function describeRows(pool: ScorePasses, rows: number[]): Promise<string[]> {
  const names = new Map<number, string>();
  for await (const block of pool([], true)) {
    for (const row of rows) {
      if (row >= block.start && row < block.start + block.rows)
        names.set(row, `uid ${formatUid(block.uids!, row - block.start)}`);
    }
    if (names.size === rows.length) break;
  }
  return rows.map((row) => names.get(row) ?? `row ${row}`);
}

/** The `places` smallest (uid, row) pairs seen, kept in bounded memory by periodic sort-and-truncate. */
class TieKeeper {
  private uids: Uint32Array;
  private rowsOf: Float64Array;
  private size = 0;
  constructor(private readonly places: number) {
    const capacity = Math.max(2 * places, 1024);
    this.uids = new Uint32Array(capacity * UID_WORDS);
    this.rowsOf = new Float64Array(capacity);
  }
  add(uids: Uint32Array, index: number, row: number): void {
    if (this.size === this.rowsOf.length) this.prune();
    this.uids.set(uids.subarray(index * UID_WORDS, (index + 1) * UID_WORDS), this.size * UID_WORDS);
    this.rowsOf[this.size++] = row;
  }
  /** Sort by uid (stable: rows arrive ascending, so equal uids stay in row order) and keep the first `places`. */
  private prune(): void {
    const view = this.uids.subarray(0, this.size * UID_WORDS);
    const order = uidOrder(view);
    const keep = Math.min(this.places, this.size);
    const uids = new Uint32Array(this.uids.length);
    const rows = new Float64Array(this.rowsOf.length);
    for (let k = 0; k < keep; k++) {
      const i = order[k]!;
      uids.set(view.subarray(i * UID_WORDS, (i + 1) * UID_WORDS), k * UID_WORDS);
      rows[k] = this.rowsOf[i]!;
    }
    this.uids = uids;
    this.rowsOf = rows;
    this.size = keep;
  }
  /** The kept pairs, by ascending row (uids as UID_WORDS numbers a row), as plain data. */
  entries(): { uids: number[]; rows: number[] } {
    this.prune();
    const order = Array.from({ length: this.size }, (_, k) => k).sort((a, b) => this.rowsOf[a]! - this.rowsOf[b]!);
    const uids: number[] = [];
    for (const k of order) for (let w = 0; w < UID_WORDS; w++) uids.push(this.uids[k * UID_WORDS + w]!);
    return { uids, rows: order.map((k) => this.rowsOf[k]!) };
  }
}

/** Restores min-heap order below `at` in an array heap (children of i at 2i + 1 and 2i + 2). */
function siftDown<T>(heap: T[], at: number, less: (a: T, b: T) => boolean): void {
  for (;;) {
    const l = 2 * at + 1;
    const r = l + 1;
    let m = at;
    if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
    if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
    if (m === at) return;
    [heap[at], heap[m]] = [heap[m]!, heap[at]!];
    at = m;
  }
}

/**
 * Merge sorted runs of uids into one ascending sequence without repeats, yielded in chunks of at most
 * `chunkUids` uids; the runs are only read.
 */
export function* mergeSortedUids(runs: readonly Uint32Array[], chunkUids = 65536): Generator<Uint32Array> {
  let last: Uint32Array | undefined;
  const lastEquals = (run: Uint32Array, at: number) => last !== undefined && compareUids(last, 0, run, at) === 0;
  const heads = runs.map(() => 0);
  const live = runs.map((_, r) => r).filter((r) => runs[r]!.length > 0);
  // A binary heap of run indices ordered by their head uid (ties: lower run first, irrelevant for unique output).
  const less = (a: number, b: number) => {
    const c = compareUids(runs[a]!, heads[a]!, runs[b]!, heads[b]!);
    return c < 0 || (c === 0 && a < b);
  };
  const heap = live.slice();
  const down = (at: number) => siftDown(heap, at, less);
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  let out = new Uint32Array(chunkUids * UID_WORDS);
  let n = 0;
  while (heap.length > 0) {
    const r = heap[0]!;
    const run = runs[r]!;
    const at = heads[r]!;
    if (n === 0 ? !lastEquals(run, at) : compareUids(out, n - 1, run, at) !== 0) {
      out.set(run.subarray(at * UID_WORDS, (at + 1) * UID_WORDS), n * UID_WORDS);
      n++;
      if (n === chunkUids) {
        last = out.slice((n - 1) * UID_WORDS, n * UID_WORDS);
        yield out;
        out = new Uint32Array(chunkUids * UID_WORDS);
        n = 0;
      }
    }
    heads[r] = at + 1;
    if (heads[r]! >= uidCount(run)) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length > 0) down(0);
  }
  if (n > 0) yield out.subarray(0, n * UID_WORDS);
}

/**
 * mergeSortedUids over runs that arrive in chunks (a run read back from disk piece by piece): each run
 * is a sequence of chunks, sorted across them and unique within the run. Yields the ascending union
 * without repeats in chunks of at most `chunkUids` uids; only one chunk per run is held at a time.
 */
export async function* mergeUidRunChunks(
  runs: readonly (Iterable<Uint32Array> | AsyncIterable<Uint32Array>)[],
  chunkUids = 65536,
): AsyncGenerator<Uint32Array> {
  type Cursor = { chunk: Uint32Array; at: number; rest: AsyncIterator<Uint32Array> | Iterator<Uint32Array> };
  const open = async (run: Iterable<Uint32Array> | AsyncIterable<Uint32Array>): Promise<Cursor | undefined> => {
    const rest =
      Symbol.asyncIterator in run
        ? (run as AsyncIterable<Uint32Array>)[Symbol.asyncIterator]()
        : (run as Iterable<Uint32Array>)[Symbol.iterator]();
    const cursor: Cursor = { chunk: new Uint32Array(0), at: 0, rest };
    return (await refill(cursor)) ? cursor : undefined;
  };
  /** Moves to the next non-empty chunk; false when the run is over. */
  const refill = async (cursor: Cursor): Promise<boolean> => {
    for (;;) {
      const next = await cursor.rest.next();
      if (next.done) return false;
      if (next.value.length > 0) {
        cursor.chunk = next.value;
        cursor.at = 0;
        return true;
      }
    }
  };
  const heap: Cursor[] = [];
  for (const run of runs) {
    const cursor = await open(run);
    if (cursor) heap.push(cursor);
  }
  const less = (a: Cursor, b: Cursor) => compareUids(a.chunk, a.at, b.chunk, b.at) < 0;
  const down = (at: number) => siftDown(heap, at, less);
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  let out = new Uint32Array(chunkUids * UID_WORDS);
  let n = 0;
  let last: Uint32Array | undefined;
  while (heap.length > 0) {
    const top = heap[0]!;
    const repeat =
      n > 0
        ? compareUids(out, n - 1, top.chunk, top.at) === 0
        : last !== undefined && compareUids(last, 0, top.chunk, top.at) === 0;
    if (!repeat) {
      out.set(top.chunk.subarray(top.at * UID_WORDS, (top.at + 1) * UID_WORDS), n * UID_WORDS);
      if (++n === chunkUids) {
        last = out.slice((n - 1) * UID_WORDS, n * UID_WORDS);
        yield out;
        out = new Uint32Array(chunkUids * UID_WORDS);
        n = 0;
      }
    }
    top.at++;
    if (top.at >= uidCount(top.chunk) && !(await refill(top))) {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length > 0) down(0);
  }
  if (n > 0) yield out.subarray(0, n * UID_WORDS);
}
