/**
 * Zip container reading, just enough for .npz files: the end records (with
 * zip64), the central directory, local headers, and entry data as a stream.
 *
 * Every offset and size read from the file is checked against the file
 * before use, and nothing is allocated from a size the file claims: entry
 * data is only ever read in bounded pieces.
 */
import { Inflate } from 'fflate';
import { crc32 } from './crc32.js';
import { InputError } from './errors.js';
import { checkRange, type ByteSource } from './source.js';

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_BYTES = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_BYTES = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_BYTES = 56;
const CENTRAL_SIGNATURE = 0x02014b50;
const CENTRAL_BYTES = 46;
const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_BYTES = 30;
const MAX_COMMENT_BYTES = 0xffff;
/** An .npz directory is a few hundred bytes; refuse directories that would need a large buffer. */
export const MAX_CENTRAL_DIRECTORY_BYTES = 64 << 20;

/** Compression methods we inflate. */
export const STORED = 0;
export const DEFLATED = 8;

/** One file in the archive, as the central directory describes it. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** The central directory of an archive. */
export interface ZipDirectory {
  entries: ZipEntry[];
  /** Where the central directory starts; entry data must end before it. */
  centralDirectoryOffset: number;
}

function u64(name: string, view: DataView, at: number, field: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new InputError(name, `zip ${field} ${value} is beyond any real file size`, { field });
  return Number(value);
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Find the end-of-central-directory record. It sits in the last 22 bytes
 * unless the archive has a comment, so the search covers at most the
 * largest possible comment.
 */
async function findEndRecord(source: ByteSource): Promise<{ position: number; view: DataView }> {
  const { name, size } = source;
  if (size < EOCD_BYTES)
    throw new InputError(name, `not a zip file: ${size} bytes is too short for an end-of-central-directory record`);
  const tailLength = Math.min(size, EOCD_BYTES + MAX_COMMENT_BYTES);
  const tailStart = size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  const view = dataView(tail);
  for (let i = tailLength - EOCD_BYTES; i >= 0; i--) {
    if (view.getUint32(i, true) !== EOCD_SIGNATURE) continue;
    // A signature-like run inside a comment must not fool us: the record and its comment must fit in the file.
    if (i + EOCD_BYTES + view.getUint16(i + 20, true) > tailLength) continue;
    return { position: tailStart + i, view: new DataView(tail.buffer, tail.byteOffset + i, EOCD_BYTES) };
  }
  throw new InputError(name, 'not a zip file: no end-of-central-directory record');
}

/** Where the central directory is and how many entries it holds, from the (zip64) end records. */
async function locateCentralDirectory(
  source: ByteSource,
): Promise<{ offset: number; size: number; count: number; limit: number }> {
  const { name } = source;
  const end = await findEndRecord(source);
  const eocd = end.view;
  if (eocd.getUint16(4, true) !== 0 || eocd.getUint16(6, true) !== 0) {
    throw new InputError(name, 'multi-disk (spanned) zip archives are not supported');
  }
  let count = eocd.getUint16(10, true);
  let size = eocd.getUint32(12, true);
  let offset = eocd.getUint32(16, true);
  let limit = end.position;
  const needsZip64 = count === 0xffff || size === 0xffffffff || offset === 0xffffffff;

  const locatorAt = end.position - ZIP64_LOCATOR_BYTES;
  const locator = locatorAt >= 0 ? dataView(await source.read(locatorAt, ZIP64_LOCATOR_BYTES)) : undefined;
  if (locator && locator.getUint32(0, true) === ZIP64_LOCATOR_SIGNATURE) {
    const recordAt = u64(name, locator, 8, 'zip64 end record offset');
    if (recordAt + ZIP64_EOCD_BYTES > locatorAt) {
      throw new InputError(name, `zip64 end record offset ${recordAt} is outside the file`, {
        field: 'zip64 end record offset',
      });
    }
    const record = dataView(await source.read(recordAt, ZIP64_EOCD_BYTES));
    if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) {
      throw new InputError(name, `no zip64 end record at offset ${recordAt}`, { field: 'zip64 end record offset' });
    }
    count = u64(name, record, 32, 'entry count');
    size = u64(name, record, 40, 'central directory size');
    offset = u64(name, record, 48, 'central directory offset');
    limit = recordAt;
  } else if (needsZip64) {
    throw new InputError(name, 'zip64 end record locator is missing but the end record needs it');
  }

  if (offset + size > limit) {
    throw new InputError(
      name,
      `central directory (bytes ${offset}..${offset + size}) lies outside the file before its end record at ${limit}`,
      { field: 'central directory' },
    );
  }
  if (size > MAX_CENTRAL_DIRECTORY_BYTES) {
    throw new InputError(
      name,
      `central directory of ${size} bytes exceeds the ${MAX_CENTRAL_DIRECTORY_BYTES}-byte limit`,
      { field: 'central directory' },
    );
  }
  if (count * CENTRAL_BYTES > size) {
    throw new InputError(name, `central directory of ${size} bytes cannot hold the ${count} entries it claims`, {
      field: 'central directory',
    });
  }
  return { offset, size, count, limit };
}

