// Stored npz entries (numpy.savez) are CRC-32 checked as they stream, as numpy's zipfile does ("Bad CRC-32").
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/io/crc32.js';
import { openNpz } from '../../src/io/npz.js';
import { bytesSource } from '../../src/io/source.js';
import { entryDataOffset, readZipDirectory } from '../../src/io/zip.js';
import { makeDataCompDir, rng, runInProcess, tempDir } from '../cli/helpers.js';
import { expectInputError, expectedBytes, expectSameBytes, fixtureBytes } from './helpers.js';

/** A copy of the archive with one bit flipped at `offsetInData` bytes into the data of `entryName`'s array rows. */
async function flipDataBit(bytes: Uint8Array, entryName: string, offsetInData: number): Promise<Uint8Array> {
  const copy = bytes.slice();
  const directory = await readZipDirectory(bytesSource('x', copy));
  const entry = directory.entries.find((e) => e.name === entryName)!;
  expect(entry.method).toBe(0);
  const start = await entryDataOffset(bytesSource('x', copy), directory, entry);
  // The recorded CRC is the one zlib computes over the untouched entry: an independent check of what we compare with.
  expect(zlibCrc32(copy.subarray(start, start + entry.uncompressedSize)) >>> 0).toBe(entry.crc32);
  const at = start + entry.uncompressedSize - offsetInData;
  copy[at] = copy[at]! ^ 0x02; // a low mantissa bit of a float16 (little-endian low byte)
  return copy;
}

describe('crc32', () => {
  it('agrees with zlib on random bytes of every length mod 8, split anywhere', () => {
    const next = rng(11);
    for (let n = 0; n < 200; n++) {
      const bytes = Uint8Array.from({ length: n * 3 + (n % 9) }, () => Math.floor(next() * 256));
      const split = Math.floor(next() * (bytes.length + 1));
      expect(crc32(bytes.subarray(split), crc32(bytes.subarray(0, split)))).toBe(zlibCrc32(bytes) >>> 0);
    }
  });
});

describe('stored npz entries are CRC-32 checked', () => {
  it('the intact numpy-written archive still reads byte for byte', async () => {
    const npz = await openNpz(bytesSource('stored.npz', fixtureBytes('datacomp_stored.npz')));
    const array = await npz.open('l14_img');
    const whole = await array.readRows(0, array.rows);
    expectSameBytes(
      new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength),
      expectedBytes('datacomp.npz.l14_img'),
    );
  });

  it('a flipped mantissa bit in l14_img is refused when streamed and when read whole, naming file and entry', async () => {
    const bytes = await flipDataBit(fixtureBytes('datacomp_stored.npz'), 'l14_img.npy', 7);
    const npz = await openNpz(bytesSource('shard.npz', bytes));
    const array = await npz.open('l14_img');
    await expectInputError(
      async () => {
        for await (const _chunk of array.readRowChunks(1));
      },
      'shard.npz:l14_img.npy',
      /bad CRC-32/,
    );
    await expectInputError(() => array.readRows(0, array.rows), 'shard.npz:l14_img.npy', /bad CRC-32/);
    // The other arrays of the archive are untouched and still read.
    const txt = await npz.open('l14_txt');
    for await (const _chunk of txt.readRowChunks(2));
  });

  it('a flipped bit in the stored .npy header is caught too', async () => {
    const bytes = fixtureBytes('datacomp_stored.npz');
    const directory = await readZipDirectory(bytesSource('x', bytes));
    const entry = directory.entries.find((e) => e.name === 'b32_txt.npy')!;
    const copy = bytes.slice();
    const start = await entryDataOffset(bytesSource('x', copy), directory, entry);
    // A padding space of the header dict turned into a tab: the header still parses, the bytes differ.
    const header = copy.subarray(start, start + 128);
    const pad = header.lastIndexOf(0x20);
    copy[start + pad] = 0x09; // space → tab: still valid whitespace, different bytes
    const array = await (await openNpz(bytesSource('h.npz', copy))).open('b32_txt');
    await expectInputError(
      async () => {
        for await (const _chunk of array.readRowChunks(4));
      },
      'h.npz:b32_txt.npy',
      /bad CRC-32/,
    );
  });

  it('clipsift score refuses the shard with one line naming file and entry, writing no score file', async () => {
    const { dir } = makeDataCompDir([{ name: '00000000', rows: 40, seed: 3 }]);
    const npz = join(dir, '00000000.npz');
    writeFileSync(npz, await flipDataBit(new Uint8Array(readFileSync(npz)), 'l14_img.npy', 1001));
    const out = join(tempDir(), 'scores');
    const result = await runInProcess(['score', dir, '--out', out, '--batch-size', '16', '--threads', '1', '--quiet']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/00000000\.npz:l14_img\.npy.*bad CRC-32/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(out, '00000000.scores.parquet'))).toBe(false);
  });
});
