/**
 * DataComp uids: 32 hex characters naming a 128-bit number, split by
 * DataComp into two u64 halves (int(uid[:16], 16), int(uid[16:], 16)).
 *
 * We keep uids as 4 u32 words each, most significant first, in one
 * Uint32Array: compact, no BigInt on the hot path, comparing two uids is at
 * most four number comparisons, and sorting is a linear radix sort.
 */
import { InputError } from './errors.js';

/** Words per uid in a uid array. */
export const UID_WORDS = 4;

/** Value of each ASCII hex digit, -1 for every other character code below 128. */
const HEX_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let c = 0; c < 16; c++) {
    table['0123456789abcdef'.charCodeAt(c)] = c;
    table['0123456789ABCDEF'.charCodeAt(c)] = c;
  }
  return table;
})();

/** Number of uids in a uid array. */
export function uidCount(uids: Uint32Array): number {
  return uids.length / UID_WORDS;
}

function badUid(file: string, row: number, text: unknown): InputError {
  if (text instanceof Uint8Array) {
    // Binary (e.g. a 16-byte FIXED_LEN_BYTE_ARRAY): show the bytes as hex, not as a list of numbers.
    const hex = Array.from(text.subarray(0, 20), (b) => b.toString(16).padStart(2, '0')).join('');
    return new InputError(
      file,
      `uid is ${text.length} bytes of binary (${hex}${text.length > 20 ? '…' : ''}), not 32 hex characters; store uids as strings`,
      { row, field: 'uid' },
    );
  }
  const shown = typeof text === 'string' ? `'${text.length > 40 ? text.slice(0, 40) + '…' : text}'` : String(text);
  return new InputError(file, `uid ${shown} is not 32 hex characters`, { row, field: 'uid' });
}

/**
 * Parse uid strings into a uid array.
 * @param texts one uid per row, e.g. the parquet `uid` column
 * @param file file name for errors
 * @param firstRow the file row of texts[0], for errors (a row group or page past the first)
 * @throws {InputError} naming the file and row of the first value that is not exactly 32 hex characters
 */
export function parseUids(texts: ArrayLike<unknown>, file: string, firstRow = 0): Uint32Array {
  const out = new Uint32Array(texts.length * UID_WORDS);
  for (let row = 0; row < texts.length; row++) {
    const text = texts[row];
    if (typeof text !== 'string' || text.length !== 32) throw badUid(file, firstRow + row, text);
    // Decode by character code: pools hold hundreds of millions of uids, and a
    // regex plus four substrings and parseInt per uid costs several times more.
    for (let w = 0; w < UID_WORDS; w++) {
      let word = 0;
      for (let c = w * 8; c < w * 8 + 8; c++) {
        const digit = HEX_VALUE[text.charCodeAt(c)] ?? -1;
        if (digit < 0) throw badUid(file, firstRow + row, text);
        word = word * 16 + digit;
      }
      out[row * UID_WORDS + w] = word;
    }
  }
  return out;
}

/** The uid at `index` as 32 lowercase hex characters. */
export function formatUid(uids: Uint32Array, index: number): string {
  let text = '';
  for (let w = 0; w < UID_WORDS; w++) text += uids[index * UID_WORDS + w]!.toString(16).padStart(8, '0');
  return text;
}

/** The (hi, lo) u64 halves of the uid at `index`, as DataComp's subset files hold them. */
export function uidHalves(uids: Uint32Array, index: number): [bigint, bigint] {
  const w = index * UID_WORDS;
  return [(BigInt(uids[w]!) << 32n) | BigInt(uids[w + 1]!), (BigInt(uids[w + 2]!) << 32n) | BigInt(uids[w + 3]!)];
}

