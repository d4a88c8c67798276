/** Issue 6 item 1: the .npy header reader under fuzzing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeNpy, openNpy } from '../../src/io/npy.js';
import { bytesSource } from '../../src/io/source.js';
import { bytesOf, FUZZ_RUNS, FUZZ_TIME_MS, fixtureBytes, parsesOrInputError } from './helpers.js';

const options = { numRuns: FUZZ_RUNS, plugins: [fc.interruptAfterTimeLimit(FUZZ_TIME_MS)] };

/** Open and read every row: the whole reader path a shard goes through. */
async function readAll(name: string, bytes: Uint8Array): Promise<Uint8Array[]> {
  const array = await openNpy(bytesSource(name, bytes));
  const out: Uint8Array[] = [];
  for await (const chunk of array.readRowChunks(3)) out.push(bytesOf(chunk.data));
  return out;
}

/** An .npy with an arbitrary header dict text and `dataBytes` bytes of data. */
function npyWithHeader(dict: string, dataBytes: number, version = 1): Uint8Array {
  const text = new TextEncoder().encode(dict + '\n');
  const preamble = version === 1 ? 10 : 12;
  const out = new Uint8Array(preamble + text.length + dataBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, preamble);
  return out;
}

const dimension = fc.oneof(
  fc.integer({ min: 0, max: 9 }),
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 1, 2 ** 63, 2 ** 64, 10 ** 30).map(String),
  fc.bigInt({ min: 0n, max: 1n << 80n }).map(String),
  fc.integer({ min: -5, max: -1 }),
);
const descr = fc.constantFrom(
  "'<f2'",
  "'<f4'",
  "'<f8'",
  "'>f4'",
  "'|O'",
  "'<U5'",
  "'|S3'",
  "'<i8'",
  "'f4'",
  "'<c8'",
  "[('f0', '<u8')]",
  '1',
  'None',
  "'<f4",
  "''",
);

describe('npy header fuzzing', () => {
  it('encodeNpy output always reads back exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        async (rows, dim, half) => {
          const data = half
            ? Uint16Array.from({ length: rows * dim }, (_, i) => (i * 2654435761) & 0xffff)
            : Float32Array.from({ length: rows * dim }, (_, i) => i / 7);
          const bytes = encodeNpy(data, [rows, dim]);
          const read = await readAll('gen.npy', bytes);
          const flat = new Uint8Array(read.reduce((n, c) => n + c.length, 0));
          let at = 0;
          for (const c of read) {
            flat.set(c, at);
            at += c.length;
          }
          expect(flat).toEqual(bytesOf(data));
        },
      ),
      options,
    );
  });

  it('arbitrary header dicts (dtypes, shapes that overflow or exceed the file, orders) parse or raise InputError', async () => {
    await fc.assert(
      fc.asyncProperty(
        descr,
        fc.array(dimension, { maxLength: 3 }),
        fc.constantFrom('False', 'True', '0', "'no'"),
        fc.integer({ min: 0, max: 200 }),
        fc.constantFrom(1, 2, 3),
        async (d, shape, order, dataBytes, version) => {
          const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
          const bytes = npyWithHeader(
            `{'descr': ${d}, 'fortran_order': ${order}, 'shape': ${shapeText}, }`,
            dataBytes,
            version,
          );
          await parsesOrInputError('hdr.npy', () => readAll('hdr.npy', bytes));
        },
      ),
      options,
    );
  });

  it('random header text parses or raises InputError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), fc.integer({ min: 0, max: 64 }), async (dict, dataBytes) => {
        await parsesOrInputError('text.npy', () => readAll('text.npy', npyWithHeader(dict, dataBytes)));
      }),
      options,
    );
  });

  it('every truncation of numpy-written files is reported, never misread', async () => {
    for (const name of ['f16_4x6.npy', 'fortran_f32_4x3.npy', 'f32_v2_3x4.npy', 'f32_v3_3x4.npy']) {
      const bytes = fixtureBytes(name);
      for (let length = 0; length < bytes.length; length++) {
        expect(await parsesOrInputError('cut.npy', () => readAll('cut.npy', bytes.subarray(0, length)))).toBe(false);
      }
    }
  });

  it('random byte corruption, including the magic and length fields, parses or raises InputError', async () => {
    const original = fixtureBytes('f16_4x6.npy');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat({ max: original.length + 10 })),
        async (edits, cut) => {
          const bytes = original.slice(0, cut ?? original.length);
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          await parsesOrInputError('bad.npy', () => readAll('bad.npy', bytes));
        },
      ),
      options,
    );
  });

  it('header length fields past the end of the file are refused before anything is read', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(1, 2), fc.nat({ max: 0xffffffff }), async (version, length) => {
        const bytes = npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", 4, version);
        const view = new DataView(bytes.buffer);
        if (version === 1) view.setUint16(8, length & 0xffff, true);
        else view.setUint32(8, length, true);
        await parsesOrInputError('len.npy', () => readAll('len.npy', bytes));
      }),
      options,
    );
  });
});
