/**
 * Streaming reader and writer for numpy's .npy format (versions 1, 2 and 3).
 *
 * Only the header is parsed eagerly; rows are read on demand, so a file of
 * any size costs memory in proportion to the rows asked for. Every header
 * field is checked against the real file size before it sizes anything.
 */
import { InputError } from './errors.js';
import { parsePyLiteral, type PyValue } from './py-literal.js';
import { chunksByRandomAccess, type EmbeddingReader, type RowData, type RowDtype } from './reader.js';
import type { ByteSource } from './source.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** Bytes before the header dict: magic, version, and a 2-byte (v1) or 4-byte (v2, v3) length. */
export const NPY_PREAMBLE_BYTES = { 1: 10, 2: 12, 3: 12 } as const;
/**
 * Refuse header dicts longer than this. numpy's own reader stops at 10 000
 * bytes unless told otherwise; real headers are ~128 bytes. The cap keeps a
 * corrupt v2 length field (up to 4 GiB) from sizing an allocation.
 */
export const MAX_NPY_HEADER_BYTES = 1 << 20;

/** The little-endian float dtypes we read. '<f8' is narrowed to float32 on read. */
export type NpyDtype = '<f2' | '<f4' | '<f8';

/** What the bytes before the data say. */
export interface NpyHeader {
  version: 1 | 2 | 3;
  /** Offset of the first data byte: preamble plus header dict. */
  dataOffset: number;
  /** The dtype description as written: a string like '<f4', or a list for structured dtypes. */
  descr: PyValue;
  fortranOrder: boolean;
  /** Dimensions; entries too large for a safe integer stay bigint so checks can report them. */
  shape: (number | bigint)[];
}

/**
 * Check the magic, version and header length found in the first bytes of a
 * file of `fileSize` bytes.
 * @param prefix the file's first bytes (at least 12, or the whole file if shorter)
 * @returns the version and the offset where the data starts
 */
export function parseNpyPreamble(
  name: string,
  prefix: Uint8Array,
  fileSize: number,
): { version: 1 | 2 | 3; dataOffset: number } {
  if (prefix.length < 8 || !MAGIC.every((b, i) => prefix[i] === b)) {
    throw new InputError(name, 'not an .npy file: it does not start with the magic bytes \\x93NUMPY', {
      field: 'magic',
    });
  }
  const major = prefix[6]!;
  const minor = prefix[7]!;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new InputError(name, `unsupported .npy format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`, {
      field: 'version',
    });
  }
  const version = major as 1 | 2 | 3;
  const preamble = NPY_PREAMBLE_BYTES[version];
  if (prefix.length < preamble) {
    throw new InputError(name, `truncated: the .npy preamble needs ${preamble} bytes but the file has ${fileSize}`, {
      field: 'header length',
    });
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, preamble);
  const headerLength = version === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_NPY_HEADER_BYTES) {
    throw new InputError(name, `header length ${headerLength} exceeds the ${MAX_NPY_HEADER_BYTES}-byte limit`, {
      field: 'header length',
    });
  }
  const dataOffset = preamble + headerLength;
  if (dataOffset > fileSize) {
    throw new InputError(
      name,
      `truncated: header length ${headerLength} runs past the end of the file (${fileSize} bytes)`,
      { field: 'header length' },
    );
  }
  return { version, dataOffset };
}

/**
 * Parse the header dict (the bytes between the preamble and the data).
 * Like numpy, require exactly the keys descr, fortran_order and shape.
 */
