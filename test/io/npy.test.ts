import { describe, expect, it } from 'vitest';
import { encodeNpy, openNpy, readNpyHeader } from '../../src/io/npy.js';
import { bytesSource } from '../../src/io/source.js';
import { bytesOf, expectedBytes, expectInputError, fixture, fixtureBytes, manifest } from './helpers.js';

const readable = Object.entries(manifest).filter(
  ([name, m]) => name.endsWith('.npy') && m.shape !== undefined && !name.startsWith('subset'),
);

describe('openNpy on files written by numpy', () => {
  it.each(readable)('%s reads back the values numpy wrote', async (name, m) => {
    const array = await openNpy(fixture(name));
    const shape = m.shape as number[];
    expect(array.shape).toEqual(shape);
    expect(array.rows).toBe(shape.length === 2 ? shape[0] : 1);
    expect(array.dim).toBe(shape.length === 2 ? shape[1] : shape[0]);
    expect(array.dtype).toBe(m.dtype === '<f2' ? 'f2' : 'f4');
    expect(array.sourceDtype).toBe(m.dtype);
    const all = await array.readRows(0, array.rows);
    expect(bytesOf(all)).toEqual(expectedBytes(name));
  });

  it('reads any row range, including column-major files', async () => {
    for (const name of ['f16_4x6.npy', 'fortran_f32_4x3.npy', 'fortran_f16_5x7.npy']) {
      const array = await openNpy(fixture(name));
      const size = array.dtype === 'f2' ? 2 : 4;
      const expected = expectedBytes(name);
      expect(array.fortranOrder).toBe(name.startsWith('fortran'));
      for (let start = 0; start <= array.rows; start++) {
        for (let count = 0; start + count <= array.rows; count++) {
          const rows = await array.readRows(start, count);
          expect(bytesOf(rows)).toEqual(
            expected.subarray(start * array.dim * size, (start + count) * array.dim * size),
          );
        }
      }
    }
  });

  it('delivers every row exactly once through readRowChunks', async () => {
    const array = await openNpy(fixture('f16_wide_2x700.npy'));
    const seen: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const chunk of array.readRowChunks(1)) {
      seen.push(chunk.start);
      parts.push(bytesOf(chunk.data).slice());
    }
    expect(seen).toEqual([0, 1]);
    expect(new Uint8Array(parts.flatMap((p) => [...p]))).toEqual(expectedBytes('f16_wide_2x700.npy'));
  });

  it('reports header versions 1, 2 and 3', async () => {
    expect((await readNpyHeader(fixture('f32_5x3.npy'))).version).toBe(1);
    expect((await readNpyHeader(fixture('f32_v2_3x4.npy'))).version).toBe(2);
    expect((await readNpyHeader(fixture('f32_v3_3x4.npy'))).version).toBe(3);
  });

  it('refuses read ranges outside the array', async () => {
    const array = await openNpy(fixture('f32_5x3.npy'));
    await expect(array.readRows(4, 2)).rejects.toThrow(RangeError);
  });
});

describe('openNpy refuses what it cannot read, naming the reason', () => {
  const refused = Object.entries(manifest).filter(([, m]) => m.refused !== undefined);
  it.each(refused)('%s', async (name, m) => {
    const error = await expectInputError(() => openNpy(fixture(name)), name, m.refused as string);
    expect(error.file).toBe(name);
  });

  it('names the missing bytes of a truncated file', async () => {
    const bytes = fixtureBytes('f32_5x3.npy');
    await expectInputError(
      () => openNpy(bytesSource('cut.npy', bytes.subarray(0, bytes.length - 1))),
      'cut.npy',
      /truncated/,
      /shape \(5, 3\)/,
    );
    await expectInputError(
      () => openNpy(bytesSource('cut.npy', bytes.subarray(0, 50))),
      'cut.npy',
      /truncated/,
      /header length/,
    );
    await expectInputError(() => openNpy(bytesSource('cut.npy', bytes.subarray(0, 5))), 'cut.npy', /magic/);
  });
});

describe('encodeNpy', () => {
  it.each(['f16_4x6.npy', 'f32_5x3.npy', 'f32_empty_0x4.npy', 'f16_wide_2x700.npy', 'f32_vector_8.npy'])(
    'writes the same bytes as numpy.save for %s',
    async (name) => {
      const array = await openNpy(fixture(name));
      const data = await array.readRows(0, array.rows);
      expect(encodeNpy(data, array.shape)).toEqual(fixtureBytes(name));
    },
  );
});
