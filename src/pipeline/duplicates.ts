/**
 * Finding repeated row identities (uids, or key-column values) within a shard and across the shards
 * of one run, without holding the identities as strings: a DataComp shard has ~500k uids and a run
 * can cover hundreds of shards.
 *
 * Identities are 128-bit: a uid is exactly 128 bits (32 hex digits, as io/uid.ts parses it); any
 * other key is hashed to 128 bits, where an accidental collision is far less likely than a disk error.
 */
import { UID_WORDS } from '../io/uid.js';

/**
 * An open-addressing set of 128-bit identities (20 bytes a slot, at most half full), remembering which
 * shard each came from first. With a `limit` it stops taking new identities once it holds that many,
 * but still answers for those it has: memory stays bounded on runs over hundreds of shards.
 */
export class IdentitySet {
  private keys: Uint32Array;
  /** shard index + 1 for each slot; 0 marks an empty slot. */
  private owners: Uint32Array;
  private mask: number;
  private count = 0;
  /** Set once an identity was turned away because the set was full. */
  full = false;

  constructor(
    expected = 1 << 16,
    private readonly limit = Infinity,
  ) {
    let capacity = 1 << 4;
    while (capacity < Math.min(expected, limit) * 2) capacity *= 2;
    this.keys = new Uint32Array(capacity * UID_WORDS);
    this.owners = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  /** Number of distinct identities held. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds identity `index` of `words` (4 u32 per identity) for `shard`.
   * @returns the shard that had it first if it was already present, else undefined (and it is added)
   */
  add(words: Uint32Array, index: number, shard: number): number | undefined {
    if ((this.count + 1) * 2 > this.owners.length && this.count < this.limit) this.grow();
    const w = index * UID_WORDS;
    const a = words[w]!,
      b = words[w + 1]!,
      c = words[w + 2]!,
      d = words[w + 3]!;
    let slot = slotHash(a, b, c, d) & this.mask;
    for (;;) {
      const owner = this.owners[slot]!;
      if (owner === 0) {
        if (this.count >= this.limit) {
          this.full = true;
          return undefined;
        }
        this.owners[slot] = shard + 1;
        const k = slot * UID_WORDS;
        this.keys[k] = a;
        this.keys[k + 1] = b;
        this.keys[k + 2] = c;
        this.keys[k + 3] = d;
        this.count++;
        return undefined;
      }
      const k = slot * UID_WORDS;
      if (this.keys[k] === a && this.keys[k + 1] === b && this.keys[k + 2] === c && this.keys[k + 3] === d)
        return owner - 1;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldOwners = this.owners;
    const capacity = oldOwners.length * 2;
    this.keys = new Uint32Array(capacity * UID_WORDS);
    this.owners = new Uint32Array(capacity);
    this.mask = capacity - 1;
    this.count = 0;
    for (let slot = 0; slot < oldOwners.length; slot++) {
      if (oldOwners[slot] !== 0) this.add(oldKeys, slot, oldOwners[slot]! - 1);
    }
  }
}

function slotHash(a: number, b: number, c: number, d: number): number {
  // uids are already uniformly random, but keys hashed from strings and hand-made test uids may not
  // be; one round of mixing keeps probe chains short for both.
  let h = Math.imul(a ^ Math.imul(b, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(c ^ (d >>> 7), 0xc2b2ae35);
  h ^= h >>> 15;
  return Math.imul(h, 0x27d4eb2f) >>> 0;
}

/** Result of checking one shard's identities. */
export interface ShardDuplicates {
  /** Rows repeating an identity seen earlier in the same shard (ascending); they are dropped. */
  withinShard: number[];
  /** Rows whose identity appeared in an earlier shard of the run (ascending); kept, reported. */
  acrossShards: number[];
  /** For acrossShards[i], the index of the earlier shard. */
  earlierShard: number[];
}

/**
 * Adds a shard's identities to `seen` and classifies the repeats. The first occurrence within a shard
 * is kept; across shards nothing is dropped here, so each shard's scores depend on that shard alone
 * (resuming or re-running one shard gives the same file) and selection keeps the first occurrence.
 */
export function checkShardDuplicates(seen: IdentitySet, words: Uint32Array, shard: number): ShardDuplicates {
  const result: ShardDuplicates = { withinShard: [], acrossShards: [], earlierShard: [] };
  const rows = words.length / UID_WORDS;
  // A set of its own for the shard: a uid that an earlier shard holds and that repeats within this
  // one must still be deduplicated here, which the run-wide set alone cannot tell apart.
  const local = new IdentitySet(rows);
  for (let row = 0; row < rows; row++) {
    if (local.add(words, row, shard) !== undefined) {
      result.withinShard.push(row);
      continue;
    }
    const first = seen.add(words, row, shard);
    if (first !== undefined && first !== shard) {
      result.acrossShards.push(row);
      result.earlierShard.push(first);
    }
  }
  return result;
}

/** 128-bit identities for arbitrary key strings (key columns, or file+row), 4 u32 words each. */
export function hashKeys(keys: ArrayLike<string>): Uint32Array {
  const out = new Uint32Array(keys.length * UID_WORDS);
  const encoder = new TextEncoder();
  for (let i = 0; i < keys.length; i++) {
    const bytes = encoder.encode(keys[i]!);
    // Four independently seeded 32-bit FNV-1a/murmur-finalised lanes (cyrb128-style).
    let h1 = 1779033703,
      h2 = 3144134277,
      h3 = 1013904242,
      h4 = 2773480762;
    for (const byte of bytes) {
      h1 = h2 ^ Math.imul(h1 ^ byte, 597399067);
      h2 = h3 ^ Math.imul(h2 ^ byte, 2869860233);
      h3 = h4 ^ Math.imul(h3 ^ byte, 951274213);
      h4 = h1 ^ Math.imul(h4 ^ byte, 2716044179);
    }
    h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
    h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
    h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
    h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
    h1 ^= h2 ^ h3 ^ h4;
    h2 ^= h1;
    h3 ^= h1;
    h4 ^= h1;
    out.set([h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0], i * UID_WORDS);
  }
  return out;
}
