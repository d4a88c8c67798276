/**
 * .npz archives (numpy.savez / savez_compressed) as sets of .npy arrays.
 *
 * Stored entries (savez) are windows of the archive, read at random like any
 * .npy. Deflated entries (savez_compressed) can only be inflated from the
 * start, so they offer rows in order through readRowChunks and nothing is
 * ever inflated in full: DataComp's npz shards are ~3 GB.
 */
import { ByteStreamReader } from './byte-stream.js';
import { crc32 } from './crc32.js';
import { InputError } from './errors.js';
import {
  decodeElements,
  isColumnMajor,
  itemSize,
  NPY_PREAMBLE_BYTES,
  npyArrayFields,
  npyLayout,
  openNpy,
  parseNpyHeaderDict,
  parseNpyPreamble,
  type NpyArray,
  type NpyLayout,
} from './npy.js';
import { checkChunkRows, type RowChunk, type RowData } from './reader.js';
import { subSource, type ByteSource } from './source.js';
import {
  checkEntryCrc,
  DEFLATED,
  entryDataOffset,
  readEntryData,
  readZipDirectory,
  STORED,
  type ZipDirectory,
  type ZipEntry,
} from './zip.js';

/** An opened .npz: the array names it holds and a way to open each. */
export interface NpzFile {
  readonly name: string;
  /** Array names, as passed to numpy.savez (entry names without '.npy'). */
  readonly keys: string[];
  /** Open one array. @throws {InputError} naming the available keys if `key` is absent */
  open(key: string): Promise<NpyArray>;
}

/**
 * Read the directory of the .npz in `source`.
 * @throws {InputError} if it is not a readable zip archive
 */
export async function openNpz(source: ByteSource): Promise<NpzFile> {
  const directory = await readZipDirectory(source);
  const arrays = new Map<string, ZipEntry>();
  for (const entry of directory.entries) {
    if (entry.name.endsWith('.npy')) arrays.set(entry.name.slice(0, -4), entry);
  }
  const keys = [...arrays.keys()];
  return {
    name: source.name,
    keys,
    async open(key) {
      const entry = arrays.get(key);
      if (!entry)
        throw new InputError(
          source.name,
          `has no array '${key}' (it holds ${keys.map((k) => `'${k}'`).join(', ') || 'no arrays'})`,
          { field: key },
        );
      return openNpzEntry(source, directory, entry);
    },
  };
}

/** Open one array of an .npz; shorthand for `(await openNpz(source)).open(key)`. */
export async function openNpzArray(source: ByteSource, key: string): Promise<NpyArray> {
  return (await openNpz(source)).open(key);
}

async function openNpzEntry(source: ByteSource, directory: ZipDirectory, entry: ZipEntry): Promise<NpyArray> {
  const dataStart = await entryDataOffset(source, directory, entry);
  const label = `${source.name}:${entry.name}`;
  if (entry.method === STORED) return openStoredEntry(source, entry, dataStart, label);
  if (entry.method !== DEFLATED) {
    throw new InputError(
      label,
      `compression method ${entry.method} is not supported (only stored and deflated, as numpy writes)`,
    );
  }
  const stream = () => new ByteStreamReader(readEntryData(source, entry, dataStart));

  // Inflate just far enough to read the header, then let the stream go.
  const headerStream = stream();
  let layout: NpyLayout;
  try {
    layout = await readStreamedLayout(label, headerStream, entry.uncompressedSize);
  } finally {
    await headerStream.close();
  }
  const { header, dtype, rows, dim } = layout;
  if (isColumnMajor(header.fortranOrder, rows, dim)) {
    throw new InputError(
      label,
      'fortran_order=True (column-major) arrays cannot be streamed from a deflated npz; save them with np.ascontiguousarray first',
      { field: 'fortran_order' },
    );
  }
  const rowBytes = dim * itemSize(dtype);

  async function* readRowChunks(chunkRows: number): AsyncGenerator<RowChunk> {
    checkChunkRows(chunkRows);
    const reader = stream();
    try {
      await reader.read(header.dataOffset);
      for (let start = 0; start < rows; start += chunkRows) {
        const count = Math.min(chunkRows, rows - start);
        const bytes = await reader.read(count * rowBytes);
        if (bytes.length < count * rowBytes)
          throw new InputError(
            label,
            `truncated: the data ends inside row ${start + Math.floor(bytes.length / rowBytes)}`,
          );
        yield { start, rows: count, data: decodeElements(bytes, dtype) };
      }
      // Drain to the end so the size and CRC-32 checks run.
      if ((await reader.read(1)).length !== 0) throw new InputError(label, 'has bytes after the last row');
    } finally {
      await reader.close();
    }
  }

  return {
    ...npyArrayFields(label, layout),
    randomAccess: false,
    async readRows() {
      throw new InputError(
        label,
        'is deflated (np.savez_compressed), so rows can only be read in order with readRowChunks',
      );
    },
    readRowChunks,
  };
}