export function parseNpyHeaderDict(
  name: string,
  version: 1 | 2 | 3,
  dictBytes: Uint8Array,
): Pick<NpyHeader, 'descr' | 'fortranOrder' | 'shape'> {
  // v1 and v2 headers are latin-1, v3 is utf-8 (for unicode field names).
  const text = new TextDecoder(version === 3 ? 'utf-8' : 'latin1').decode(dictBytes);
  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (err) {
    throw new InputError(name, `malformed .npy header: ${(err as Error).message}`, { field: 'header' });
  }
  if (!(dict instanceof Map)) throw new InputError(name, 'malformed .npy header: not a dict', { field: 'header' });
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') {
    throw new InputError(name, `malformed .npy header: keys are {${keys}}, expected {descr, fortran_order, shape}`, {
      field: 'header',
    });
  }
  const fortranOrder = dict.get('fortran_order');
  if (typeof fortranOrder !== 'boolean')
    throw new InputError(name, 'malformed .npy header: fortran_order is not True or False', { field: 'fortran_order' });
  const shape = dict.get('shape');
  if (!Array.isArray(shape) || !shape.every((d) => (typeof d === 'number' || typeof d === 'bigint') && d >= 0)) {
    throw new InputError(name, 'malformed .npy header: shape is not a tuple of non-negative integers', {
      field: 'shape',
    });
  }
  return { descr: dict.get('descr')!, fortranOrder, shape: shape as (number | bigint)[] };
}

/** Read and check the header of the .npy file in `source`. */
export async function readNpyHeader(source: ByteSource): Promise<NpyHeader> {
  const prefix = await source.read(0, Math.min(12, source.size));
  const { version, dataOffset } = parseNpyPreamble(source.name, prefix, source.size);
  const preamble = NPY_PREAMBLE_BYTES[version];
  const dict = parseNpyHeaderDict(source.name, version, await source.read(preamble, dataOffset - preamble));
  return { version, dataOffset, ...dict };
}

/**
 * Map a header's descr to a dtype we read, or explain why not.
 */
export function embeddingDtype(name: string, descr: PyValue): NpyDtype {
  if (typeof descr !== 'string') {
    throw new InputError(
      name,
      `dtype ${describeDescr(descr)} is a structured dtype; expected float16 '<f2' or float32 '<f4'`,
      { field: 'descr' },
    );
  }
  if (descr === '<f2' || descr === '<f4' || descr === '<f8') return descr;
  const kind = /^[<>|=]?([a-zA-Z])/.exec(descr)?.[1];
  const why = descr.startsWith('>')
    ? 'big-endian data is not supported; re-save it little-endian'
    : kind === 'O'
      ? 'object arrays hold pickled Python objects, not numbers'
      : kind === 'U'
        ? 'unicode string arrays hold text, not embeddings'
        : kind === 'S' || kind === 'a'
          ? 'byte string arrays hold text, not embeddings'
          : 'unsupported element type';
  throw new InputError(name, `dtype '${descr}' is not readable (${why}); expected float16 '<f2' or float32 '<f4'`, {
    field: 'descr',
  });
}

function describeDescr(descr: PyValue): string {
  return JSON.stringify(descr, (_k, v: unknown) =>
    typeof v === 'bigint' ? String(v) : v instanceof Map ? Object.fromEntries(v) : v,
  );
}

/** Bytes per element of a dtype. */
export function itemSize(dtype: NpyDtype): 2 | 4 | 8 {
  return dtype === '<f2' ? 2 : dtype === '<f4' ? 4 : 8;
}

/**
 * Check that `shape` of `itemsize`-byte elements is exactly `dataBytes` long.
 * Uses BigInt so a product that would overflow a double is reported, not wrapped.
 */
export function checkNpyDataSize(
  name: string,
  shape: readonly (number | bigint)[],
  itemsize: number,
  dataBytes: number,
): void {
  const needed = shape.reduce<bigint>((n, d) => n * BigInt(d), BigInt(itemsize));
  if (needed !== BigInt(dataBytes)) {
    const problem = needed > BigInt(dataBytes) ? 'truncated' : 'has trailing bytes';
    throw new InputError(
      name,
      `${problem}: shape (${shape.join(', ')}) × ${itemsize} bytes needs ${needed} data bytes but ${dataBytes} are present`,
      { field: 'shape' },
    );
  }
}

