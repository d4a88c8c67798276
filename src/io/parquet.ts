/**
 * Parquet in and out, through hyparquet and hyparquet-writer.
 *
 * Every codec writers use is read: SNAPPY by hyparquet itself; GZIP, BROTLI, LZ4 and LZ4_RAW by
 * hyparquet-compressors' JavaScript decoders and ZSTD by fzstd (the decoder hyparquet-compressors
 * uses). The decoders are imported one by one rather than through the package's `compressors`
 * object, which compiles a snappy wasm module from bytes as it loads: workerd forbids that, and the
 * demo page imports this module on its main thread.
 *
 * Reading goes through a ByteSource, so only the footer and the requested
 * column chunks are fetched. Anything hyparquet throws on a malformed file
 * is turned into an InputError naming the file.
 */
import {
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type AsyncBuffer,
  type Compressors,
  type FileMetaData,
  type SchemaTree,
} from 'hyparquet';
import { decompressBrotli } from 'hyparquet-compressors/src/brotli.js';
import { gunzip } from 'hyparquet-compressors/src/gzip.js';
import { decompressLz4, decompressLz4Raw } from 'hyparquet-compressors/src/lz4.js';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { decompress as decompressZstd } from 'fzstd';
import { InputError } from './errors.js';
import { checkChunkRows, type EmbeddingReader, type RowChunk, type RowData, type RowDtype } from './reader.js';
import type { ByteSource } from './source.js';

/** Present a ByteSource as the AsyncBuffer hyparquet reads from. */
export function asyncBufferOf(source: ByteSource): AsyncBuffer {
  return {
    byteLength: source.size,
    slice(start: number, end = source.size) {
      const read = source
        .read(start, end - start)
        .then((bytes) =>
          bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
            ? bytes.buffer
            : bytes.slice().buffer,
        );
      // hyparquet starts several reads at once and stops awaiting the rest when
      // one fails; mark each as handled so the others do not surface as
      // unhandled rejections. The caller awaiting it still sees the error.
      read.catch(() => undefined);
      return read;
    },
  };
}

/** Decoders of the codecs hyparquet does not decode itself. */
const compressors: Compressors = {
  GZIP: (input, length) => gunzip(input, new Uint8Array(length)),
  BROTLI: decompressBrotli,
  ZSTD: (input, length) => decompressZstd(input, new Uint8Array(length)),
  LZ4: decompressLz4,
  LZ4_RAW: decompressLz4Raw,
};

/** A half-open row range; defaults to all rows. */
export interface RowRange {
  rowStart?: number;
  rowEnd?: number;
}

/** How to read an embedding column. */
export interface EmbeddingColumnOptions {
  /**
   * Element type of a binary (fixed-size or variable) column: the bytes
   * alone do not say whether 1024 bytes are 512 halves or 256 floats.
   */
  dtype?: RowDtype;
  /** Expected dimension; also settles the element type of a binary column. */
  dim?: number;
}

/** An opened parquet file. */
export interface ParquetInput {
  readonly name: string;
  readonly rows: number;
  /** Rows of each row group, in order: reading along these boundaries decodes every group once. */
  readonly rowGroups: number[];
  /** Top-level column names, in schema order. */
  readonly columns: string[];
  /** The file's key-value metadata. */
  readonly metadata: Record<string, string>;
  /**
   * Read the named columns over a row range, one array per column.
   * @throws {InputError} naming a column that does not exist, or if the data cannot be decoded
   */
  readColumns(names: string[], range?: RowRange): Promise<Record<string, unknown[]>>;
  /**
   * Open an embedding column: list<float|double|half> or binary of float16/float32.
   * @throws {InputError} if the column is missing or not an embedding type
   */
  embeddings(column: string, options?: EmbeddingColumnOptions): Promise<EmbeddingReader>;
}

/** Run a hyparquet call, reporting its failures as InputError on `file`. */
async function guarded<T>(file: string, what: string, run: () => Promise<T>, field?: string): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof InputError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new InputError(file, `${what}: ${message}`, field === undefined ? {} : { field });
  }
}