/**
 * A stored entry (numpy.savez) is a window of the archive, read like any .npy; its CRC-32 is checked
 * whenever the whole entry goes by: over the header and rows as readRowChunks streams them (row-major
 * data is read in file order), or on a readRows of every row. Column-major data is read in another
 * order, so for it readRowChunks first streams the entry once to check it.
 */
async function openStoredEntry(
  source: ByteSource,
  entry: ZipEntry,
  dataStart: number,
  label: string,
): Promise<NpyArray> {
  const window = subSource(source, dataStart, entry.uncompressedSize, label);
  const npy = await openNpy(window);
  const { rows, dim } = npy;
  const rowBytes = dim * itemSize(npy.sourceDtype);
  // openNpy checked the data is exactly rows × rowBytes, so the header is what comes before it.
  const dataOffset = entry.uncompressedSize - rows * rowBytes;
  const columnMajor = isColumnMajor(npy.fortranOrder, rows, dim);

  async function checkWhole(): Promise<void> {
    for await (const _piece of readEntryData(source, entry, dataStart));
  }

  async function* readRowChunks(chunkRows: number): AsyncGenerator<RowChunk> {
    checkChunkRows(chunkRows);
    if (columnMajor) {
      await checkWhole();
      yield* npy.readRowChunks(chunkRows);
      return;
    }
    let crc = crc32(await window.read(0, dataOffset));
    for (let start = 0; start < rows; start += chunkRows) {
      const count = Math.min(chunkRows, rows - start);
      const bytes = await window.read(dataOffset + start * rowBytes, count * rowBytes);
      crc = crc32(bytes, crc);
      // The last rows are only handed out once the entry checks out.
      if (start + count >= rows) checkEntryCrc(label, entry, crc);
      yield { start, rows: count, data: decodeElements(bytes, npy.sourceDtype) };
    }
    if (rows === 0) checkEntryCrc(label, entry, crc);
  }

  async function readRows(start: number, count: number): Promise<RowData> {
    if (start !== 0 || count !== rows || rows === 0) return npy.readRows(start, count);
    if (columnMajor) {
      await checkWhole();
      return npy.readRows(start, count);
    }
    const bytes = await window.read(0, entry.uncompressedSize);
    checkEntryCrc(label, entry, crc32(bytes));
    return decodeElements(bytes.subarray(dataOffset), npy.sourceDtype);
  }

  return { ...npy, readRows, readRowChunks };
}

async function readStreamedLayout(label: string, reader: ByteStreamReader, size: number): Promise<NpyLayout> {
  const prefix = await reader.read(12);
  const { version, dataOffset } = parseNpyPreamble(label, prefix, size);
  const preamble = NPY_PREAMBLE_BYTES[version];
  const dictBytes = new Uint8Array(dataOffset - preamble);
  // A tiny header may end inside the 12 bytes already read.
  const fromPrefix = prefix.subarray(preamble, Math.min(prefix.length, dataOffset));
  dictBytes.set(fromPrefix);
  const rest = await reader.read(dictBytes.length - fromPrefix.length);
  if (rest.length < dictBytes.length - fromPrefix.length)
    throw new InputError(label, 'truncated: the data ends inside the .npy header', { field: 'header' });
  dictBytes.set(rest, fromPrefix.length);
  const header = { version, dataOffset, ...parseNpyHeaderDict(label, version, dictBytes) };
  return npyLayout(label, header, size - dataOffset);
}
