/**
 * What the scoring worker scores: the built-in sample pool (src/sample), or files the user dropped,
 * turned into shards by io's one input resolver (resolveInputs, the same the CLI's `clipsift score`
 * uses) over an in-memory file system of the browser's File objects. Each dropped item is one input,
 * as each path is on the command line: a dropped folder is a directory, loose files are files given
 * together. clipsift's own score files dropped alone are opened to explore, without scoring.
 *
 * Shards are read when scored, one at a time, so the pool is never in memory twice.
 */
import type { Embeddings } from '../index.js';
import { InputError } from '../io/errors.js';
import { baseName, memoryFileSystem, type FileSystem } from '../io/file-system.js';
import {
  isClipsiftOutput,
  openEmbeddingFile,
  openShard,
  resolveInputs,
  type Arch,
  type KeyColumns,
  type Shard,
} from '../io/layouts.js';
import { readAllRows } from '../io/reader.js';
import {
  CLIP_SCORE_COLUMN,
  NEGCLIP_LOSS_COLUMN,
  openScoreFile,
  SCORE_FILE_SUFFIX,
  type ScoreFile,
  UID_COLUMN,
} from '../io/score-file.js';
import { urlWithoutQuery } from '../io/http.js';
import { parseUids } from '../io/uid.js';
import { generateSamplePool, type SamplePool } from '../sample/pool.js';
import type { DroppedFile, PoolRequest, PoolRows } from './protocol.js';
import { parseUrls, urlInputs } from './url-input.js';

/** One unit of negCLIPLoss batching: a DataComp shard, a clip-retrieval part, or a pair of plain files. */
export interface PoolShard {
  /** Shard name; its negCLIPLoss shuffle seed derives from it, as in `clipsift score`. */
  name: string;
  rows: number;
  /** Embedding dim, known from the headers before anything is read. */
  dim: number;
  /** The image embedding file's name, for messages. */
  imageName: string;
  read(): Promise<{ img: Embeddings; txt: Embeddings }>;
}

/** A pool read and ready to score: its rows, and what scoring them needs. */
export interface LoadedPool extends PoolRows {
  /** The sample pool itself, scored the way `clipsift demo` scores it; null for dropped files. */
  sample: SamplePool | null;
  shards: PoolShard[];
  target: Embeddings | null;
  /** Scores read from dropped clipsift score files (nothing to compute then); null otherwise. */
  scores: Record<string, Float32Array> | null;
}

export type ProgressReport = (phase: string, done?: number, total?: number) => void;

export async function loadPool(request: PoolRequest, progress: ProgressReport): Promise<LoadedPool> {
  if (request.kind === 'sample') {
    progress('generating the sample pool');
    return samplePool();
  }
  progress(
    request.kind === 'urls' ? `reading ${request.urls.map(urlWithoutQuery).join(' ')}` : 'reading the dropped files',
  );
  const pool =
    request.kind === 'urls'
      ? await urlPool(request.urls, request.arch)
      : await droppedPool(request.files, request.arch);
  // Score files carry their NormSim column already: a target would not be used.
  if (request.target && !pool.scores) {
    const url = typeof request.target === 'string' ? urlInputs(parseUrls([request.target])) : undefined;
    const name = url?.paths[0] ?? (request.target as File).name;
    progress(`reading the target ${name}`);
    const fs = url?.fs ?? memoryFileSystem({ [name]: request.target as File });
    const reader = await openEmbeddingFile(fs, name);
    // Before any scoring, so a wrong target costs nothing and the message names both files.
    const other = pool.shards.find((shard) => shard.dim !== reader.dim);
    if (other) {
      throw new InputError(
        name,
        `target has dim ${reader.dim} but ${other.imageName} has dim ${other.dim}; ${url ? 'give' : 'drop'} a target embedded with the same model`,
      );
    }
    pool.target = await readAllRows(reader);
    pool.targetDescription = `${name}: ${reader.rows.toLocaleString('en-US')} rows × ${reader.dim}`;
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
    targetDescription: `the sample's own target set: ${pool.target.rows.toLocaleString('en-US')} images of its in-target topics (its "ImageNet"), generated with the pool`,
    scores: null,
  };
}

/**
 * A score directory's files (score files, and the stats records beside them), to explore the scores:
 * the score files among `items` when every one is a clipsift output and one at least is a score file.
 */
function scoreFilesOnly<T>(items: readonly T[], name: (item: T) => string): T[] | undefined {
  const names = items.map(name);
  if (!names.some((n) => n.endsWith(SCORE_FILE_SUFFIX)) || !names.every((n) => isClipsiftOutput(n))) return undefined;
  return items.filter((_, i) => names[i]!.endsWith(SCORE_FILE_SUFFIX));
}

