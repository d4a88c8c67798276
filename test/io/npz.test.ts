import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { openNpz, openNpzArray } from '../../src/io/npz.js';
import { bytesSource } from '../../src/io/source.js';
import { readZipDirectory } from '../../src/io/zip.js';
import {
  bytesOf,
  expectedBytes,
  expectInputError,
  expectSameBytes,
  fixture,
  fixtureBytes,
  readAllChunks,
} from './helpers.js';

const DATACOMP_KEYS = ['b32_img', 'b32_txt', 'l14_img', 'l14_txt'];

describe('openNpz on archives written by numpy', () => {
  it.each(['stored.npz', 'compressed.npz'])('%s lists its arrays and reads each one in chunks', async (file) => {
    const npz = await openNpz(fixture(file));
    expect([...npz.keys].sort()).toEqual(DATACOMP_KEYS);
    for (const key of DATACOMP_KEYS) {
      const array = await npz.open(key);
      expect(array.dtype).toBe('f2');
      expect(array.randomAccess).toBe(file === 'stored.npz');
      for (const chunkRows of [1, 3, 7, 100]) {
        expectSameBytes(await readAllChunks(array, chunkRows), expectedBytes(`stored.npz.${key}`));
      }
    }
  });

  it('reads stored entries at random', async () => {
    const array = await openNpzArray(fixture('stored.npz'), 'l14_txt');
    const expected = expectedBytes('stored.npz.l14_txt');
    const rowBytes = array.dim * 2;
    expect(bytesOf(await array.readRows(2, 3))).toEqual(expected.subarray(2 * rowBytes, 5 * rowBytes));
  });

  it('refuses random access to deflated entries by saying why', async () => {
    const array = await openNpzArray(fixture('compressed.npz'), 'b32_img');
    await expectInputError(() => array.readRows(0, 1), 'compressed.npz:b32_img.npy', /deflated/);
  });

  it('streams a large deflated entry through many inflate pushes', async () => {
    const npz = await openNpz(fixture('compressed_big.npz'));
    const big = await npz.open('big');
    expect([big.rows, big.dim]).toEqual([1500, 64]);
    expectSameBytes(await readAllChunks(big, 257), expectedBytes('compressed_big.npz.big'));
    const f32 = await npz.open('f32');
    expect(f32.dtype).toBe('f4');
    expectSameBytes(await readAllChunks(f32, 4), expectedBytes('compressed_big.npz.f32'));
  });

  it.each(['zip64_stored.npz', 'zip64_deflated.npz'])('%s: zip64 end records and extra fields', async (file) => {
    const directory = await readZipDirectory(fixture(file));
    expect(directory.entries.map((e) => e.name)).toEqual(['a.npy', 'b.npy']);
    const npz = await openNpz(fixture(file));
    expectSameBytes(await readAllChunks(await npz.open('a'), 4), expectedBytes('zip64.npz.a'));
    expectSameBytes(await readAllChunks(await npz.open('b'), 5), expectedBytes('zip64.npz.b'));
  });

  it('finds the end record behind an archive comment', async () => {
    const array = await openNpzArray(fixture('commented.npz'), 'x');
    expectSameBytes(await readAllChunks(array, 2), expectedBytes('stored.npz.b32_img'));
  });

  it('reads column-major (fortran_order) arrays from a stored entry, and refuses them from a deflated one', async () => {
    // numpy.save's own .npy files, put in archives as numpy.savez (stored) and savez_compressed (deflated) would.
    for (const name of ['fortran_f32_4x3.npy', 'fortran_f16_5x7.npy']) {
      const stored = zipSync({ 'x.npy': fixtureBytes(name) }, { level: 0 });
      const array = await openNpzArray(bytesSource('f.npz', stored), 'x');
      expect(array.fortranOrder).toBe(true);
      for (const chunkRows of [1, 2, 100]) expectSameBytes(await readAllChunks(array, chunkRows), expectedBytes(name));
      expectSameBytes(bytesOf(await array.readRows(0, array.rows)), expectedBytes(name));
      const deflated = zipSync({ 'x.npy': fixtureBytes(name) }, { level: 6 });
      await expectInputError(
        () => openNpzArray(bytesSource('f.npz', deflated), 'x'),
        'f.npz:x.npy',
        /fortran_order=True \(column-major\) arrays cannot be streamed from a deflated npz/,
      );
    }
  });

  it('names the available keys when the one asked for is missing', async () => {
    await expectInputError(
      () => openNpzArray(fixture('stored.npz'), 'h14_img'),
      'stored.npz',
      "'h14_img'",
      "'b32_img'",
    );
  });
});

describe('openNpz on damaged archives', () => {
  it('reports a CRC mismatch in deflated data that still inflates', async () => {
    // Flip a bit of the stored CRC in the central directory and the local header.
    const bytes = fixtureBytes('compressed.npz').slice();
    const directory = await readZipDirectory(bytesSource('x', bytes));
    const entry = directory.entries.find((e) => e.name === 'b32_img.npy')!;
    const view = new DataView(bytes.buffer);
    let at = directory.centralDirectoryOffset;
    while (new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + view.getUint16(at + 28, true))) !== entry.name) {
      at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    }
    view.setUint32(at + 16, entry.crc32 ^ 1, true);
    const array = await openNpzArray(bytesSource('crc.npz', bytes), 'b32_img');
    await expectInputError(() => readAllChunks(array, 100), 'crc.npz:b32_img.npy', /CRC-32/);
  });

  it('reports a file that is not a zip at all', async () => {
    await expectInputError(() => openNpz(fixture('f32_5x3.npy')), 'f32_5x3.npy', /not a zip/);
  });
});
