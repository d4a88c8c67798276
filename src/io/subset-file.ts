/**
 * DataComp subset files: the `.npy` the resharder takes to pick samples, a
 * 1-D array of structured dtype [('f0', '<u8'), ('f1', '<u8')] holding each
 * uid's (hi, lo) halves, sorted ascending. We write exactly the bytes
 * numpy.save writes for that array.
 */
import { InputError } from './errors.js';
import { checkNpyDataSize, encodeNpyHeader, readNpyHeader } from './npy.js';
import type { PyValue } from './py-literal.js';
import { bytesSource, type ByteSource } from './source.js';
import { sortUids, UID_WORDS, uidCount } from './uid.js';

const SUBSET_DESCR = "[('f0', '<u8'), ('f1', '<u8')]";
const RECORD_BYTES = 16;

/**
 * Encode uids as a DataComp subset file. The uids are sorted and repeated
 * uids dropped first (a subset is a set), so any input order gives the same file.
 * @param uids a uid array (see uid.ts)
 */
export function encodeSubsetFile(uids: Uint32Array): Uint8Array {
  const sorted = sortUids(uids, { unique: true });
  const header = encodeSubsetHeader(uidCount(sorted));
  const out = new Uint8Array(header.length + sorted.length * 4);
  out.set(header);
  out.set(encodeSubsetRecords(sorted), header.length);
  return out;
}

/**
 * The .npy header of a subset file of `count` uids: with encodeSubsetRecords over the sorted unique uids
 * in any chunking, the bytes of encodeSubsetFile, so a large subset can be written as it is merged.
 */
export function encodeSubsetHeader(count: number): Uint8Array {
  return encodeNpyHeader(SUBSET_DESCR, [count]);
}

/** The records of already sorted, unique uids, as a subset file holds them after its header. */
export function encodeSubsetRecords(sorted: Uint32Array): Uint8Array {
  const count = uidCount(sorted);
  const out = new Uint8Array(count * RECORD_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    // Each u64 little-endian: low word first. Words are stored most significant first.
    const w = i * UID_WORDS;
    view.setUint32(i * 16, sorted[w + 1]!, true);
    view.setUint32(i * 16 + 4, sorted[w]!, true);
    view.setUint32(i * 16 + 8, sorted[w + 3]!, true);
    view.setUint32(i * 16 + 12, sorted[w + 2]!, true);
  }
  return out;
}

function isSubsetDescr(descr: PyValue): boolean {
  return (
    Array.isArray(descr) &&
    descr.length === 2 &&
    descr.every(
      (field) => Array.isArray(field) && field.length === 2 && typeof field[0] === 'string' && field[1] === '<u8',
    )
  );
}

/**
 * Read a subset file into a uid array, in file order.
 * @throws {InputError} if it is not a 1-D array of two little-endian u64 fields whose size matches the file
 */
export async function readSubsetFile(source: ByteSource): Promise<Uint32Array> {
  const header = await readNpyHeader(source);
  if (!isSubsetDescr(header.descr)) {
    const shown = typeof header.descr === 'string' ? `'${header.descr}'` : 'a different structured dtype';
    throw new InputError(source.name, `dtype ${shown} is not a DataComp subset dtype [('f0', '<u8'), ('f1', '<u8')]`, {
      field: 'descr',
    });
  }
  if (header.shape.length !== 1) {
    throw new InputError(source.name, `shape (${header.shape.join(', ')}) is not 1-D as a subset file's is`, {
      field: 'shape',
    });
  }
  checkNpyDataSize(source.name, header.shape, RECORD_BYTES, source.size - header.dataOffset);
  const count = Number(header.shape[0]);
  const bytes = await source.read(header.dataOffset, count * RECORD_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const uids = new Uint32Array(count * UID_WORDS);
  for (let i = 0; i < count; i++) {
    uids[i * UID_WORDS] = view.getUint32(i * 16 + 4, true);
    uids[i * UID_WORDS + 1] = view.getUint32(i * 16, true);
    uids[i * UID_WORDS + 2] = view.getUint32(i * 16 + 12, true);
    uids[i * UID_WORDS + 3] = view.getUint32(i * 16 + 8, true);
  }
  return uids;
}

/** readSubsetFile over bytes in memory. */
export function decodeSubsetFile(name: string, bytes: Uint8Array): Promise<Uint32Array> {
  return readSubsetFile(bytesSource(name, bytes));
}