/** Compare uid `i` of `a` with uid `j` of `b`: negative, zero or positive, in numeric (= hex string) order. */
export function compareUids(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  for (let w = 0; w < UID_WORDS; w++) {
    const x = a[i * UID_WORDS + w]!;
    const y = b[j * UID_WORDS + w]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Index of uid `row` of `uids` in the sorted unique uid array `sorted` (binary search), or -1. */
export function findUid(sorted: Uint32Array, uids: Uint32Array, row: number): number {
  const n = uidCount(sorted);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUids(sorted, mid, uids, row) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && compareUids(sorted, lo, uids, row) === 0 ? lo : -1;
}

/**
 * Below this many uids uidOrder uses a merge sort: the radix sort's fixed cost
 * (clearing and prefix-summing 65 536 counts per pass) outweighs its linear
 * work. Measured (Node 20, random uids): the two cost the same near 10 000 uids
 * (~1.5 ms each); at 1 000 the merge sort takes 0.05 ms against 1.2 ms.
 */
export const UID_MERGE_SORT_MAX = 10_000;

/**
 * The order that sorts `uids` ascending, as indices; stable, so equal uids
 * keep their input order (which lets callers keep the first of duplicates).
 * Small inputs take a merge sort, large ones an LSD radix sort over 16-bit
 * digits: linear in the number of uids, where a comparison sort of tens of
 * millions takes minutes. Both give the same order.
 */
export function uidOrder(uids: Uint32Array): Uint32Array {
  return uidCount(uids) < UID_MERGE_SORT_MAX ? uidOrderByMerge(uids) : uidOrderByRadix(uids);
}

/** Whether uid `a` sorts before uid `b`, both in `uids`. */
function uidLess(uids: Uint32Array, a: number, b: number): boolean {
  const x = a * UID_WORDS;
  const y = b * UID_WORDS;
  for (let w = 0; w < UID_WORDS; w++) {
    const p = uids[x + w]!;
    const q = uids[y + w]!;
    if (p !== q) return p < q;
  }
  return false;
}

/** uidOrder by a stable merge sort: insertion-sorted runs of 16, then bottom-up merges. Exported for tests. */
export function uidOrderByMerge(uids: Uint32Array): Uint32Array {
  const n = uidCount(uids);
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const RUN = 16;
  for (let start = 0; start < n; start += RUN) {
    const end = Math.min(start + RUN, n);
    for (let k = start + 1; k < end; k++) {
      const v = order[k]!;
      let j = k - 1;
      // Strictly less: an equal uid stays after the ones before it.
      for (; j >= start && uidLess(uids, v, order[j]!); j--) order[j + 1] = order[j]!;
      order[j + 1] = v;
    }
  }
  let next = new Uint32Array(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      // Take from the right run only when strictly less: ties keep input order.
      while (i < mid && j < hi) next[k++] = uidLess(uids, order[j]!, order[i]!) ? order[j++]! : order[i++]!;
      while (i < mid) next[k++] = order[i++]!;
      while (j < hi) next[k++] = order[j++]!;
    }
    [order, next] = [next, order];
  }
  return order;
}

/** uidOrder by an LSD radix sort over 16-bit digits, stable. Exported for tests. */
export function uidOrderByRadix(uids: Uint32Array): Uint32Array {
  const n = uidCount(uids);
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return order;
  let next = new Uint32Array(n);
  const starts = new Uint32Array(0x10001);
  for (let word = UID_WORDS - 1; word >= 0; word--) {
    for (const shift of [0, 16]) {
      starts.fill(0);
      for (let i = 0; i < n; i++) starts[((uids[i * UID_WORDS + word]! >>> shift) & 0xffff) + 1]!++;
      // A digit every uid shares cannot reorder anything: skip the pass. If one
      // digit holds all n uids it is uid 0's, so one count says so (scanning all
      // 65 536 counts with some() cost more than a small sort).
      if (starts[((uids[word]! >>> shift) & 0xffff) + 1] === n) continue;
      for (let digit = 0; digit < 0x10000; digit++) starts[digit + 1]! += starts[digit]!;
      for (let k = 0; k < n; k++) {
        const i = order[k]!;
        next[starts[(uids[i * UID_WORDS + word]! >>> shift) & 0xffff]!++] = i;
      }
      [order, next] = [next, order];
    }
  }
  return order;
}

/**
 * A sorted copy of `uids`.
 * @param options.unique drop repeated uids
 */
export function sortUids(uids: Uint32Array, options: { unique?: boolean } = {}): Uint32Array {
  const order = uidOrder(uids);
  const out = new Uint32Array(uids.length);
  let kept = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (options.unique && kept > 0 && compareUids(uids, i, out, kept - 1) === 0) continue;
    // Word by word (UID_WORDS is 4): a subarray per row allocates a view, which dominated on millions of rows.
    const from = i * UID_WORDS;
    const to = kept * UID_WORDS;
    out[to] = uids[from]!;
    out[to + 1] = uids[from + 1]!;
    out[to + 2] = uids[from + 2]!;
    out[to + 3] = uids[from + 3]!;
    kept++;
  }
  return kept === order.length ? out : out.slice(0, kept * UID_WORDS);
}