/** Replace 0xffffffff placeholders with the values from the zip64 extra field (id 1). */
function applyZip64Extra(name: string, entryName: string, extra: Uint8Array, entry: ZipEntry): void {
  const sized = (v: number) => v === 0xffffffff;
  const wanted = [sized(entry.uncompressedSize), sized(entry.compressedSize), sized(entry.localHeaderOffset)];
  if (!wanted.some(Boolean)) return;
  const view = dataView(extra);
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = view.getUint16(at, true);
    const length = view.getUint16(at + 2, true);
    if (at + 4 + length > extra.length) break;
    if (id === 1) {
      let p = at + 4;
      const next = (field: string) => {
        if (p + 8 > at + 4 + length)
          throw new InputError(name, `entry ${entryName}: zip64 extra field is too short for its ${field}`, {
            field: entryName,
          });
        const value = u64(name, view, p, field);
        p += 8;
        return value;
      };
      if (wanted[0]) entry.uncompressedSize = next('uncompressed size');
      if (wanted[1]) entry.compressedSize = next('compressed size');
      if (wanted[2]) entry.localHeaderOffset = next('local header offset');
      return;
    }
    at += 4 + length;
  }
  throw new InputError(name, `entry ${entryName}: sizes need a zip64 extra field but there is none`, {
    field: entryName,
  });
}

/**
 * Read and check the central directory of the zip archive in `source`.
 * @throws {InputError} when the archive is not a zip, is truncated, or any entry points outside the file
 */
export async function readZipDirectory(source: ByteSource): Promise<ZipDirectory> {
  const { name } = source;
  const location = await locateCentralDirectory(source);
  const directory = await source.read(location.offset, location.size);
  const view = dataView(directory);
  const names = new TextDecoder();
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < location.count; i++) {
    if (at + CENTRAL_BYTES > directory.length || view.getUint32(at, true) !== CENTRAL_SIGNATURE) {
      throw new InputError(
        name,
        `central directory entry ${i} at offset ${location.offset + at} is missing or corrupt`,
        { field: 'central directory' },
      );
    }
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const recordEnd = at + CENTRAL_BYTES + nameLength + extraLength + commentLength;
    if (recordEnd > directory.length) {
      throw new InputError(name, `central directory entry ${i} runs past the end of the directory`, {
        field: 'central directory',
      });
    }
    const entryName = names.decode(directory.subarray(at + CENTRAL_BYTES, at + CENTRAL_BYTES + nameLength));
    const flags = view.getUint16(at + 8, true);
    if (flags & 1) throw new InputError(name, `entry ${entryName} is encrypted`, { field: entryName });
    const entry: ZipEntry = {
      name: entryName,
      method: view.getUint16(at + 10, true),
      crc32: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      uncompressedSize: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    const extraStart = at + CENTRAL_BYTES + nameLength;
    applyZip64Extra(name, entryName, directory.subarray(extraStart, extraStart + extraLength), entry);
    if (entry.localHeaderOffset + LOCAL_BYTES > location.offset) {
      throw new InputError(
        name,
        `entry ${entryName}: local header offset ${entry.localHeaderOffset} is outside the file's data area (0..${location.offset})`,
        { field: entryName },
      );
    }
    if (entry.method === STORED && entry.compressedSize !== entry.uncompressedSize) {
      throw new InputError(
        name,
        `entry ${entryName} is stored but its sizes differ (${entry.compressedSize} vs ${entry.uncompressedSize})`,
        { field: entryName },
      );
    }
    entries.push(entry);
    at = recordEnd;
  }
  return { entries, centralDirectoryOffset: location.offset };
}