/**
 * Open the parquet file in `source`, reading only its footer.
 * @throws {InputError} if the footer is missing or malformed
 */
export async function openParquet(source: ByteSource): Promise<ParquetInput> {
  const { name } = source;
  const file = asyncBufferOf(source);
  const metadata: FileMetaData = await guarded(name, 'not a readable parquet file', () => parquetMetadataAsync(file));
  const schema = await guarded(name, 'malformed parquet schema', async () => parquetSchema(metadata));
  const rows = Number(metadata.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0)
    throw new InputError(name, `row count ${metadata.num_rows} is not plausible`);
  const groupRows = metadata.row_groups.reduce((n, g) => n + Number(g.num_rows), 0);
  if (groupRows !== rows) throw new InputError(name, `row groups hold ${groupRows} rows but the footer says ${rows}`);
  const columns = schema.children.map((c) => c.element.name);
  const keyValues: Record<string, string> = {};
  for (const { key, value } of metadata.key_value_metadata ?? []) keyValues[key] = value ?? '';

  const child = (column: string): SchemaTree => {
    const found = schema.children.find((c) => c.element.name === column);
    if (!found)
      throw new InputError(name, `has no column '${column}' (columns: ${columns.join(', ')})`, { field: column });
    return found;
  };

  const checkRange = (range: RowRange) => {
    const rowStart = range.rowStart ?? 0;
    const rowEnd = range.rowEnd ?? rows;
    if (
      !Number.isSafeInteger(rowStart) ||
      !Number.isSafeInteger(rowEnd) ||
      rowStart < 0 ||
      rowEnd > rows ||
      rowStart > rowEnd
    ) {
      throw new RangeError(`${name}: rows ${rowStart}..${rowEnd} are outside 0..${rows}`);
    }
    return { rowStart, rowEnd };
  };

  /** Read columns into arrays indexed from rowStart; hyparquet may hand back chunks wider than asked. */
  const read = async (names: string[], range: RowRange, utf8: boolean): Promise<Record<string, unknown[]>> => {
    names.forEach(child);
    const { rowStart, rowEnd } = checkRange(range);
    const out: Record<string, unknown[]> = {};
    for (const column of names) out[column] = new Array<unknown>(rowEnd - rowStart);
    if (rowEnd === rowStart) return out;
    await guarded(
      name,
      `cannot read column${names.length > 1 ? 's' : ''} ${names.join(', ')}`,
      () =>
        parquetRead({
          file,
          metadata,
          compressors,
          columns: names,
          rowStart,
          rowEnd,
          utf8,
          useOffsetIndex: true,
          onChunk({ columnName, columnData, rowStart: chunkStart, rowEnd: chunkEnd }) {
            const target = out[columnName];
            if (!target) return;
            for (let row = Math.max(rowStart, chunkStart); row < Math.min(rowEnd, chunkEnd); row++)
              target[row - rowStart] = columnData[row - chunkStart];
          },
        }),
      names.join(','),
    );
    for (const column of names) {
      const values = out[column]!;
      for (let i = 0; i < values.length; i++) {
        if (!(i in values))
          throw new InputError(name, 'rows are missing from the decoded column (corrupt pages?)', {
            row: rowStart + i,
            field: column,
          });
      }
    }
    return out;
  };

  return {
    name,
    rows,
    rowGroups: metadata.row_groups.map((g) => Number(g.num_rows)),
    columns,
    metadata: keyValues,
    readColumns: (names, range = {}) => read(names, range, true),
    async embeddings(column, options = {}) {
      const layout = embeddingLayout(name, child(column), options);
      return embeddingReader(name, column, rows, layout, options, (range) =>
        read([column], range, false).then((r) => r[column]!),
      );
    },
  };
}

/** How an embedding column's values are stored. */
type EmbeddingLayout = { kind: 'list' } | { kind: 'binary'; itemsize: 2 | 4; fixedLength?: number };

