/**
 * The NormSim target of a `clipsift score` run: read once, checked like the shards, and identified by
 * content (sha256) so a resumed run can tell whether finished score files used the same target.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { halfTable } from '../numeric/float16.js';
import { InputError } from '../io/errors.js';
import { baseName, joinPath } from '../io/file-system.js';
import { type FileSystem, pathKindIn } from '../io/file-system.js';
import type { RowData } from '../io/reader.js';
import type { ByteSource } from '../io/source.js';
import { openEmbeddingFile } from '../io/layouts.js';
import { nodeFileSystem } from '../io/node-files.js';
import { isRemotePath } from '../io/remote.js';
import { normalizeRows } from '../numeric/normalize.js';
import { gatherRows, listRows, type GatheredRows, type RowStats } from './rows.js';
import type { TargetIdentity } from '../io/score-file.js';

/** A target's rows in memory, ready for the engine's prepareTarget. */
export interface LoadedTarget {
  data: RowData;
  rows: number;
  dim: number;
  identity: TargetIdentity;
  stats: RowStats;
}

/** Target files a directory contributes: its .pt/.pth/.safetensors/.npy/.npz/.parquet files, by name. */
const TARGET_FILE = /\.(pt|pth|safetensors|npy|npz|parquet)$/;

/**
 * The files named by `paths`, in order: files as given, a directory's target files sorted by name
 * (the official code concatenates a folder of .pt files).
 */
export async function resolveTargetFiles(paths: readonly string[], fs: FileSystem = nodeFileSystem): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const kind = await pathKindIn(fs, path);
    if (kind === 'missing') throw new InputError(path, 'no such file or directory');
    if (kind === 'file') {
      files.push(path);
      continue;
    }
    const names = (await fs.list(path)).filter((name) => TARGET_FILE.test(name) && !name.startsWith('.')).sort();
    if (names.length === 0)
      throw new InputError(path, 'holds no target files (.pt, .pth, .safetensors, .npy, .npz or .parquet)');
    files.push(...names.map((name) => joinPath(path, name)));
  }
  return files;
}

/**
 * Reads the target rows of every file or directory in `paths` (each `--target`), concatenated in order.
 * `key` picks an .npz array, a .pt/.safetensors tensor or a parquet column; a file holding one array
 * uses it whatever the key. Rejects non-finite or zero rows (a target row is a reference point;
 * dropping one silently would change every NormSim), checks every file has the same dim, and
 * L2-normalises when asked. float16 files stay float16 unless mixed with float32 ones. `fs` reads them
 * (default: the local disk and URLs; io/remote.ts signedInputs for signed URLs).
 */
export async function loadTarget(
  paths: string | readonly string[],
  key: string | undefined,
  normalize: boolean,
  fs: FileSystem = nodeFileSystem,
): Promise<LoadedTarget> {
  const files = await resolveTargetFiles(typeof paths === 'string' ? [paths] : paths, fs);
  const parts: { file: string; gathered: GatheredRows }[] = [];
  // The identity's sha256 is of the files' bytes one after the other, each file's taken as it is read.
  const hash = createHash('sha256');
  let bytes = 0;
  for (const file of files) {
    const { reader, source } = await openHashedTargetFile(file, key, hash, fs);
    try {
      parts.push({ file, gathered: await gatherRows(reader) });
    } finally {
      await reader.close();
    }
    bytes += source.size;
    // A remote file's bytes were hashed as they came: only what the reader skipped is fetched now.
    if (source.finish) await source.finish();
    else await hashInto(hash, file);
  }
  const first = parts[0]!;
  for (const { file, gathered } of parts) {
    if (gathered.dim !== first.gathered.dim)
      throw new InputError(file, `target has dim ${gathered.dim} but ${first.file} has dim ${first.gathered.dim}`);
    const { stats } = gathered;
    if (stats.nonFiniteRows.length > 0)
      throw new InputError(file, `target rows hold NaN or Inf: rows ${listRows(stats.nonFiniteRows)}`);
    if (stats.zeroRows.length > 0)
      throw new InputError(file, `target rows are all zeros: rows ${listRows(stats.zeroRows)}`);
  }
  const rows = parts.reduce((n, p) => n + p.gathered.rows, 0);
  if (rows === 0) throw new InputError(files.join(', '), 'the target has no rows');
  const dim = first.gathered.dim;
  const gathered =
    parts.length === 1
      ? first.gathered.data
      : concatRows(
          parts.map((p) => p.gathered.data),
          rows * dim,
        );
  // In place for float32 when the array is ours alone: a large target should not be held twice.
  const data = normalize
    ? normalizeRows(gathered, dim, gathered instanceof Float32Array ? gathered : undefined)
    : gathered;
  return {
    data,
    rows,
    dim,
    stats: mergeStats(parts.map((p) => p.gathered.stats)),
    identity: { ...identityNames(files, key, rows, dim), bytes, sha256: hash.digest('hex') },
  };
}

