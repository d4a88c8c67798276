/**
 * Opening a plain embedding file by path (.npy, .npz with a key, parquet with an embedding column),
 * for targets and for `inspect`. Format detection is by extension, the way users name these files;
 * the readers themselves are io's.
 */
import { basename, extname } from 'node:path';
import { InputError } from '../io/errors.js';
import { openFileSource } from '../io/node-files.js';
import { openNpy } from '../io/npy.js';
import { openNpz } from '../io/npz.js';
import { openParquet } from '../io/parquet.js';
import type { EmbeddingReader } from '../io/reader.js';
import type { ByteSource } from '../io/source.js';

/** The kinds of file the CLI reads embeddings from. */
export type EmbeddingFileKind = 'npy' | 'npz' | 'parquet';

/** The kind of `path` from its extension, or undefined for anything else. */
export function embeddingFileKind(path: string): EmbeddingFileKind | undefined {
  const ext = extname(path).toLowerCase();
  return ext === '.npy' ? 'npy' : ext === '.npz' ? 'npz' : ext === '.parquet' ? 'parquet' : undefined;
}

/** An embedding matrix opened from a file, with the source so the caller can close it. */
export interface OpenedEmbeddings {
  reader: EmbeddingReader;
  source: ByteSource;
  /** The npz key or parquet column that was read (null for .npy). */
  key: string | null;
}

/**
 * Opens the embedding matrix in `path`. For .npz, `key` names the array (required when it holds more
 * than one); for parquet it names the column (default: the only list/binary column that works, tried
 * in order 'embedding', 'emb', 'image_embedding').
 * @throws {InputError} naming the file when it cannot be read or the key is missing or ambiguous
 */
export async function openEmbeddingFile(path: string, key?: string): Promise<OpenedEmbeddings> {
  const kind = embeddingFileKind(path);
  if (!kind) throw new InputError(path, `unsupported file type '${extname(path) || basename(path)}' (expected .npy, .npz or .parquet)`);
  const source = await openFileSource(path);
  try {
    if (kind === 'npy') return { reader: await openNpy(source), source, key: null };
    if (kind === 'npz') {
      const npz = await openNpz(source);
      const chosen = key ?? (npz.keys.length === 1 ? npz.keys[0] : undefined);
      if (chosen === undefined) {
        throw new InputError(path, `holds ${npz.keys.length} arrays (${npz.keys.join(', ')}); pick one with --target-key`);
      }
      return { reader: await npz.open(chosen), source, key: chosen };
    }
    const parquet = await openParquet(source);
    const column = key ?? PARQUET_EMBEDDING_COLUMNS.find((c) => parquet.columns.includes(c));
    if (column === undefined) {
      throw new InputError(path, `no embedding column chosen (columns: ${parquet.columns.join(', ')}); pick one with --target-key`);
    }
    return { reader: await parquet.embeddings(column), source, key: column };
  } catch (error) {
    await source.close?.();
    throw error;
  }
}

/** Column names tried, in order, when a parquet embedding file is given without a key. */
const PARQUET_EMBEDDING_COLUMNS = ['embedding', 'embeddings', 'emb', 'image_embedding', 'img_emb'];