async function droppedPool(dropped: DroppedFile[], arch: Arch): Promise<LoadedPool> {
  if (dropped.length === 0) throw new Error('drop some embedding files first');
  const files = dropped.map(({ file }) => file);
  const fs = memoryFileSystem(new Map(dropped.map(({ path, file }) => [path, file])));
  const scoreFiles = scoreFilesOnly(dropped, ({ file }) => file.name);
  if (scoreFiles)
    return scoreFilePool(
      fs,
      scoreFiles.map(({ path }) => path),
    );
  return embeddingPool(fs, droppedInputs(dropped), arch, (shards) =>
    files.length === 1
      ? files[0]!.name
      : shards.length === 1 && shards[0]!.layout === 'pair'
        ? [shards[0]!.files.image, shards[0]!.files.text, shards[0]!.files.metadata]
            .filter((name) => name !== undefined)
            .map(baseName)
            .join(' + ')
        : `${files.length} files, ${shards.length} shard${shards.length === 1 ? '' : 's'}`,
  );
}

/**
 * Pool files at http(s) URLs, given as a command line gives paths: a DataComp .parquet (its .npz found
 * beside it) or both, clip-retrieval parts, a plain image and text .npy pair, or clipsift score files.
 * Signed URLs are known by their paths (url-input.ts urlInputs), which is what the page shows.
 */
async function urlPool(given: string[], arch: Arch): Promise<LoadedPool> {
  const urls = parseUrls(given);
  if (urls.length === 0) throw new Error('give the URL of a pool file first');
  const { fs, paths } = urlInputs(urls);
  const scoreFiles = scoreFilesOnly(paths, (path) => baseName(new URL(path).pathname));
  if (scoreFiles) return scoreFilePool(fs, scoreFiles);
  return embeddingPool(fs, paths, arch, (shards) =>
    paths.length === 1 ? paths[0]! : `${paths.length} URLs, ${shards.length} shard${shards.length === 1 ? '' : 's'}`,
  );
}

/** The shards io's input resolver finds for `inputs` in `fs`, with their keys, captions and urls. */
async function embeddingPool(
  fs: FileSystem,
  inputs: string[],
  arch: Arch,
  describe: (shards: Shard[]) => string,
): Promise<LoadedPool> {
  const refs = (await resolveInputs(fs, inputs)).map((found) => found.ref);
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
    source: describe(shards),
    rows,
    ids,
    hasUids: uidColumns,
    uids: uidColumns ? parseUids(ids, 'the pool metadata') : null,
    captions,
    urls,
    kinds: null,
    sample: null,
    shards: shards.map((shard) => ({
      name: shard.name,
      rows: shard.rows,
      dim: shard.image.dim,
      imageName: shard.image.name,
      read: async () => ({ img: await readAllRows(shard.image), txt: await readAllRows(shard.text) }),
    })),
    target: null,
    targetDescription: null,
    scores: null,
  };
}

/**
 * clipsift's own score files, to explore without scoring again: their rows one after the other, the
 * score columns every file has, the uid (or other key) column for the table and subset.npy.
 */
async function scoreFilePool(fs: FileSystem, paths: string[]): Promise<LoadedPool> {
  const files: ScoreFile[] = [];
  for (const path of [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    files.push(await openScoreFile(await fs.open(path)));
  }
  const columns = files[0]!.scoreColumns.filter((column) => files.every((file) => file.scoreColumns.includes(column)));
  if (!columns.includes(CLIP_SCORE_COLUMN) || !columns.includes(NEGCLIP_LOSS_COLUMN)) {
    const lacking = files.find(
      (f) => !f.scoreColumns.includes(CLIP_SCORE_COLUMN) || !f.scoreColumns.includes(NEGCLIP_LOSS_COLUMN),
    );
    throw new InputError(
      lacking?.name ?? files[0]!.name,
      `has no ${CLIP_SCORE_COLUMN} and ${NEGCLIP_LOSS_COLUMN} columns; the page shows clipsift score files`,
    );
  }
  const rows = files.reduce((n, file) => n + file.rows, 0);
  const scores: Record<string, Float32Array> = {};
  for (const column of columns) scores[column] = new Float32Array(rows);
  const ids: string[] = [];
  let hasUids = true;
  let offset = 0;
  for (const file of files) {
    const read = await file.readScores(columns);
    for (const column of columns) scores[column]!.set(read[column]!, offset);
    hasUids &&= file.keyColumns.includes(UID_COLUMN);
    ids.push(...keyStrings(await file.readKeys(), file.rows));
    offset += file.rows;
  }
  return {
    source: files.length === 1 ? files[0]!.name : `${files.length} score files`,
    rows,
    ids,
    hasUids,
    uids: hasUids ? parseUids(ids, files[0]!.name) : null,
    captions: new Array<string | null>(rows).fill(null),
    urls: new Array<string | null>(rows).fill(null),
    kinds: null,
    sample: null,
    shards: [],
    target: null,
    targetDescription: null,
    scores,
  };
}

/** The dropped items, as command-line inputs: each dropped folder (its top-level name), and each loose file. */
function droppedInputs(dropped: DroppedFile[]): string[] {
  return [...new Set(dropped.map(({ path }) => path.split('/')[0]!))];
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
