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
import { compareUids, formatUid, sortUids, UID_WORDS, uidCount, uidOrder } from '../io/uid.js';
import { parseDecimalRatio } from './fraction.js';
import { type SelectionStep, type SelectionSummary, type StepOutcome, topCount } from './steps.js';

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

/** A top step once its threshold and tie-break are known; min steps need no pass to decide. */
type Decided =
  | { kind: 'min'; column: string; value: number }
  | { kind: 'top'; column: string; keep: 'none' | 'all' }
  | { kind: 'top'; column: string; keep: 'cut'; threshold: number; ties: 'all' | Float64Array };

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

function passes(step: Decided, row: number, score: number): boolean {
  if (step.kind === 'min') return score >= step.value;
  if (step.keep !== 'cut') return step.keep === 'all';
  if (score > step.threshold) return true;
  if (score !== step.threshold) return false; // −0 and +0 are one value here, as in the in-memory `===`.
  return step.ties === 'all' || hasRow(step.ties, row);
}

function hasRow(sorted: Float64Array, row: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < row) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo] === row;
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

function inSorted(sorted: Uint32Array, uids: Uint32Array, row: number): boolean {
  let lo = 0;
  let hi = uidCount(sorted);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUids(sorted, mid, uids, row) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < uidCount(sorted) && compareUids(sorted, lo, uids, row) === 0;
}

/**
 * Runs `steps` over the pool the passes deliver, exactly as selectFromTable does over the whole table:
 * the same kept rows, counts after each step and thresholds, ties at a threshold kept by ascending uid
 * (then row), the same errors for unknown columns, bad fractions and NaN scores. Memory: the kept uids
 * (16 bytes a row, in runs) plus, per top step, the rows tied at its threshold that it keeps.
 */
