/**
 * What the scoring worker scores: the built-in sample pool (src/sample), or files the user dropped,
 * opened through src/io's layouts over an in-memory file system of the browser's File objects:
 *
 * - DataComp: `<name>.parquet` + `<name>.npz` pairs;
 * - clip-retrieval: `img_emb_N.npy`, `text_emb_N.npy` (+ `metadata_N.parquet`), dropped flat or as
 *   folders; flat files are placed under img_emb/, text_emb/, metadata/ as the layout expects;
 * - plain files: one image and one text embedding file (.npy/.npz), told apart by img/image and
 *   txt/text in their names.
 *
 * Shards are read when scored, one at a time, so the pool is never in memory twice.
 */
import type { Embeddings } from '../index.js';
import { InputError } from '../io/errors.js';
import { memoryFileSystem, type FileSystem } from '../io/file-system.js';
import { listShards, openEmbeddingFile, openShard, type Arch, type KeyColumns, type Shard } from '../io/layouts.js';
import type { EmbeddingReader } from '../io/reader.js';
import { parseUids } from '../io/uid.js';
import { generateSamplePool, type SamplePool } from '../sample/pool.js';
import type { DroppedFile, PoolRequest } from './protocol.js';

/** One unit of negCLIPLoss batching: a DataComp shard, a clip-retrieval part, or a pair of plain files. */
export interface PoolShard {
  /** Shard name; its negCLIPLoss shuffle seed derives from it, as in `clipsift score`. */
  name: string;
  rows: number;
  read(): Promise<{ img: Embeddings; txt: Embeddings }>;
}

export interface LoadedPool {
  source: string;
  rows: number;
  ids: string[];
  hasUids: boolean;
  /** The uids as src/io's 4-word arrays (for tie-breaks and subset.npy); null without uids. */
  uids: Uint32Array | null;
  captions: (string | null)[];
  urls: (string | null)[];
  kinds: string[] | null;
  /** The sample pool itself, scored the way `clipsift demo` scores it; null for dropped files. */
  sample: SamplePool | null;
  shards: PoolShard[];
  target: Embeddings | null;
}

export type ProgressReport = (phase: string, done?: number, total?: number) => void;

export async function loadPool(request: PoolRequest, progress: ProgressReport): Promise<LoadedPool> {
  if (request.kind === 'sample') {
    progress('generating the sample pool');
    return samplePool();
  }
  progress('reading the dropped files');
  const pool = await droppedPool(request.files, request.arch);
  if (request.target) {
    progress(`reading the target ${request.target.name}`);
    const reader = await openEmbeddingFile(
      memoryFileSystem({ [request.target.name]: request.target }),
      request.target.name,
    );
    pool.target = await readAll(reader);
  }
  return pool;
}

function samplePool(): LoadedPool {
  const pool = generateSamplePool();
  return {
    source: `the built-in sample pool (seed ${pool.seed})`,
    rows: pool.image.rows,
    ids: pool.uids,
    hasUids: true,
    uids: parseUids(pool.uids, 'sample pool'),
    captions: pool.captions,
    urls: pool.urls,
    kinds: pool.kinds,
    sample: pool,
    shards: [],
    target: pool.target,
  };
}

async function droppedPool(dropped: DroppedFile[], arch: Arch): Promise<LoadedPool> {
  if (dropped.length === 0) throw new Error('drop some embedding files first');
  const files = dropped.map(({ file }) => file);
  const fs = memoryFileSystem(new Map(dropped.map(({ path, file }) => [placeFile(path), file])));
  const embeddingFiles = files.filter((file) => /\.(npy|npz)$/i.test(file.name));
  const isLayout =
    files.some((file) => file.name.endsWith('.parquet')) ||
    files.some((file) => /^(img|text)_emb_\d+\.npy$/.test(file.name));
  if (!isLayout && embeddingFiles.length === 2) return plainPool(fs, embeddingFiles);

  const refs = await listShards(fs, '');
  const shards: Shard[] = [];
  for (const ref of refs) shards.push(await openShard(fs, ref, { arch }));
  const ids: string[] = [];
  const captions: (string | null)[] = [];
  const urls: (string | null)[] = [];
  let uidColumns = true;
  for (const shard of shards) {
    const keys = await shard.readKeys();
    uidColumns &&= shard.keyColumns.length === 1 && shard.keyColumns[0] === 'uid';
    ids.push(...keyStrings(keys, shard.rows));
    captions.push(...(await optionalColumn(shard, ['text', 'caption'])));
    urls.push(...(await optionalColumn(shard, ['url'])));
  }
  const rows = ids.length;
  return {
    source:
      files.length === 1
        ? files[0]!.name
        : `${files.length} files, ${shards.length} shard${shards.length === 1 ? '' : 's'}`,
    rows,
    ids,
    hasUids: uidColumns,
    uids: uidColumns ? parseUids(ids, 'dropped metadata') : null,
    captions,
    urls,
    kinds: null,
    sample: null,
    shards: shards.map((shard) => ({
      name: shard.name,
      rows: shard.rows,
      read: async () => ({ img: await readAll(shard.image), txt: await readAll(shard.text) }),
    })),
    target: null,
  };
}

