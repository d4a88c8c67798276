/**
 * `.safetensors` files: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {...}}`, then the tensors'
 * row-major little-endian bytes, offsets relative to the end of the header.
 */
import { InputError } from './errors.js';
import type { EmbeddingReader } from './reader.js';
import { subSource, type ByteSource } from './source.js';
import { openTensor, type TensorDtype } from './tensor.js';

/** The header is JSON; 100 MB is the limit the format's reference implementation enforces. */
const MAX_HEADER_BYTES = 100_000_000;

const DTYPES: Record<string, TensorDtype> = { F16: 'f2', F32: 'f4', F64: 'f8', BF16: 'bf16' };
const ITEM_BYTES: Record<string, number> = { F16: 2, F32: 4, F64: 8, BF16: 2 };

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** An opened .safetensors file. */
export interface SafetensorsFile {
  readonly name: string;
  readonly keys: string[];
  /** Opens one tensor as embeddings; `key` is optional when the file holds one tensor. */
  open(key?: string): Promise<EmbeddingReader>;
}

/**
 * Reads the header of the .safetensors file in `source`.
 * @throws {InputError} for a malformed header or tensors outside the file
 */
export async function openSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const { name } = source;
  if (source.size < 8) throw new InputError(name, 'is too short for a safetensors header');
  const length = new DataView((await source.read(0, 8)).buffer).getBigUint64(0, true);
  if (length > BigInt(Math.min(MAX_HEADER_BYTES, source.size - 8)))
    throw new InputError(name, `safetensors header length ${length} is beyond the file`, { field: 'header' });
  const dataStart = 8 + Number(length);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(await source.read(8, Number(length))));
  } catch (error) {
    throw new InputError(name, `safetensors header is not JSON (${(error as Error).message})`, { field: 'header' });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new InputError(name, 'safetensors header is not a JSON object', { field: 'header' });
  const tensors = new Map<string, HeaderEntry>();
  for (const [key, value] of Object.entries(header)) {
    if (key === '__metadata__') continue;
    const entry = value as HeaderEntry;
    const ok =
      typeof entry === 'object' &&
      entry !== null &&
      typeof entry.dtype === 'string' &&
      Array.isArray(entry.shape) &&
      entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
      Array.isArray(entry.data_offsets) &&
      entry.data_offsets.length === 2 &&
      entry.data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0) &&
      entry.data_offsets[0] <= entry.data_offsets[1] &&
      dataStart + entry.data_offsets[1] <= source.size;
    if (!ok)
      throw new InputError(name, `safetensors header entry '${key}' is malformed or points outside the file`, {
        field: key,
      });
    tensors.set(key, entry);
  }
  const keys = [...tensors.keys()];
  return {
    name,
    keys,
    async open(key) {
      const chosen = key ?? (keys.length === 1 ? keys[0] : undefined);
      if (chosen === undefined)
        throw new InputError(name, `holds ${keys.length} tensors (${keys.join(', ')}); pick one with --target-key`);
      const entry = tensors.get(chosen);
      if (!entry)
        throw new InputError(
          name,
          `has no tensor '${chosen}' (it holds ${keys.map((k) => `'${k}'`).join(', ') || 'none'})`,
          {
            field: chosen,
          },
        );
      const label = `${name}:${chosen}`;
      const dtype = DTYPES[entry.dtype];
      if (!dtype)
        throw new InputError(label, `dtype ${entry.dtype}; embeddings must be F16, BF16, F32 or F64`, {
          field: 'dtype',
        });
      const [begin, end] = entry.data_offsets;
      const elements = entry.shape.reduce((a, b) => a * b, 1);
      if (elements * ITEM_BYTES[entry.dtype]! !== end - begin)
        throw new InputError(label, `shape (${entry.shape.join(', ')}) does not match its ${end - begin} data bytes`, {
          field: 'data_offsets',
        });
      const dim = entry.shape[entry.shape.length - 1] ?? 1;
      return openTensor({
        name: label,
        source: subSource(source, dataStart + begin, end - begin, label),
        dtype,
        shape: entry.shape,
        strides: entry.shape.length === 2 ? [dim, 1] : [1],
        offset: 0,
      });
    },
  };
}