function embeddingLayout(file: string, node: SchemaTree, options: EmbeddingColumnOptions): EmbeddingLayout {
  const { element } = node;
  const column = element.name;
  // list<x> is a group (usually annotated LIST) with one repeated child, which may itself wrap the leaf.
  if (node.children.length > 0) {
    let leaf = node;
    let repeated = node.element.repetition_type === 'REPEATED' ? 1 : 0;
    while (leaf.children.length === 1) {
      leaf = leaf.children[0]!;
      if (leaf.element.repetition_type === 'REPEATED') repeated++;
    }
    // One embedding is one list of numbers; a list of lists (DataComp's face_bboxes) is something else.
    if (repeated > 1)
      throw new InputError(file, `column is a list of lists (${repeated} levels), not an embedding`, {
        field: column,
      });
    const type = leaf.element.type;
    const half = leaf.element.logical_type?.type === 'FLOAT16';
    if (leaf.children.length === 0 && (type === 'FLOAT' || type === 'DOUBLE' || half)) return { kind: 'list' };
    throw new InputError(
      file,
      `column is a ${element.converted_type ?? 'group'} of ${half ? 'FLOAT16' : (type ?? 'groups')}, not a list of floats`,
      { field: column },
    );
  }
  const type = element.type;
  if ((type === 'FIXED_LEN_BYTE_ARRAY' || type === 'BYTE_ARRAY') && element.converted_type !== 'UTF8') {
    const fixedLength = type === 'FIXED_LEN_BYTE_ARRAY' ? element.type_length : undefined;
    let itemsize: 2 | 4 | undefined = options.dtype === 'f2' ? 2 : options.dtype === 'f4' ? 4 : undefined;
    if (itemsize === undefined && options.dim !== undefined && fixedLength !== undefined) {
      const guess = fixedLength / options.dim;
      if (guess === 2 || guess === 4) itemsize = guess;
    }
    if (itemsize === undefined) {
      throw new InputError(
        file,
        `binary embedding column${fixedLength ? ` of ${fixedLength}-byte values` : ''} needs its element type: pass dtype 'f2' or 'f4' (or the dim)`,
        { field: column },
      );
    }
    return fixedLength === undefined ? { kind: 'binary', itemsize } : { kind: 'binary', itemsize, fixedLength };
  }
  throw new InputError(
    file,
    `column of type ${element.converted_type ?? type} is not an embedding (expected list<float> or binary float16/float32)`,
    { field: column },
  );
}

