/**
 * An embedding matrix stored as a strided tensor in a byte source: what .pt storages and .safetensors
 * data are. One reader for both, so row access, dtype conversion and bounds checks live in one place.
 */
import { InputError } from './errors.js';
import { matrixShape } from './npy.js';
import { chunksByRandomAccess, type EmbeddingReader, type RowData } from './reader.js';
import { checkRange, type ByteSource } from './source.js';

/** Element types read from tensor files; float64 and bfloat16 are delivered as float32. */
export type TensorDtype = 'f2' | 'f4' | 'f8' | 'bf16';

const ITEM_BYTES: Record<TensorDtype, number> = { f2: 2, f4: 4, f8: 8, bf16: 2 };

/** Where a tensor's elements are in `source`: element (i, j) is at `offset + i·strides[0] + j·strides[1]`. */
export interface TensorLayout {
  /** Name for messages, e.g. `target.pt:image_features`. */
  name: string;
  source: ByteSource;
  dtype: TensorDtype;
  /** 1-D (one row) or 2-D (rows × dim). */
  shape: readonly number[];
  /** In elements, one per dimension. */
  strides: readonly number[];
  /** In elements, from the start of `source`. */
  offset: number;
}

/**
 * Opens a strided 1-D or 2-D tensor as an EmbeddingReader. Row-major contiguous data (the usual case)
 * is read row range by row range; any other stride pattern reads the span the rows cover and gathers.
 * @throws {InputError} when the shape is not a matrix or the elements lie outside the source
 */
export function openTensor(
  layout: TensorLayout,
): EmbeddingReader & { readRows(start: number, count: number): Promise<RowData>; sourceDtype: TensorDtype } {
  const { name, source, dtype, offset } = layout;
  const { rows, dim } = matrixShape(name, layout.shape);
  const strides = layout.shape.length === 2 ? layout.strides : [0, layout.strides[0] ?? 1];
  const [rowStride, colStride] = [strides[0]!, strides[1]!];
  const size = ITEM_BYTES[dtype];
  if (![offset, rowStride, colStride].every((v) => Number.isSafeInteger(v) && v >= 0))
    throw new InputError(name, `tensor has an invalid offset or strides (${offset}; ${strides.join(', ')})`, {
      field: 'stride',
    });
  const last = rows === 0 ? offset : offset + (rows - 1) * rowStride + (dim - 1) * colStride;
  checkRange(source.name, source.size, offset * size, rows === 0 ? 0 : (last - offset + 1) * size, `tensor ${name}`);
  const contiguous = colStride === 1 && (rowStride === dim || rows <= 1);

  const readRows = async (start: number, count: number): Promise<RowData> => {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > rows)
      throw new RangeError(`${name}: rows ${start}..${start + count} are outside 0..${rows}`);
    if (count === 0) return dtype === 'f2' ? new Uint16Array(0) : new Float32Array(0);
    const first = offset + start * rowStride;
    if (contiguous) return decodeTensorElements(await source.read(first * size, count * dim * size), dtype);
    const end = first + (count - 1) * rowStride + (dim - 1) * colStride + 1;
    const span = decodeTensorElements(await source.read(first * size, (end - first) * size), dtype);
    const out = span instanceof Uint16Array ? new Uint16Array(count * dim) : new Float32Array(count * dim);
    for (let i = 0; i < count; i++)
      for (let j = 0; j < dim; j++) out[i * dim + j] = span[i * rowStride + j * colStride]!;
    return out;
  };

  return {
    name,
    rows,
    dim,
    dtype: dtype === 'f2' ? 'f2' : 'f4',
    sourceDtype: dtype,
    readRows,
    readRowChunks: (chunkRows) => chunksByRandomAccess(rows, chunkRows, readRows),
  };
}

/** Little-endian elements to row data: float16 stays as bits, float32 as is, float64 and bfloat16 become float32. */
export function decodeTensorElements(bytes: Uint8Array, dtype: TensorDtype): RowData {
  const size = ITEM_BYTES[dtype];
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const count = aligned.length / size;
  if (dtype === 'f2') return new Uint16Array(aligned.buffer, aligned.byteOffset, count);
  if (dtype === 'f4') return new Float32Array(aligned.buffer, aligned.byteOffset, count);
  if (dtype === 'f8') return Float32Array.from(new Float64Array(aligned.buffer, aligned.byteOffset, count));
  // bfloat16 is the top half of a float32.
  const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, count);
  const words = new Uint32Array(count);
  for (let i = 0; i < count; i++) words[i] = halves[i]! << 16;
  return new Float32Array(words.buffer);
}
