import { describe, expect, it } from 'vitest';
import { checkShardDuplicates, hashKeys, IdentitySet } from '../../src/pipeline/duplicates.js';
import { parseUids } from '../../src/io/uid.js';
import { randomUid, rng } from '../cli/helpers.js';

/** The same classification done with plain strings, as the reference. */
function reference(shards: string[][]) {
  const firstShard = new Map<string, number>();
  return shards.map((uids, shard) => {
    const local = new Set<string>();
    const within: number[] = [];
    const across: number[] = [];
    uids.forEach((uid, row) => {
      if (local.has(uid)) {
        within.push(row);
        return;
      }
      local.add(uid);
      const first = firstShard.get(uid);
      if (first === undefined) firstShard.set(uid, shard);
      else if (first !== shard) across.push(row);
    });
    return { within, across };
  });
}

describe('duplicate identities', () => {
  it('matches a string-set reference within and across shards, through many table growths', () => {
    const next = rng(3);
    const pool = Array.from({ length: 3000 }, () => randomUid(next));
    // Draw with replacement from a small pool so repeats happen within and across shards.
    const shards = Array.from({ length: 5 }, () =>
      Array.from({ length: 2000 }, () => pool[Math.floor(next() * pool.length)]!),
    );
    const seen = new IdentitySet(4);
    const got = shards.map((uids, shard) => checkShardDuplicates(seen, parseUids(uids, 'test'), shard));
    const want = reference(shards);
    got.forEach((g, i) => {
      expect(g.withinShard).toEqual(want[i]!.within);
      expect(g.acrossShards).toEqual(want[i]!.across);
    });
    expect(seen.size).toBe(new Set(shards.flat()).size);
  });

  it('stops remembering at its limit but still recognises what it holds', () => {
    const next = rng(4);
    const uids = Array.from({ length: 100 }, () => randomUid(next));
    const words = parseUids(uids, 'test');
    const seen = new IdentitySet(8, 50);
    for (let i = 0; i < 100; i++) seen.add(words, i, 0);
    expect(seen.size).toBe(50);
    expect(seen.full).toBe(true);
    expect(seen.add(words, 10, 1)).toBe(0);
    expect(seen.add(words, 90, 1)).toBeUndefined();
  });

  it('hashes equal keys equally and different keys differently', () => {
    const keys = ['a', 'b', 'a', 'file.npy\u00007', 'file.npy\u00008', ''];
    const words = hashKeys(keys);
    const at = (i: number) => Array.from(words.subarray(i * 4, i * 4 + 4)).join(',');
    expect(at(0)).toBe(at(2));
    expect(new Set([0, 1, 3, 4, 5].map(at)).size).toBe(5);
  });
});
