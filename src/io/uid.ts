/**
 * DataComp uids: 32 hex characters naming a 128-bit number, split by
 * DataComp into two u64 halves (int(uid[:16], 16), int(uid[16:], 16)).
 *
 * We keep uids as 4 u32 words each, most significant first, in one
 * Uint32Array: compact, no BigInt on the hot path, and comparing two uids is
 * at most four number comparisons, so sorting millions stays fast.
 */
import { InputError } from './errors.js'

/** Words per uid in a uid array. */
export const UID_WORDS = 4

const HEX32 = /^[0-9a-fA-F]{32}$/

/** Number of uids in a uid array. */
export function uidCount(uids: Uint32Array): number {
  return uids.length / UID_WORDS
}

/**
 * Parse uid strings into a uid array.
 * @param texts one uid per row, e.g. the parquet `uid` column
 * @param file file name for errors
 * @throws {InputError} naming the file and row of the first value that is not exactly 32 hex characters
 */
export function parseUids(texts: ArrayLike<unknown>, file: string): Uint32Array {
  const out = new Uint32Array(texts.length * UID_WORDS)
  for (let row = 0; row < texts.length; row++) {
    const text = texts[row]
    if (typeof text !== 'string' || !HEX32.test(text)) {
      const shown = typeof text === 'string' ? `'${text.length > 40 ? text.slice(0, 40) + '…' : text}'` : String(text)
      throw new InputError(file, `uid ${shown} is not 32 hex characters`, { row, field: 'uid' })
    }
    for (let w = 0; w < UID_WORDS; w++) out[row * UID_WORDS + w] = parseInt(text.slice(w * 8, w * 8 + 8), 16)
  }
  return out
}

/** The uid at `index` as 32 lowercase hex characters. */
export function formatUid(uids: Uint32Array, index: number): string {
  let text = ''
  for (let w = 0; w < UID_WORDS; w++) text += uids[index * UID_WORDS + w]!.toString(16).padStart(8, '0')
  return text
}

/** The (hi, lo) u64 halves of the uid at `index`, as DataComp's subset files hold them. */
export function uidHalves(uids: Uint32Array, index: number): [bigint, bigint] {
  const w = index * UID_WORDS
  return [(BigInt(uids[w]!) << 32n) | BigInt(uids[w + 1]!), (BigInt(uids[w + 2]!) << 32n) | BigInt(uids[w + 3]!)]
}

/** Compare uid `i` of `a` with uid `j` of `b`: negative, zero or positive, in numeric (= hex string) order. */
export function compareUids(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  for (let w = 0; w < UID_WORDS; w++) {
    const x = a[i * UID_WORDS + w]!
    const y = b[j * UID_WORDS + w]!
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

/**
 * The order that sorts `uids` ascending, as indices; stable, so equal uids
 * keep their input order (which lets callers keep the first of duplicates).
 */
export function uidOrder(uids: Uint32Array): Uint32Array {
  const order = new Uint32Array(uidCount(uids))
  for (let i = 0; i < order.length; i++) order[i] = i
  return order.sort((i, j) => compareUids(uids, i, uids, j) || i - j)
}

/**
 * A sorted copy of `uids`.
 * @param options.unique drop repeated uids
 */
export function sortUids(uids: Uint32Array, options: { unique?: boolean } = {}): Uint32Array {
  const order = uidOrder(uids)
  const out = new Uint32Array(uids.length)
  let kept = 0
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!
    if (options.unique && kept > 0 && compareUids(uids, i, out, kept - 1) === 0) continue
    out.set(uids.subarray(i * UID_WORDS, (i + 1) * UID_WORDS), kept * UID_WORDS)
    kept++
  }
  return out.slice(0, kept * UID_WORDS)
}
