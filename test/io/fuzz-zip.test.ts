/** Issue 6 item 1: the zip/npz reader under fuzzing, on archives numpy and python's zipfile wrote. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openNpz } from '../../src/io/npz.js';
import { bytesSource } from '../../src/io/source.js';
import { entryDataOffset, readZipDirectory } from '../../src/io/zip.js';
import { bytesOf, expectedBytes, FUZZ_RUNS, FUZZ_TIME_MS, fixtureBytes, parsesOrInputError } from './helpers.js';

const options = { numRuns: FUZZ_RUNS, plugins: [fc.interruptAfterTimeLimit(FUZZ_TIME_MS)] };
const ARCHIVES = ['stored.npz', 'compressed.npz', 'zip64_stored.npz', 'zip64_deflated.npz', 'commented.npz'];

/** Open the archive and stream every array to the end (where sizes and CRCs are checked). */
async function readEverything(name: string, bytes: Uint8Array): Promise<number> {
  const npz = await openNpz(bytesSource(name, bytes));
  let rows = 0;
  for (const key of npz.keys) {
    const array = await npz.open(key);
    for await (const chunk of array.readRowChunks(2)) rows += chunk.rows;
  }
  return rows;
}

/** Offsets of every zip structure in a file, found by signature, with the offsets of their numeric fields. */
function fieldOffsets(bytes: Uint8Array): number[] {
  const fields: Record<number, number[]> = {
    0x04034b50: [14, 18, 22, 26, 28], // local header: crc, sizes, name and extra lengths
    0x02014b50: [16, 20, 24, 28, 30, 32, 42], // central header: crc, sizes, lengths, local offset
    0x06064b50: [24, 32, 40, 48], // zip64 end record: counts, directory size and offset
    0x07064b50: [8], // zip64 locator: end record offset
    0x06054b50: [8, 10, 12, 16, 20], // end record: counts, directory size and offset, comment length
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offsets: number[] = [];
  for (let at = 0; at + 4 <= bytes.length; at++) {
    for (const k of fields[view.getUint32(at, true)] ?? []) offsets.push(at + k);
  }
  // zip64 extra fields inside central headers hold 8-byte sizes and offsets.
  for (let at = 0; at + 4 <= bytes.length; at++)
    if (view.getUint16(at, true) === 1 && view.getUint16(at + 2, true) % 8 === 0 && view.getUint16(at + 2, true) > 0)
      offsets.push(at + 4, at + 12, at + 20);
  return offsets.filter((o) => o < bytes.length);
}

describe('zip reader fuzzing', () => {
  it('the untouched archives read completely', async () => {
    for (const name of ARCHIVES) expect(await readEverything(name, fixtureBytes(name))).toBeGreaterThan(0);
  });

  it('truncation at every byte of the zip64 archives and the end region of the others is reported', async () => {
    for (const name of ARCHIVES) {
      const bytes = fixtureBytes(name);
      const start = name.startsWith('zip64') ? 0 : Math.max(0, bytes.length - 400);
      for (let length = start; length < bytes.length; length++) {
        const parsed = await parsesOrInputError('cut.npz', () => readEverything('cut.npz', bytes.subarray(0, length)));
        // Only a cut inside an archive comment leaves every structure intact.
        if (parsed) expect(name).toBe('commented.npz');
      }
    }
  });

  it('offset, size and length fields set to hostile values parse or raise InputError', async () => {
    const hostile = fc.oneof(
      fc.nat({ max: 4096 }),
      fc.constantFrom(0, 1, 0xffff, 0xffffffff, 2 ** 32, 2 ** 53, 2 ** 63, 2 ** 64 - 1).map(Number),
      fc.nat(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ARCHIVES),
        fc.nat(),
        hostile,
        fc.constantFrom(2, 4, 8),
        async (name, pick, value, width) => {
          const bytes = fixtureBytes(name).slice();
          const offsets = fieldOffsets(bytes);
          const at = offsets[pick % offsets.length]!;
          if (at + width > bytes.length) return;
          const view = new DataView(bytes.buffer);
          if (width === 2) view.setUint16(at, value & 0xffff, true);
          else if (width === 4) view.setUint32(at, value >>> 0, true);
          else view.setBigUint64(at, BigInt(Math.min(value, 2 ** 64 - 1)) & 0xffffffffffffffffn, true);
          await parsesOrInputError('hostile.npz', () => readEverything('hostile.npz', bytes));
        },
      ),
      options,
    );
  });

  it('random byte corruption anywhere (magic numbers, deflate streams, data) parses or raises InputError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ARCHIVES),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 }),
        async (name, edits) => {
          const bytes = fixtureBytes(name).slice();
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          await parsesOrInputError('noisy.npz', () => readEverything('noisy.npz', bytes));
        },
      ),
      options,
    );
  });

  it('a corrupted deflated stream is caught (inflate error, size or CRC-32) or still yields the exact data', async () => {
    const bytes = fixtureBytes('compressed.npz');
    const source = bytesSource('compressed.npz', bytes);
    const directory = await readZipDirectory(source);
    const entry = directory.entries[0]!;
    const dataStart = await entryDataOffset(source, directory, entry);
    const dataEnd = dataStart + entry.compressedSize;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: dataStart, max: dataEnd - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, flip) => {
          const noisy = bytes.slice();
          noisy[at]! ^= flip;
          const parts: number[] = [];
          const first = async () => {
            const npz = await openNpz(bytesSource('flip.npz', noisy));
            const array = await npz.open(entry.name.slice(0, -4));
            for await (const chunk of array.readRowChunks(100)) parts.push(...bytesOf(chunk.data));
          };
          // Flipping padding bits after the final deflate block changes nothing, so "parsed" must mean "parsed right".
          if (await parsesOrInputError('flip.npz', first))
            expect(new Uint8Array(parts)).toEqual(expectedBytes(`stored.npz.${entry.name.slice(0, -4)}`));
        },
      ),
      options,
    );
  });
});