/**
 * Read an entry's local header and return where its data starts, checking
 * the data lies before the central directory.
 */
export async function entryDataOffset(source: ByteSource, directory: ZipDirectory, entry: ZipEntry): Promise<number> {
  const { name } = source;
  checkRange(
    name,
    directory.centralDirectoryOffset,
    entry.localHeaderOffset,
    LOCAL_BYTES,
    `local header of ${entry.name}`,
  );
  const header = dataView(await source.read(entry.localHeaderOffset, LOCAL_BYTES));
  if (header.getUint32(0, true) !== LOCAL_SIGNATURE) {
    throw new InputError(name, `entry ${entry.name}: no local header at offset ${entry.localHeaderOffset}`, {
      field: entry.name,
    });
  }
  const dataStart = entry.localHeaderOffset + LOCAL_BYTES + header.getUint16(26, true) + header.getUint16(28, true);
  if (dataStart + entry.compressedSize > directory.centralDirectoryOffset) {
    throw new InputError(
      name,
      `entry ${entry.name}: data (bytes ${dataStart}..${dataStart + entry.compressedSize}) runs past the data area (0..${directory.centralDirectoryOffset})`,
      { field: entry.name },
    );
  }
  return dataStart;
}

/** Compressed bytes pushed to the inflater at a time; bounds the output of one push (deflate expands at most ~1032×). */
const INFLATE_INPUT_BYTES = 64 << 10;
const STORED_PIECE_BYTES = 1 << 20;

/**
 * Stream an entry's uncompressed bytes in pieces (stored or deflated), checking at the end that
 * the size and CRC-32 match the directory.
 * @param dataStart from entryDataOffset
 */
export async function* readEntryData(
  source: ByteSource,
  entry: ZipEntry,
  dataStart: number,
): AsyncGenerator<Uint8Array> {
  const label = `${source.name}:${entry.name}`;
  let produced = 0;
  let crc = 0;
  const account = (piece: Uint8Array) => {
    produced += piece.length;
    if (produced > entry.uncompressedSize) {
      throw new InputError(
        label,
        `inflates to more than the ${entry.uncompressedSize} bytes the zip directory records`,
      );
    }
    crc = crc32(piece, crc);
  };

  if (entry.method === STORED) {
    for (let at = 0; at < entry.compressedSize; at += STORED_PIECE_BYTES) {
      const piece = await source.read(dataStart + at, Math.min(STORED_PIECE_BYTES, entry.compressedSize - at));
      account(piece);
      yield piece;
    }
  } else if (entry.method === DEFLATED) {
    let output: Uint8Array[] = [];
    const inflater = new Inflate((chunk) => {
      output.push(chunk);
    });
    for (let at = 0; at < entry.compressedSize || at === 0; at += INFLATE_INPUT_BYTES) {
      const length = Math.min(INFLATE_INPUT_BYTES, entry.compressedSize - at);
      const input = await source.read(dataStart + at, length);
      try {
        inflater.push(input, at + length >= entry.compressedSize);
      } catch (err) {
        throw new InputError(label, `corrupt deflate data: ${(err as Error).message}`);
      }
      const ready = output;
      output = [];
      for (const piece of ready) {
        account(piece);
        yield piece;
      }
      if (entry.compressedSize === 0) break;
    }
  } else {
    throw new InputError(
      label,
      `compression method ${entry.method} is not supported (only stored and deflated, as numpy writes)`,
    );
  }

  if (produced !== entry.uncompressedSize) {
    throw new InputError(
      label,
      `truncated: data has ${produced} bytes but the zip directory records ${entry.uncompressedSize}`,
    );
  }
  checkEntryCrc(label, entry, crc);
}

/**
 * Throws when `crc`, computed over all of an entry's uncompressed bytes, is not the one the directory
 * records (numpy refuses such an entry with "Bad CRC-32").
 * @param label names the file and entry, `<file>:<entry>`
 */
export function checkEntryCrc(label: string, entry: ZipEntry, crc: number): void {
  if (crc !== entry.crc32) {
    throw new InputError(
      label,
      `bad CRC-32 (data ${crc.toString(16)}, directory ${entry.crc32.toString(16)}): the entry is corrupt`,
    );
  }
}
