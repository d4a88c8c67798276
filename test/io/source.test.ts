import { describe, expect, it } from 'vitest';
import { memoryFileSystem } from '../../src/io/file-system.js';
import { openNpzArray } from '../../src/io/npz.js';
import { blobSource, bytesSource, subSource } from '../../src/io/source.js';
import { expectedBytes, expectInputError, expectSameBytes, fixtureBytes } from './helpers.js';

describe('byte sources', () => {
  const bytes = fixtureBytes('stored.npz');

  it('blob, bytes and sub-range sources read the same bytes and refuse ranges past the end', async () => {
    const sources = [bytesSource('a', bytes), blobSource(new Blob([bytes.slice()]), 'a')];
    for (const source of sources) {
      expect(source.size).toBe(bytes.length);
      expectSameBytes(await source.read(17, 300), bytes.subarray(17, 317));
      await expectInputError(() => source.read(bytes.length - 1, 2), /^a: truncated/);
      const window = subSource(source, 100, 50, 'a:w');
      expectSameBytes(await window.read(10, 40), bytes.subarray(110, 150));
      await expectInputError(() => window.read(10, 41), /^a:w: truncated/);
    }
    expect(() => subSource(sources[0]!, bytes.length - 10, 11, 'x')).toThrow(/truncated/);
  });

  it('bytes sources hand out copies, so callers may modify what they read', async () => {
    const source = bytesSource('a', bytes);
    const first = await source.read(0, 4);
    first.fill(0);
    expect(await source.read(0, 4)).toEqual(bytes.subarray(0, 4));
  });

  it('a memory file system of dropped Blobs reads an npz like a disk would', async () => {
    const fs = memoryFileSystem({ 'drop/x/stored.npz': new Blob([bytes.slice()]) });
    expect(await fs.list('drop')).toEqual(['x']);
    expect(await fs.list('drop/x')).toEqual(['stored.npz']);
    const array = await openNpzArray(await fs.open('drop/x/stored.npz'), 'b32_txt');
    const rows = await array.readRows(0, array.rows);
    expectSameBytes(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), expectedBytes('stored.npz.b32_txt'));
    await expectInputError(() => fs.open('drop/nope.npz'), 'drop/nope.npz', 'no such file');
    await expectInputError(() => fs.list('nope'), 'nope', 'no such directory');
  });
});