/** What score files record of a target: names, key, shape, bytes and the sha256 of the files' bytes. */
async function targetIdentity(
  files: readonly string[],
  key: string | undefined,
  rows: number,
  dim: number,
  fs: FileSystem,
): Promise<TargetIdentity> {
  return {
    ...identityNames(files, key, rows, dim),
    bytes: (await Promise.all(files.map((file) => sizeOf(file, fs)))).reduce((n, size) => n + size, 0),
    sha256: await sha256Files(files, fs),
  };
}

/** A target identity's names, key and shape. */
function identityNames(
  files: readonly string[],
  key: string | undefined,
  rows: number,
  dim: number,
): Pick<TargetIdentity, 'name' | 'key' | 'rows' | 'dim'> {
  return { name: files.map((file) => baseName(file)).join(' + '), key: key ?? null, rows, dim };
}

/** A target's shape from its files' headers, without reading its rows (for sizing a run). */
export interface TargetShape {
  rows: number;
  dim: number;
  /** Bytes per value as loaded: 2 when every file is float16, else 4. */
  elementBytes: number;
  /** The identity score files record; reads every byte of the target to hash it. */
  identity(): Promise<TargetIdentity>;
}

/**
 * The shape of the target `paths` (each `--target`) from the headers of its files.
 * @throws {InputError} naming a file that cannot be opened, or whose dim differs from the first's
 */
export async function targetShape(
  paths: readonly string[],
  key: string | undefined,
  fs: FileSystem = nodeFileSystem,
): Promise<TargetShape> {
  const files = await resolveTargetFiles(paths, fs);
  let rows = 0;
  let dim = -1;
  let allHalf = true;
  for (const file of files) {
    const reader = await openTargetFile(file, key, fs);
    try {
      if (dim >= 0 && reader.dim !== dim)
        throw new InputError(file, `target has dim ${reader.dim} but ${files[0]} has dim ${dim}`);
      dim = reader.dim;
      rows += reader.rows;
      allHalf &&= reader.dtype === 'f2';
    } finally {
      await reader.close();
    }
  }
  if (rows === 0) throw new InputError(files.join(', '), 'the target has no rows');
  return { rows, dim, elementBytes: allHalf ? 2 : 4, identity: () => targetIdentity(files, key, rows, dim, fs) };
}

/** Rows of several arrays one after the other; float16 parts are widened when any part is float32. */
function concatRows(parts: RowData[], length: number): RowData {
  const allHalf = parts.every((p) => p instanceof Uint16Array);
  const out: RowData = allHalf ? new Uint16Array(length) : new Float32Array(length);
  const half = halfTable();
  let at = 0;
  for (const part of parts) {
    if (allHalf || part instanceof Float32Array) out.set(part as never, at);
    else for (let i = 0; i < part.length; i++) out[at + i] = half[part[i]!]!;
    at += part.length;
  }
  return out;
}

function mergeStats(all: RowStats[]): RowStats {
  const norms = all.filter((s) => s.normCount > 0);
  return {
    rows: all.reduce((n, s) => n + s.rows, 0),
    nonFiniteRows: [],
    zeroRows: [],
    overlargeRows: [],
    minNorm: norms.length ? Math.min(...norms.map((s) => s.minNorm)) : NaN,
    maxNorm: norms.length ? Math.max(...norms.map((s) => s.maxNorm)) : NaN,
    normSum: all.reduce((n, s) => n + s.normSum, 0),
    normCount: all.reduce((n, s) => n + s.normCount, 0),
  };
}

