/** Issue 6 item 1: the uid parser and parquet inputs (through hyparquet) under fuzzing. */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/io/errors.js';
import { openParquet, writeParquetTable } from '../../src/io/parquet.js';
import { bytesSource } from '../../src/io/source.js';
import { decodeSubsetFile, encodeSubsetFile } from '../../src/io/subset-file.js';
import {
  formatUid,
  parseUids,
  sortUids,
  UID_MERGE_SORT_MAX,
  uidCount,
  uidHalves,
  uidOrder,
  uidOrderByMerge,
  uidOrderByRadix,
} from '../../src/io/uid.js';
import { FUZZ_RUNS, FUZZ_TIME_MS, parsesOrInputError, REAL } from './helpers.js';

const options = { numRuns: FUZZ_RUNS, plugins: [fc.interruptAfterTimeLimit(FUZZ_TIME_MS)] };
const hexUid = fc.stringMatching(/^[0-9a-fA-F]{32}$/);

describe('uid parser fuzzing', () => {
  it('accepts exactly the 32-hex-character strings, splitting them as int(uid[:16],16), int(uid[16:],16)', () => {
    fc.assert(
      fc.property(fc.oneof(hexUid, fc.string({ maxLength: 40 }), fc.stringMatching(/^[0-9a-f]{30,34}$/)), (text) => {
        const valid = /^[0-9a-fA-F]{32}$/.test(text);
        try {
          const uids = parseUids(['0'.repeat(32), text], 'u.parquet');
          expect(valid).toBe(true);
          expect(uidHalves(uids, 1)).toEqual([BigInt('0x' + text.slice(0, 16)), BigInt('0x' + text.slice(16))]);
        } catch (err) {
          expect(valid).toBe(false);
          expect(err).toBeInstanceOf(InputError);
          expect((err as InputError).row).toBe(1);
          expect((err as InputError).file).toBe('u.parquet');
        }
      }),
      options,
    );
  });

  it('subset files round-trip any uid set, sorted by BigInt value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hexUid, { maxLength: 40 }), async (texts) => {
        const decoded = await decodeSubsetFile('s.npy', encodeSubsetFile(parseUids(texts, 's')));
        const expected = [...new Set(texts.map((t) => t.toLowerCase()))].sort((a, b) =>
          BigInt('0x' + a) < BigInt('0x' + b) ? -1 : 1,
        );
        expect(Array.from({ length: uidCount(decoded) }, (_, i) => formatUid(decoded, i))).toEqual(expected);
      }),
      options,
    );
  });
});

describe('uid sorting', () => {
  // Few distinct words, so many uids share high words, 16-bit digits, or are equal outright.
  const word = fc.constantFrom('00000000', 'ffffffff', '0000ffff', 'ffff0000', '12345678', '12340000', '80000001');
  const uid = fc.tuple(word, word, word, word).map((w) => w.join(''));

  /** Indices that sort `texts` by BigInt value, ties in input order. */
  function bigintOrder(texts: string[]): number[] {
    return texts
      .map((t, i) => [BigInt('0x' + t), i] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]))
      .map(([, i]) => i);
  }

  it('the merge and radix orders both equal a BigInt sort, stably, even when uids share words and repeat', () => {
    // size max: fast-check otherwise stops at ~10 elements, short of one 16-uid merge run.
    // Half the arrays draw from a handful of uids, so equal uids land in different merge runs.
    const pooled = fc
      .array(uid, { minLength: 1, maxLength: 6 })
      .chain((pool) => fc.array(fc.constantFrom(...pool), { maxLength: 150, size: 'max' }));
    fc.assert(
      fc.property(fc.oneof(fc.array(uid, { maxLength: 150, size: 'max' }), pooled), (texts) => {
        const uids = parseUids(texts, 's');
        const expected = bigintOrder(texts);
        expect(Array.from(uidOrderByMerge(uids))).toEqual(expected);
        expect(Array.from(uidOrderByRadix(uids))).toEqual(expected);
        expect(Array.from(uidOrder(uids))).toEqual(expected);
        const unique = sortUids(uids, { unique: true });
        expect(Array.from({ length: uidCount(unique) }, (_, i) => formatUid(unique, i))).toEqual(
          [...new Set(texts)].sort(),
        );
      }),
      options,
    );
  });

  it('uidOrder and sortUids agree with a BigInt sort on both sides of the merge/radix crossover', () => {
    const cases = [UID_MERGE_SORT_MAX - 1, UID_MERGE_SORT_MAX, UID_MERGE_SORT_MAX + 37];
    fc.assert(
      fc.property(fc.constantFrom(...cases), fc.integer(), (n, seed) => {
        const texts = fc.sample(uid, { numRuns: n, seed });
        const uids = parseUids(texts, 's');
        const expected = bigintOrder(texts);
        expect(Array.from(uidOrder(uids))).toEqual(expected);
        const sorted = sortUids(uids);
        expect(Array.from({ length: n }, (_, i) => formatUid(sorted, i))).toEqual(expected.map((i) => texts[i]));
        const unique = sortUids(uids, { unique: true });
        expect(Array.from({ length: uidCount(unique) }, (_, i) => formatUid(unique, i))).toEqual(
          [...new Set(texts)].sort(),
        );
      }),
      { numRuns: 3, examples: cases.map((n) => [n, 0] as [number, number]) },
    );
  });
});

describe('parquet input fuzzing', () => {
  const real = new Uint8Array(readFileSync(REAL + 'metadata_0.parquet'));
  const ours = writeParquetTable({
    columns: {
      uid: Array.from({ length: 50 }, (_, i) => i.toString(16).padStart(32, '0')),
      clip_score: Float32Array.from({ length: 50 }, (_, i) => i / 50),
    },
    metadata: { seed: '0' },
  });
  const files = { 'real.parquet': real, 'ours.parquet': ours };

  /** Everything a shard does with a metadata file: footer, metadata, every column. */
  async function readEverything(name: string, bytes: Uint8Array): Promise<void> {
    const file = await openParquet(bytesSource(name, bytes));
    await file.readColumns(file.columns);
  }

  it('the untouched files read', async () => {
    for (const [name, bytes] of Object.entries(files))
      expect(await parsesOrInputError(name, () => readEverything(name, bytes))).toBe(true);
  });

  it('truncation anywhere gives InputError, never a crash or hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(files)), fc.nat(), async (name, cut) => {
        const bytes = files[name as keyof typeof files];
        expect(
          await parsesOrInputError('cut.parquet', () =>
            readEverything('cut.parquet', bytes.subarray(0, cut % bytes.length)),
          ),
        ).toBe(false);
      }),
      options,
    );
  });

  it('corrupted bytes (footer, page headers, data) give a result or InputError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(files)),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (name, edits, nearFooter) => {
          const bytes = files[name as keyof typeof files].slice();
          // Half the edits land in the footer, where lengths and offsets live.
          const footer = Math.max(0, bytes.length - 600);
          for (const [at, value] of edits)
            bytes[nearFooter ? footer + (at % (bytes.length - footer)) : at % bytes.length] = value;
          await parsesOrInputError('noisy.parquet', () => readEverything('noisy.parquet', bytes));
        },
      ),
      options,
    );
  });
});