async function embeddingReader(
  file: string,
  column: string,
  rows: number,
  layout: EmbeddingLayout,
  options: EmbeddingColumnOptions,
  readRange: (range: RowRange) => Promise<unknown[]>,
): Promise<EmbeddingReader> {
  const dtype: RowDtype = layout.kind === 'binary' && layout.itemsize === 2 ? 'f2' : 'f4';
  const isList = (value: unknown): value is ArrayLike<number> =>
    Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array;

  /** A list column's width is only known from its data: take it from row 0; pack checks the rest against it. */
  const firstRowWidth = async (): Promise<number> => {
    if (rows === 0) return 0;
    const [value] = await readRange({ rowStart: 0, rowEnd: 1 });
    const width =
      layout.kind === 'list'
        ? isList(value)
          ? value.length
          : 0
        : value instanceof Uint8Array
          ? value.length / layout.itemsize
          : 0;
    if (!Number.isInteger(width) || width === 0)
      throw new InputError(file, 'first embedding is null, empty or not whole floats', { row: 0, field: column });
    return width;
  };

  const fixedWidth =
    layout.kind === 'binary' && layout.fixedLength !== undefined ? layout.fixedLength / layout.itemsize : undefined;
  if (fixedWidth !== undefined && !Number.isInteger(fixedWidth)) {
    throw new InputError(
      file,
      `binary values of ${(layout as { fixedLength: number }).fixedLength} bytes are not whole ${dtype === 'f2' ? 'float16' : 'float32'} vectors`,
      { field: column },
    );
  }
  const dim = options.dim ?? fixedWidth ?? (await firstRowWidth());

  /** Pack decoded rows into one row-major array, checking every row has `dim` values. */
  const pack = (values: unknown[], start: number): RowData => {
    const out = dtype === 'f2' ? new Uint16Array(values.length * dim) : new Float32Array(values.length * dim);
    values.forEach((value, i) => {
      const row = start + i;
      if (layout.kind === 'list') {
        if (!isList(value))
          throw new InputError(file, `embedding is ${value === null || value === undefined ? 'null' : 'not a list'}`, {
            row,
            field: column,
          });
        if (value.length !== dim)
          throw new InputError(file, `embedding has ${value.length} values, expected ${dim}`, { row, field: column });
        out.set(value, i * dim);
      } else {
        if (!(value instanceof Uint8Array)) throw new InputError(file, 'embedding is null', { row, field: column });
        if (value.length !== dim * layout.itemsize) {
          throw new InputError(file, `embedding has ${value.length} bytes, expected ${dim * layout.itemsize}`, {
            row,
            field: column,
          });
        }
        const copy = value.slice(); // aligned, whatever the offset of hyparquet's view
        out.set(
          layout.itemsize === 2 ? new Uint16Array(copy.buffer, 0, dim) : new Float32Array(copy.buffer, 0, dim),
          i * dim,
        );
      }
    });
    return out;
  };

  return {
    name: `${file}:${column}`,
    rows,
    dim,
    dtype,
    async *readRowChunks(chunkRows: number): AsyncGenerator<RowChunk> {
      checkChunkRows(chunkRows);
      for (let start = 0; start < rows; start += chunkRows) {
        const count = Math.min(chunkRows, rows - start);
        yield { start, rows: count, data: pack(await readRange({ rowStart: start, rowEnd: start + count }), start) };
      }
    },
  };
}

/** Column types the parquet writer takes. */
export type ParquetColumn = string[] | Float32Array | Float64Array | Int32Array | BigInt64Array;

/** A table to write as parquet (score files go through score-file.ts, which uses this). */
export interface ParquetTable {
  /** Columns by name, all of the same length, in output order. */
  columns: Record<string, ParquetColumn>;
  /** Key-value metadata. */
  metadata?: Record<string, string>;
}

function schemaType(
  name: string,
  data: ParquetColumn,
): { type: 'BYTE_ARRAY' | 'FLOAT' | 'DOUBLE' | 'INT32' | 'INT64'; converted_type?: 'UTF8' } {
  if (data instanceof Float32Array) return { type: 'FLOAT' };
  if (data instanceof Float64Array) return { type: 'DOUBLE' };
  if (data instanceof Int32Array) return { type: 'INT32' };
  if (data instanceof BigInt64Array) return { type: 'INT64' };
  if (Array.isArray(data) && data.every((v) => typeof v === 'string'))
    return { type: 'BYTE_ARRAY', converted_type: 'UTF8' };
  throw new TypeError(`column ${name} must be string[], Float32Array, Float64Array, Int32Array or BigInt64Array`);
}

/**
 * Encode a table as parquet: float32 as FLOAT, float64 as DOUBLE, strings as UTF8,
 * every column REQUIRED, with the metadata as key-value pairs.
 * @returns the parquet file's bytes
 */
export function writeParquetTable(table: ParquetTable): Uint8Array {
  const entries = Object.entries(table.columns);
  if (entries.length === 0) throw new TypeError('a parquet table needs at least one column');
  const length = entries[0]![1].length;
  for (const [name, data] of entries) {
    if (data.length !== length) throw new TypeError(`column ${name} has ${data.length} rows, expected ${length}`);
  }
  const buffer = parquetWriteBuffer({
    columnData: entries.map(([name, data]) => ({ name, data })),
    schema: [
      { name: 'schema', num_children: entries.length },
      ...entries.map(([name, data]) => ({ name, repetition_type: 'REQUIRED' as const, ...schemaType(name, data) })),
    ],
    kvMetadata: Object.entries(table.metadata ?? {}).map(([key, value]) => ({ key, value })),
    createdBy: 'clipsift',
  });
  return new Uint8Array(buffer);
}