/** Where a dropped file sits in the layout's directory structure: folders as dropped, loose clip-retrieval files in their folders. */
function placeFile(path: string): string {
  if (path.includes('/')) return path;
  if (/^img_emb_\d+\.npy$/.test(path)) return `img_emb/${path}`;
  if (/^text_emb_\d+\.npy$/.test(path)) return `text_emb/${path}`;
  if (/^metadata_\d+\.parquet$/.test(path)) return `metadata/${path}`;
  return path;
}

/** Two plain embedding files: the one named img/image holds the images, txt/text the captions. */
async function plainPool(fs: FileSystem, files: File[]): Promise<LoadedPool> {
  const image = files.find((file) => /(^|[^a-z])(img|image)/i.test(file.name));
  const text = files.find((file) => file !== image && /(^|[^a-z])(txt|text)/i.test(file.name));
  if (!image || !text) {
    throw new InputError(
      files.map((file) => file.name).join(' + '),
      'two plain files must say which is which: put img or image in one name and txt or text in the other',
    );
  }
  const img = await openEmbeddingFile(fs, image.name);
  const txt = await openEmbeddingFile(fs, text.name);
  if (img.rows !== txt.rows)
    throw new InputError(text.name, `has ${txt.rows} rows but ${image.name} has ${img.rows}; rows must be aligned`);
  const stem = image.name.replace(/\.[^.]+$/, '');
  return {
    source: `${image.name} + ${text.name}`,
    rows: img.rows,
    ids: Array.from({ length: img.rows }, (_, row) => `${image.name}:${row}`),
    hasUids: false,
    uids: null,
    captions: new Array<string | null>(img.rows).fill(null),
    urls: new Array<string | null>(img.rows).fill(null),
    kinds: null,
    sample: null,
    shards: [{ name: stem, rows: img.rows, read: async () => ({ img: await readAll(img), txt: await readAll(txt) }) }],
    target: null,
  };
}

/** One string per row from the shard's key columns: the uid, the key, or "file:row". */
function keyStrings(keys: KeyColumns, rows: number): string[] {
  const columns = Object.values(keys);
  return Array.from({ length: rows }, (_, row) => columns.map((column) => String(column[row])).join(':'));
}

/** The first of `names` the shard's metadata has, as strings; nulls when it has none of them. */
async function optionalColumn(shard: Shard, names: string[]): Promise<(string | null)[]> {
  for (const name of names) {
    try {
      const values = (await shard.readMetadata([name]))[name];
      if (values) return values.map((value) => (value === null || value === undefined ? null : String(value)));
    } catch {
      // Not in this file (or no metadata file at all): try the next name.
    }
  }
  return new Array<string | null>(shard.rows).fill(null);
}

/** All rows of an embedding reader in one matrix, in the file's element type (float16 stays float16). */
async function readAll(reader: EmbeddingReader): Promise<Embeddings> {
  const data =
    reader.dtype === 'f2' ? new Uint16Array(reader.rows * reader.dim) : new Float32Array(reader.rows * reader.dim);
  for await (const chunk of reader.readRowChunks(16384)) data.set(chunk.data, chunk.start * reader.dim);
  return { data, rows: reader.rows, dim: reader.dim };
}