/** sha256 of the files' bytes one after the other (for one file, the file's own sha256). */
async function sha256Files(files: readonly string[], fs: FileSystem): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) await hashInto(hash, file, fs);
  return hash.digest('hex');
}

/** sha256 of a file, streamed so a multi-gigabyte target is not held twice. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await hashInto(hash, path);
  return hash.digest('hex');
}

/** A file's size in bytes (local, s3:// or https://). */
async function sizeOf(path: string, fs: FileSystem): Promise<number> {
  const source = await fs.open(path);
  await source.close?.();
  return source.size;
}

async function hashInto(hash: Hash, path: string, fs: FileSystem = nodeFileSystem): Promise<void> {
  if (isRemotePath(path)) {
    // Remote: ranged reads of 8 MiB, so a large target is hashed without holding it.
    const source = await fs.open(path);
    try {
      const part = 8 * 1024 * 1024;
      for (let at = 0; at < source.size; at += part)
        hash.update(await source.read(at, Math.min(part, source.size - at)));
    } finally {
      await source.close?.();
    }
    return;
  }
  return new Promise((resolve, reject) => {
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', (error) => reject(new InputError(path, `cannot read: ${error.message}`)))
      .on('end', () => resolve());
  });
}

/** One target file's embeddings: the array or column `key` when it has one, else its only embeddings. */
function openTargetFile(file: string, key: string | undefined, fs: FileSystem = nodeFileSystem) {
  return openEmbeddingFile(fs, file, key !== undefined ? { key, column: key, keyIfPresent: true } : {});
}

/** A source whose bytes go into a hash in file order as they are read; `finish` hashes the rest. */
interface HashedSource extends ByteSource {
  /** For a remote file: reads and hashes what was not read in order (absent for local files). */
  finish?: () => Promise<void>;
}

/**
 * openTargetFile, with the source it read through. A remote file's reads feed `hash` whenever they
 * continue the bytes hashed so far, or skip at most HASH_GAP_BYTES of them (an .npy, an npz entry are read
 * front to back), so hashing it afterwards downloads only what the reader read out of order or did not
 * read, not the whole file a second time.
 */
async function openHashedTargetFile(file: string, key: string | undefined, hash: Hash, files: FileSystem) {
  let opened: HashedSource | undefined;
  const fs: FileSystem = {
    ...files,
    open: async (path) => {
      const source = await files.open(path);
      opened = isRemotePath(path) ? hashingSource(source, hash) : source;
      return opened;
    },
  };
  const reader = await openTargetFile(file, key, fs);
  return { reader, source: opened! };
}

/** Bytes a hashing source fetches to bridge a gap between the bytes hashed so far and a read. */
const HASH_GAP_BYTES = 64 * 1024;

function hashingSource(source: ByteSource, hash: Hash): HashedSource {
  let hashed = 0;
  const take = (offset: number, bytes: Uint8Array) => {
    if (offset <= hashed && offset + bytes.length > hashed) {
      hash.update(bytes.subarray(hashed - offset));
      hashed = offset + bytes.length;
    }
  };
  return {
    name: source.name,
    size: source.size,
    read: async (offset, length) => {
      // A reader skips a few bytes it need not parse (a zip entry's name): fetch them along, so the hash
      // goes on; a read far ahead (a directory at the end of the file) is left for finish.
      const gapStart = hashed;
      const gap =
        offset > gapStart && offset - gapStart <= HASH_GAP_BYTES ? source.read(gapStart, offset - gapStart) : null;
      const bytes = await source.read(offset, length);
      if (gap) take(gapStart, await gap);
      take(offset, bytes);
      return bytes;
    },
    close: async () => source.close?.(),
    finish: async () => {
      for (const part = 8 * 1024 * 1024; hashed < source.size; )
        take(hashed, await source.read(hashed, Math.min(part, source.size - hashed)));
    },
  };
}