/**
 * Rows and dim of an embedding matrix. A 1-D array of length n is one
 * embedding (1 row × n), how a single target vector is usually saved.
 */
export function matrixShape(name: string, shape: readonly (number | bigint)[]): { rows: number; dim: number } {
  const [rows, dim] = shape.length === 2 ? [shape[0]!, shape[1]!] : shape.length === 1 ? [1, shape[0]!] : [-1, -1];
  // A zero dim with many rows would pass the size check with no data at all
  // and then make callers iterate over 'rows' empty rows: refuse it.
  if (dim === 0 || dim === 0n)
    throw new InputError(name, `shape (${shape.join(', ')}) has embeddings of dimension 0`, { field: 'shape' });
  if (rows !== -1) return { rows: Number(rows), dim: Number(dim) };
  throw new InputError(
    name,
    `shape (${shape.join(', ')}) has ${shape.length} dimensions; expected a 1-D vector or a 2-D rows × dim matrix`,
    { field: 'shape' },
  );
}

/** Convert little-endian element bytes to row data: f2 stays as bits, f4 as is, f8 narrows to f4. */
export function decodeElements(bytes: Uint8Array, dtype: NpyDtype): RowData {
  const size = itemSize(dtype);
  // Typed-array views need aligned offsets; copy the rare misaligned buffer.
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const count = aligned.length / size;
  if (dtype === '<f2') return new Uint16Array(aligned.buffer, aligned.byteOffset, count);
  if (dtype === '<f4') return new Float32Array(aligned.buffer, aligned.byteOffset, count);
  return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, count));
}

/** The output element type for a file dtype. */
export function rowDtypeOf(dtype: NpyDtype): RowDtype {
  return dtype === '<f2' ? 'f2' : 'f4';
}

/** An opened .npy matrix: header facts plus row access. */
export interface NpyArray extends EmbeddingReader {
  /** The file's dtype; '<f8' is delivered as float32. */
  readonly sourceDtype: NpyDtype;
  readonly shape: readonly number[];
  readonly fortranOrder: boolean;
  /** Whether readRows is available (false for deflated npz entries). */
  readonly randomAccess: boolean;
  /** Read rows [start, start+count) in row-major order. */
  readRows(start: number, count: number): Promise<RowData>;
}

/** Validated facts about an embedding .npy, shared by the random-access and streaming readers. */
export interface NpyLayout {
  header: NpyHeader;
  dtype: NpyDtype;
  rows: number;
  dim: number;
}

/** Check a parsed header describes an embedding matrix whose data is exactly `dataBytes` long. */
export function npyLayout(name: string, header: NpyHeader, dataBytes: number): NpyLayout {
  const dtype = embeddingDtype(name, header.descr);
  const { rows, dim } = matrixShape(name, header.shape);
  checkNpyDataSize(name, header.shape, itemSize(dtype), dataBytes);
  return { header, dtype, rows, dim };
}

/** Whether a rows × dim matrix saved with `fortranOrder` is laid out otherwise than row-major (both dimensions exceed 1). */
export function isColumnMajor(fortranOrder: boolean, rows: number, dim: number): boolean {
  return fortranOrder && rows > 1 && dim > 1;
}

/** The fields every NpyArray over `layout` has, whoever reads its rows (a file, a stored or a deflated npz entry). */
export function npyArrayFields(
  name: string,
  { header, dtype, rows, dim }: NpyLayout,
): Pick<NpyArray, 'name' | 'rows' | 'dim' | 'dtype' | 'sourceDtype' | 'shape' | 'fortranOrder'> {
  return {
    name,
    rows,
    dim,
    dtype: rowDtypeOf(dtype),
    sourceDtype: dtype,
    shape: header.shape.map(Number),
    fortranOrder: header.fortranOrder,
  };
}

