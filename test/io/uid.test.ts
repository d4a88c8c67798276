import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/io/errors.js';
import { decodeSubsetFile, encodeSubsetFile } from '../../src/io/subset-file.js';
import { formatUid, parseUids, sortUids, uidCount, uidHalves } from '../../src/io/uid.js';
import { expectInputError, expectSameBytes, fixtureBytes, manifest } from './helpers.js';

const uidText = new TextDecoder().decode(fixtureBytes('uids.txt')).trim().split('\n');

describe('uids', () => {
  it('splits a uid into the halves DataComp uses: int(uid[:16], 16), int(uid[16:], 16)', () => {
    const uids = parseUids(uidText, 'uids.txt');
    uidText.forEach((text, i) => {
      expect(uidHalves(uids, i)).toEqual([BigInt('0x' + text.slice(0, 16)), BigInt('0x' + text.slice(16))]);
      expect(formatUid(uids, i)).toBe(text.toLowerCase());
    });
  });

  it('sorts in the numeric order of the 128-bit value, which is the hex string order', () => {
    const sorted = sortUids(parseUids(uidText, 'uids.txt'));
    const texts = Array.from({ length: uidCount(sorted) }, (_, i) => formatUid(sorted, i));
    expect(texts).toEqual([...uidText].sort());
    const unique = sortUids(parseUids(uidText, 'uids.txt'), { unique: true });
    expect(uidCount(unique)).toBe(new Set(uidText).size);
  });

  it.each([
    ['too short', 'abc'],
    ['33 characters', 'a'.repeat(33)],
    ['not hex', 'g'.repeat(32)],
    ['with spaces', ' ' + 'a'.repeat(31)],
  ])('refuses a uid that is %s, naming the file and row', (_why, bad) => {
    const texts = ['0'.repeat(32), bad];
    expect(() => parseUids(texts, 'shard.parquet')).toThrow(InputError);
    try {
      parseUids(texts, 'shard.parquet');
    } catch (err) {
      expect((err as InputError).row).toBe(1);
      expect((err as InputError).message).toMatch(/^shard\.parquet row 1 field uid: uid .* is not 32 hex characters$/);
    }
  });

  it('refuses non-string values (nulls in the uid column)', () => {
    expect(() => parseUids([null], 'x.parquet')).toThrow(/x\.parquet row 0 .*uid null/);
  });
});

describe('subset files', () => {
  it('encodes exactly the bytes numpy.save wrote for the same uids', () => {
    const bytes = encodeSubsetFile(parseUids(uidText, 'uids.txt'));
    expectSameBytes(bytes, fixtureBytes('subset.npy'));
  });

  it('encodes an empty subset as numpy does', () => {
    expectSameBytes(encodeSubsetFile(new Uint32Array(0)), fixtureBytes('subset_empty.npy'));
  });

  it('decodes the numpy-written subset file back to the sorted unique uids', async () => {
    const uids = await decodeSubsetFile('subset.npy', fixtureBytes('subset.npy'));
    expect(uidCount(uids)).toBe(manifest['subset.npy']!.count);
    const texts = Array.from({ length: uidCount(uids) }, (_, i) => formatUid(uids, i));
    expect(texts).toEqual([...new Set(uidText)].sort());
  });

  it('refuses an .npy that is not a subset file', async () => {
    await expectInputError(
      () => decodeSubsetFile('f32_5x3.npy', fixtureBytes('f32_5x3.npy')),
      'f32_5x3.npy',
      /not a DataComp subset dtype/,
    );
    const cut = fixtureBytes('subset.npy').subarray(0, 200);
    await expectInputError(() => decodeSubsetFile('cut.npy', cut), 'cut.npy', /truncated/);
  });
});