export async function streamSelect(
  pool: ScorePasses,
  steps: readonly SelectionStep[],
  options: StreamSelectOptions = {},
): Promise<StreamSelection> {
  const columns = [...new Set(steps.map((s) => s.column))];
  for (const step of steps) {
    if (step.kind === 'top' && !(step.fraction >= 0 && step.fraction <= 1))
      throw new Error(`top ${step.column}: fraction must be in [0, 1], got ${step.fraction}`);
    if (step.kind === 'top' && step.decimal !== undefined) {
      const ratio = parseDecimalRatio(step.decimal);
      if (!ratio || ratio.numerator > ratio.denominator)
        throw new Error(
          `top ${step.column}: fraction must be in [0, 1] (or 0%–100%), written in decimal, got '${step.decimal}'`,
        );
    }
    if (step.kind === 'min' && Number.isNaN(step.value)) throw new Error(`min ${step.column}: value is NaN`);
  }
  let passCount = 0;
  /** Thresholds by step index, for top steps that kept something. */
  const outcomeThresholds = new Map<number, number>();
  const given = options.givenUids ? sortUids(options.givenUids, { unique: true }) : undefined;
  const inPool = given ? new RowBitmap() : undefined;
  const decided: Decided[] = [];
  let mask = new Uint8Array(0);

  /** mask[i] = 1 when row start+i is in the pool and passes every decided step. */
  const survivors = (block: ScoreBlock): Uint8Array => {
    if (mask.length < block.rows) mask = new Uint8Array(block.rows);
    for (let i = 0; i < block.rows; i++) mask[i] = !inPool || inPool.has(block.start + i) ? 1 : 0;
    for (const step of decided) {
      const scores = block.columns[step.column]!;
      for (let i = 0; i < block.rows; i++) if (mask[i] && !passes(step, block.start + i, scores[i]!)) mask[i] = 0;
    }
    return mask;
  };
  const run = async (
    what: string,
    withUids: boolean,
    visit: (block: ScoreBlock, mask: Uint8Array) => void,
    masked = true,
    afterBlock?: () => Promise<void>,
  ) => {
    for await (const block of pool(columns, withUids)) {
      for (const column of columns) {
        if (!(column in block.columns)) {
          const known = Object.keys(block.columns).join(', ') || 'none';
          throw new Error(`unknown score column "${column}" (columns: ${known})`);
        }
      }
      visit(block, masked ? survivors(block) : mask);
      await afterBlock?.();
    }
    options.onPass?.(++passCount, what);
  };

  // Pass 0: the pool (given uids), its size N, and NaN scores in any column a step uses.
  let poolSize = 0;
  const nanRows = new Map(columns.map((c) => [c, { count: 0, rows: [] as number[] }]));
  await run(
    'pool',
    given !== undefined,
    (block) => {
      for (let i = 0; i < block.rows; i++) {
        if (given && inSorted(given, block.uids!, i)) inPool!.set(block.start + i);
      }
      for (let i = 0; i < block.rows; i++) {
        if (inPool && !inPool.has(block.start + i)) continue;
        poolSize++;
      }
      for (const column of columns) {
        const scores = block.columns[column]!;
        const nan = nanRows.get(column)!;
        for (let i = 0; i < block.rows; i++) {
          if (Number.isNaN(scores[i]!) && (!inPool || inPool.has(block.start + i))) {
            if (nan.rows.length < 5) nan.rows.push(block.start + i);
            nan.count++;
          }
        }
      }
    },
    false,
  );
  for (const [column, nan] of nanRows) {
    if (nan.count === 0) continue;
    const names = await describeRows(pool, nan.rows);
    throw new Error(
      `column ${column} is NaN in ${nan.count} row${nan.count === 1 ? '' : 's'}: ${names.join(', ')}${nan.count > nan.rows.length ? ', …' : ''}`,
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
    // Histogram of the high 16 key bits of the surviving scores; its total is the survivor count.
    const high = new Float64Array(0x10000);
    await run(`top ${step.column}: coarse histogram`, false, (block, alive) => {
      const bits = new Uint32Array(
        block.columns[step.column]!.buffer,
        block.columns[step.column]!.byteOffset,
        block.rows,
      );
      for (let i = 0; i < block.rows; i++) if (alive[i]) high[floatKey(bits[i]!) >>> 16]!++;
    });
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
    const low = new Float64Array(0x10000);
    await run(`top ${step.column}: fine histogram`, false, (block, alive) => {
      const bits = new Uint32Array(
        block.columns[step.column]!.buffer,
        block.columns[step.column]!.byteOffset,
        block.rows,
      );
      for (let i = 0; i < block.rows; i++) {
        if (!alive[i]) continue;
        const key = floatKey(bits[i]!);
        if (key >>> 16 === coarse.bin) low[key & 0xffff]!++;
      }
    });
    const fine = binOfRank(low, rank, coarse.above);
    const threshold = keyFloat(((coarse.bin << 16) | fine.bin) >>> 0);
    if (datacomp || count >= surviving) {
      // Every survivor at or above the threshold stays (for `floor` that is every survivor, the threshold
      // being the lowest of them, as the in-memory sort reports).
      decided.push({ kind: 'top', column: step.column, keep: 'cut', threshold, ties: 'all' });
      outcomeThresholds.set(decided.length - 1, threshold);
      continue;
    }
    let above = 0;
    let tied = 0;
    await run(`top ${step.column}: ties`, false, (block, alive) => {
      const scores = block.columns[step.column]!;
      for (let i = 0; i < block.rows; i++) {
        if (!alive[i]) continue;
        if (scores[i]! > threshold) above++;
        else if (scores[i] === threshold) tied++;
      }
    });
    const places = count - above;
    if (places === tied) {
      decided.push({ kind: 'top', column: step.column, keep: 'cut', threshold, ties: 'all' });
    } else {
      // More rows share the threshold than places remain: keep the `places` smallest (uid, row).
      const best = new TieKeeper(places);
      await run(`top ${step.column}: tie-break by uid`, true, (block, alive) => {
        const scores = block.columns[step.column]!;
        for (let i = 0; i < block.rows; i++)
          if (alive[i] && scores[i] === threshold) best.add(block.uids!, i, block.start + i);
      });
      decided.push({ kind: 'top', column: step.column, keep: 'cut', threshold, ties: best.rows() });
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
  const handOver = store
    ? async () => {
        for (const finished of runs.splice(0)) await store.add(finished);
      }
    : undefined;
  let keptRows = 0;
  await run(
    'collect',
    true,
    (block) => {
      // Count step by step (the survivors helper applies them all at once).
      const alive = new Uint8Array(block.rows);
      for (let i = 0; i < block.rows; i++) alive[i] = !inPool || inPool.has(block.start + i) ? 1 : 0;
      decided.forEach((step, j) => {
        const scores = block.columns[step.column]!;
        let n = 0;
        for (let i = 0; i < block.rows; i++) {
          if (alive[i] && !passes(step, block.start + i, scores[i]!)) alive[i] = 0;
          n += alive[i]!;
        }
        keptAfter[j]! += n;
      });
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
    },
    false,
    handOver,
  );
  flush();
  await handOver?.();

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
  if (given) summary.given = { uids: uidCount(given), matchedRows: poolSize };
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
  /** The kept rows, ascending. */
  rows(): Float64Array {
    this.prune();
    return this.rowsOf.slice(0, this.size).sort();
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
  const down = (at: number) => {
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
  };
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
  const down = (at: number) => {
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
  };
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