/**
 * Open an .npy embedding matrix for random access.
 * Fortran-order (column-major) files are read correctly, one column strip at a time.
 * @throws {InputError} for anything but a 1-D/2-D little-endian float16/32/64 array whose size matches the file
 */
export async function openNpy(source: ByteSource): Promise<NpyArray> {
  const header = await readNpyHeader(source);
  const layout = npyLayout(source.name, header, source.size - header.dataOffset);
  const { dtype, rows, dim } = layout;
  const size = itemSize(dtype);
  const base = header.dataOffset;
  const columnMajor = isColumnMajor(header.fortranOrder, rows, dim);

  const readRows = async (start: number, count: number): Promise<RowData> => {
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(count) ||
      start < 0 ||
      count < 0 ||
      start + count > rows
    ) {
      throw new RangeError(`${source.name}: rows ${start}..${start + count} are outside 0..${rows}`);
    }
    if (!columnMajor) return decodeElements(await source.read(base + start * dim * size, count * dim * size), dtype);
    const out = dtype === '<f2' ? new Uint16Array(count * dim) : new Float32Array(count * dim);
    for (let j = 0; j < dim; j++) {
      const column = decodeElements(await source.read(base + (j * rows + start) * size, count * size), dtype);
      for (let i = 0; i < count; i++) out[i * dim + j] = column[i]!;
    }
    return out;
  };

  return {
    ...npyArrayFields(source.name, layout),
    randomAccess: true,
    readRows,
    readRowChunks: (chunkRows) => chunksByRandomAccess(rows, chunkRows, readRows),
  };
}

/**
 * Build the bytes numpy.save writes before the data: magic, version, length,
 * and the header dict padded with spaces (room for the shape to grow, then to a
 * 64-byte boundary) and a newline. Version 1 unless the header needs more than 64 KiB.
 * @param descrRepr Python repr of the dtype, e.g. `'<f4'` or `[('f0', '<u8'), ('f1', '<u8')]`
 */
export function encodeNpyHeader(descrRepr: string, shape: readonly number[]): Uint8Array {
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': ${descrRepr}, 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  // numpy leaves room for the first axis to grow to 21 digits without rewriting the file.
  if (shape.length > 0) dict += ' '.repeat(Math.max(0, 21 - String(shape[0]).length));
  const dictBytes = new TextEncoder().encode(dict);
  for (const version of [1, 2] as const) {
    const preamble = NPY_PREAMBLE_BYTES[version];
    const withNewline = dictBytes.length + 1;
    const pad = 64 - ((preamble + withNewline) % 64);
    const headerLength = withNewline + pad;
    if (version === 1 && headerLength > 0xffff) continue;
    const out = new Uint8Array(preamble + headerLength);
    out.set(MAGIC);
    out[6] = version;
    const view = new DataView(out.buffer);
    if (version === 1) view.setUint16(8, headerLength, true);
    else view.setUint32(8, headerLength, true);
    out.set(dictBytes, preamble);
    out.fill(0x20, preamble + dictBytes.length, out.length - 1);
    out[out.length - 1] = 0x0a;
    return out;
  }
  throw new RangeError('unreachable: a version 2 header always fits');
}

/**
 * Encode a row-major matrix as .npy bytes identical to numpy.save's.
 * Uint16Array data is written as float16 bits ('<f2'), Float32Array as '<f4'.
 * @param data rows × dim values
 * @param shape [rows, dim], or [n] for a 1-D array
 */
export function encodeNpy(data: Float32Array | Uint16Array, shape: readonly number[]): Uint8Array<ArrayBuffer> {
  const count = shape.reduce((n, d) => n * d, 1);
  if (count !== data.length)
    throw new RangeError(`shape (${shape.join(', ')}) holds ${count} values but data has ${data.length}`);
  const header = encodeNpyHeader(data instanceof Uint16Array ? "'<f2'" : "'<f4'", shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}
