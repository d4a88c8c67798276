/**
 * Input layouts → shards. A shard is one unit of scoring: aligned image and
 * text embeddings plus the metadata rows that identify them.
 *
 * resolveInputs is THE input resolver: the CLI (paths on disk) and the web page (dropped files, in
 * a memoryFileSystem) both turn what they were given into shards through it, so they accept exactly
 * the same inputs:
 *
 * - DataComp: `<name>.parquet` (uid, url, text, ...) beside `<name>.npz` holding `<arch>_img` /
 *   `<arch>_txt`; a directory of such pairs, or the files (one of a pair finds its partner beside it).
 * - clip-retrieval: a folder with `img_emb/img_emb_N.npy`, `text_emb/text_emb_N.npy`,
 *   `metadata/metadata_N.parquet`, or the same files flat (in one directory, or given as files);
 *   rows keyed by a key column, else by (file, row). Part N is the shard `shard_N` either way.
 * - a plain pair: one image and one text embedding file (.npy, or .npz of one array), told apart by
 *   img/image and txt/text in their names, plus at most one metadata .parquet; the shard is named after
 *   the image file, rows keyed like clip-retrieval's.
 * - Plain .npy / .npz / .parquet / .pt / .safetensors files for targets (openEmbeddingFile).
 *
 * Listing is cheap (names only); opening a shard reads its headers and checks
 * that image, text and metadata agree on the row count.
 */
import { InputError } from './errors.js';
import { baseName, dirName, joinPath, pathKindIn, type FileSystem } from './file-system.js';
import { isHttpUrl } from './http.js';
import { openNpy } from './npy.js';
import { openNpz } from './npz.js';
import { openParquet, type EmbeddingColumnOptions, type ParquetInput, type RowRange } from './parquet.js';
import type { EmbeddingReader } from './reader.js';
import { RUN_STATS_FILE, SHARD_STATS_SUFFIX } from './run-stats.js';
import { openSafetensors } from './safetensors.js';
import type { ByteSource } from './source.js';
import { openTorchFile } from './torch.js';
import { parseUids } from './uid.js';

/**
 * The embedding pair a DataComp npz holds: `l14` and `b32` in DataComp's own files, any other name
 * NAME (e.g. `dfn_p`) for arrays NAME_img / NAME_txt users add.
 */
export type Arch = string;
/** Embedding width of DataComp's own architectures; other archs have the dims their files have. */
export const ARCH_DIMS: Record<string, number> = { b32: 512, l14: 768 };

/** How a shard's files are laid out: a DataComp parquet + npz, a clip-retrieval part, or a plain image/text pair. */
export type LayoutKind = 'datacomp' | 'clip-retrieval' | 'pair';

/** A shard found by listing, before any file is opened. */
export interface ShardRef {
  name: string;
  layout: LayoutKind;
  /** Paths of the files that make up the shard. */
  files: { image: string; text: string; metadata?: string };
  /** For DataComp: the npz holding both image and text arrays. */
  npz?: string;
}

/** Identifying columns for a shard's rows, ready for a score table. */
export type KeyColumns = Record<string, string[] | Int32Array | BigInt64Array>;

/** An opened shard. */
export interface Shard extends ShardRef {
  rows: number;
  dim: number;
  image: EmbeddingReader;
  text: EmbeddingReader;
  /** Names of the columns readKeys returns: ['uid'], [keyColumn], or ['file', 'row']. */
  keyColumns: string[];
  /** The identifying column(s) for every row, validated (uids are 32 hex characters). */
  readKeys(): Promise<KeyColumns>;
  /** Other metadata columns on request. @throws {InputError} if the shard has no metadata file */
  readMetadata(columns: string[], range?: RowRange): Promise<Record<string, unknown[]>>;
  /**
   * The sources of its files, named by path (closed after the headers are read; reading reopens them): a
   * caller that reads whole files (a content fingerprint) reads them here instead of opening them again.
   */
  sources: readonly ByteSource[];
  /** Release file handles; reading again reopens them. */
  close(): Promise<void>;
}

export interface DataCompOptions {
  /** Which embedding pair to read: arrays <arch>_img and <arch>_txt (default 'l14'). */
  arch?: Arch;
  /** Image embeddings from this npz array, or else this column of the metadata parquet (default <arch>_img). */
  imageKey?: string;
  /** Text embeddings likewise (default <arch>_txt). */
  textKey?: string;
  /** Only the image embeddings are needed: `text` is the image reader, no text array is looked up. */
  imageOnly?: boolean;
}

export interface ClipRetrievalOptions {
  /** Metadata column that identifies rows; without it rows are keyed by (file, row). */
  keyColumn?: string;
}

/** Score files clipsift writes (`<shard>.scores.parquet`), which some users write next to the metadata. */
const SCORE_FILE_SUFFIX = '.scores.parquet';
/** Temporaries of node-files.ts writeFileAtomic: `.<name>.<pid>.<hex>.tmp`. */
const ATOMIC_TEMPORARY = /^\..+\.\d+\.[0-9a-f]+\.tmp$/;

/**
 * Whether a file name is clipsift's own output (a score file, a stats record, a write in progress)
 * rather than input: skipped in input directories, refused as an input file.
 */
export function isClipsiftOutput(name: string): boolean {
  return (
    name.endsWith(SCORE_FILE_SUFFIX) ||
    name.endsWith(SHARD_STATS_SUFFIX) ||
    name === RUN_STATS_FILE ||
    ATOMIC_TEMPORARY.test(name)
  );
}

/** Tell the two directory layouts apart by their entries. */
export async function detectLayout(fs: FileSystem, dir: string): Promise<LayoutKind> {
  const names = (await fs.list(dir)).filter((name) => !isClipsiftOutput(name));
  if (names.includes('img_emb') && names.includes('text_emb')) return 'clip-retrieval';
  if (names.some((n) => n.endsWith('.npz')) && names.some((n) => n.endsWith('.parquet'))) return 'datacomp';
  throw new InputError(
    dir,
    'is neither a DataComp metadata directory (<name>.parquet + <name>.npz) nor a clip-retrieval folder (img_emb/, text_emb/, metadata/)',
  );
}

/**
 * List the shards of a DataComp metadata directory: every `<name>.parquet` needs its `<name>.npz`.
 * clipsift's own score files and atomic-write temporaries in the directory are not shards and are skipped.
 */
export async function listDataCompShards(fs: FileSystem, dir: string): Promise<ShardRef[]> {
  const names = new Set((await fs.list(dir)).filter((name) => !isClipsiftOutput(name)));
  const shards: ShardRef[] = [];
  for (const name of [...names].sort()) {
    if (!name.endsWith('.parquet')) continue;
    const stem = name.slice(0, -'.parquet'.length);
    const npz = joinPath(dir, `${stem}.npz`);
    if (!names.has(`${stem}.npz`))
      throw new InputError(joinPath(dir, name), `has no embeddings beside it: ${npz} is missing`);
    shards.push({
      name: stem,
      layout: 'datacomp',
      files: { image: npz, text: npz, metadata: joinPath(dir, name) },
      npz,
    });
  }
  for (const name of names) {
    if (name.endsWith('.npz') && !names.has(name.slice(0, -4) + '.parquet')) {
      throw new InputError(
        joinPath(dir, name),
        `has no metadata beside it: ${joinPath(dir, name.slice(0, -4) + '.parquet')} is missing`,
      );
    }
  }
  return shards;
}

/** List the shards of a clip-retrieval folder, matched by their index N. */
export async function listClipRetrievalShards(fs: FileSystem, dir: string): Promise<ShardRef[]> {
  const indices = async (sub: string, pattern: RegExp) => {
    const found = new Map<string, string>();
    let names: string[] = [];
    try {
      names = await fs.list(joinPath(dir, sub));
    } catch (err) {
      if (sub !== 'metadata') throw err;
    }
    for (const name of names) {
      const match = pattern.exec(name);
      if (match) found.set(match[1]!, joinPath(dir, sub, name));
    }
    return found;
  };
  const images = await indices('img_emb', /^img_emb_(\d+)\.npy$/);
  const texts = await indices('text_emb', /^text_emb_(\d+)\.npy$/);
  const metadata = await indices('metadata', /^metadata_(\d+)\.parquet$/);
  for (const [index, path] of texts) {
    if (!images.has(index))
      throw new InputError(
        path,
        `has no image embeddings: ${joinPath(dir, 'img_emb', `img_emb_${index}.npy`)} is missing`,
      );
  }
  return [...images.keys()]
    .sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))
    .map((index) => {
      const text = texts.get(index);
      if (!text)
        throw new InputError(
          images.get(index)!,
          `has no text embeddings: ${joinPath(dir, 'text_emb', `text_emb_${index}.npy`)} is missing`,
        );
      const meta = metadata.get(index);
      return {
        name: `shard_${index}`,
        layout: 'clip-retrieval' as const,
        files: { image: images.get(index)!, text, ...(meta ? { metadata: meta } : {}) },
      };
    });
}

/** The shards of a directory of any accepted layout (resolveInputs with the directory alone). */
export async function listShards(fs: FileSystem, dir: string): Promise<ShardRef[]> {
  return (await resolveInputs(fs, [dir])).map((found) => found.ref);
}

/** A shard found by resolveInputs, with the input that named it (a directory, or the first of its files given). */
export interface ResolvedShard {
  ref: ShardRef;
  input: string;
}

const CLIP_RETRIEVAL_FILE = /^(img_emb|text_emb|metadata)_(\d+)\.(npy|parquet)$/;
const ACCEPTED =
  'DataComp <name>.parquet + <name>.npz, clip-retrieval img_emb_N.npy + text_emb_N.npy (+ metadata_N.parquet) flat or in img_emb/ text_emb/ metadata/, or one image and one text .npy (+ a metadata .parquet)';

/**
 * THE input resolver: what a user gave (paths in `fs`: directories and files) → the shards to score,
 * in the order given (a directory's shards by name). Files given together are resolved together:
 * `<name>.parquet` with `<name>.npz`, `img_emb_N.npy` with `text_emb_N.npy` (and `metadata_N.parquet`),
 * or an image with a text embedding file; a DataComp or clip-retrieval file given alone finds its
 * partners beside it. A directory is a clip-retrieval folder (img_emb/ and text_emb/), or its files are
 * resolved as if given (where clipsift's own outputs and files that are no embeddings are skipped).
 * @throws {InputError} naming the file for a missing path, a missing partner, misnamed or unpaired files
 */
export async function resolveInputs(fs: FileSystem, inputs: readonly string[]): Promise<ResolvedShard[]> {
  const found: ResolvedShard[] = [];
  const files: string[] = [];
  let filesAt = -1;
  for (const input of inputs) {
    const kind = await pathKindIn(fs, input);
    if (kind === 'missing') throw new InputError(input, 'no such file or directory');
    if (kind === 'directory') {
      found.push(...(await directoryShards(fs, input)));
    } else {
      if (filesAt < 0) filesAt = found.length;
      files.push(input);
    }
  }
  if (files.length > 0) found.splice(filesAt, 0, ...(await fileShards(fs, files, true)));
  return found;
}

async function directoryShards(fs: FileSystem, dir: string): Promise<ResolvedShard[]> {
  const names = (await fs.list(dir)).filter((name) => !isClipsiftOutput(name));
  let shards: ResolvedShard[];
  if (names.includes('img_emb') && names.includes('text_emb')) {
    shards = (await listClipRetrievalShards(fs, dir)).map((ref) => ({ ref, input: dir }));
  } else {
    const files = names.filter((name) => /\.(npy|npz|parquet)$/i.test(name)).map((name) => joinPath(dir, name));
    if (files.length === 0)
      throw new InputError(
        dir,
        `is neither a DataComp metadata directory (<name>.parquet + <name>.npz) nor a clip-retrieval folder (img_emb/, text_emb/, metadata/): it holds no embedding files (${ACCEPTED})`,
      );
    shards = (await fileShards(fs, files, false)).map(({ ref }) => ({ ref, input: dir }));
  }
  if (shards.length === 0) throw new InputError(dir, 'holds no shards');
  return shards;
}

/** Whether a file exists in `fs`. */
async function exists(fs: FileSystem, path: string): Promise<boolean> {
  return (await pathKindIn(fs, path)) === 'file';
}

/**
 * Whether a file that may be absent (a clip-retrieval part's metadata) exists. An http(s) URL is opened to
 * find out: a file system may take every URL for a file (the CLI's: a web server has no listing), which
 * is right for the files a shard needs (their absence is reported when they are opened) but not for one
 * it can do without.
 */
async function existsOptional(fs: FileSystem, path: string): Promise<boolean> {
  if (!isHttpUrl(path)) return exists(fs, path);
  try {
    const source = await fs.open(path);
    await source.close?.();
    return true;
  } catch (error) {
    if (error instanceof InputError && /\(HTTP 404\)$/.test(error.problem)) return false;
    throw error;
  }
}

/**
 * Files given together (or a directory's files, `given` false) → shards. Given files must all be used;
 * in a directory, stray .npy files beside DataComp or clip-retrieval shards are not inputs (a target, say).
 */
async function fileShards(fs: FileSystem, files: readonly string[], given: boolean): Promise<ResolvedShard[]> {
  const shards: ResolvedShard[] = [];
  const used = new Set<string>();
  const position = new Map(files.map((file, at) => [file, at]));
  for (const file of files) {
    if (given && isClipsiftOutput(baseName(file)))
      throw new InputError(file, 'is an output of clipsift score, not embeddings: give the files it was scored from');
    if (given && !/\.(npy|npz|parquet)$/i.test(file))
      throw new InputError(file, `is not an embedding or metadata file: give ${ACCEPTED}`);
  }

  // clip-retrieval parts by index: img_emb_N.npy, text_emb_N.npy, metadata_N.parquet.
  const parts = new Map<string, { img_emb?: string; text_emb?: string; metadata?: string }>();
  for (const file of files) {
    const match = CLIP_RETRIEVAL_FILE.exec(baseName(file));
    if (!match || (match[1] === 'metadata') !== (match[3] === 'parquet')) continue;
    const part = parts.get(match[2]!) ?? {};
    const kind = match[1] as 'img_emb' | 'text_emb' | 'metadata';
    const earlier = part[kind];
    if (earlier !== undefined && earlier !== file)
      throw new InputError(file, `is clip-retrieval part ${match[2]} again (${earlier} is too); give one of them`);
    part[kind] = file;
    parts.set(match[2]!, part);
    used.add(file);
  }
  const clipRetrieval: ResolvedShard[] = [];
  for (const index of [...parts.keys()].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b))) {
    const part = parts.get(index)!;
    // The first of the part's files in the order given (inputs only name files in `files`).
    const first = [part.img_emb, part.text_emb, part.metadata]
      .filter((file) => file !== undefined)
      .sort((a, b) => position.get(a)! - position.get(b)!)[0]!;
    const image = part.img_emb ?? (await besidePart(fs, first, 'img_emb', index));
    if (!image) {
      if (!given && !part.text_emb) continue; // a directory's stray metadata_N.parquet
      throw new InputError(first, `has no image embeddings: ${partPath(first, 'img_emb', index)} is missing`);
    }
    const text = part.text_emb ?? (await besidePart(fs, image, 'text_emb', index));
    if (!text) throw new InputError(image, `has no text embeddings: ${partPath(image, 'text_emb', index)} is missing`);
    const metadata = part.metadata ?? (await besidePart(fs, image, 'metadata', index));
    clipRetrieval.push({
      ref: {
        name: `shard_${index}`,
        layout: 'clip-retrieval',
        files: { image, text, ...(metadata ? { metadata } : {}) },
      },
      input: first,
    });
  }

  shards.push(...(given ? sortByGiven(clipRetrieval, position) : clipRetrieval));

  // DataComp pairs: <name>.parquet + <name>.npz, the partner found beside a file given alone.
  const stems = new Map<string, { parquet?: string; npz?: string }>();
  for (const file of files) {
    if (used.has(file)) continue;
    const match = /^(.*)\.(parquet|npz)$/i.exec(file);
    if (!match) continue;
    const pair = stems.get(match[1]!) ?? {};
    pair[match[2]!.toLowerCase() as 'parquet' | 'npz'] = file;
    stems.set(match[1]!, pair);
  }
  const datacomp: ResolvedShard[] = [];
  const lone: string[] = [];
  for (const [stem, pair] of stems) {
    const metadata = pair.parquet ?? ((await exists(fs, `${stem}.parquet`)) ? `${stem}.parquet` : undefined);
    const npz = pair.npz ?? ((await exists(fs, `${stem}.npz`)) ? `${stem}.npz` : undefined);
    if (!metadata || !npz) {
      lone.push((pair.parquet ?? pair.npz)!);
      continue;
    }
    used.add(metadata).add(npz);
    datacomp.push({
      ref: { name: baseName(stem), layout: 'datacomp', files: { image: npz, text: npz, metadata }, npz },
      input: [pair.parquet, pair.npz]
        .filter((f) => f !== undefined)
        .sort((a, b) => position.get(a)! - position.get(b)!)[0]!,
    });
  }
  datacomp.sort((a, b) => (a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0));
  shards.push(...(given ? sortByGiven(datacomp, position) : datacomp));

  // What is left is a plain pair, when nothing else was found.
  const left = files.filter((file) => !used.has(file));
  const embeddings = left.filter((file) => /\.(npy|npz)$/i.test(file));
  const parquets = left.filter((file) => /\.parquet$/i.test(file));
  if (shards.length > 0) {
    const stray = given ? left[0] : lone[0];
    if (stray !== undefined) throw unpaired(stray, given);
    return shards;
  }
  if (embeddings.length === 2 && parquets.length <= 1) return [plainPair(embeddings, parquets[0])];
  // A .parquet with no embedding files but .npz ones: a DataComp shard missing its partner.
  if (parquets.length > 0 && embeddings.every((file) => /\.npz$/i.test(file))) throw unpaired(parquets[0]!, given);
  if (embeddings.length === 1) {
    const [only] = embeddings;
    throw new InputError(
      only!,
      /\.npz$/i.test(only!)
        ? `is one .npz on its own: give it with its DataComp metadata ${baseName(only!).replace(/\.npz$/i, '.parquet')} beside it, or give an image and a text embedding file together`
        : 'is one embedding file on its own: give the image and the text embedding files together (img or image in one name, txt or text in the other)',
    );
  }
  if (embeddings.length > 2)
    throw new InputError(
      embeddings.map(baseName).join(', '),
      `are more than two plain embedding files: give ${ACCEPTED}`,
    );
  if (parquets.length > 1)
    throw new InputError(
      parquets.map(baseName).join(', '),
      'are several metadata files for one image and text pair: give at most one .parquet with them',
    );
  return [];
}

/** Given files' shards in the order their first file was given. */
function sortByGiven(shards: ResolvedShard[], position: ReadonlyMap<string, number>): ResolvedShard[] {
  return [...shards].sort((a, b) => position.get(a.input)! - position.get(b.input)!);
}

/** Why a .parquet or .npz (or, given, any file) belongs to no shard. */
function unpaired(file: string, given: boolean): InputError {
  if (/\.parquet$/i.test(file))
    return new InputError(file, `has no embeddings beside it: ${file.replace(/\.parquet$/i, '.npz')} is missing`);
  if (/\.npz$/i.test(file))
    return new InputError(file, `has no metadata beside it: ${file.replace(/\.npz$/i, '.parquet')} is missing`);
  return new InputError(
    file,
    `is not part of a shard${given ? ' given with it' : ''}: a plain image/text pair is scored on its own, not with other shards`,
  );
}

/** Where part `index` of clip-retrieval kind `kind` sits beside `file`: the same directory, or the layout's sibling folder. */
function partPath(file: string, kind: 'img_emb' | 'text_emb' | 'metadata', index: string): string {
  const name = `${kind}_${index}.${kind === 'metadata' ? 'parquet' : 'npy'}`;
  return joinPath(dirName(file), name);
}

async function besidePart(
  fs: FileSystem,
  file: string,
  kind: 'img_emb' | 'text_emb' | 'metadata',
  index: string,
): Promise<string | undefined> {
  const found = kind === 'metadata' ? existsOptional : exists;
  const flat = partPath(file, kind, index);
  if (await found(fs, flat)) return flat;
  const dir = dirName(file);
  if (/^(img_emb|text_emb|metadata)$/.test(baseName(dir))) {
    const folder = joinPath(dirName(dir), kind, baseName(flat));
    if (await found(fs, folder)) return folder;
  }
  return undefined;
}

/** An image and a text embedding file (+ metadata): the one named img/image holds the images, txt/text the texts. */
function plainPair(files: string[], metadata: string | undefined): ResolvedShard {
  const image = files.find((file) => /(^|[^a-z])(img|image)/i.test(baseName(file)));
  const text = files.find((file) => file !== image && /(^|[^a-z])(txt|text)/i.test(baseName(file)));
  if (!image || !text)
    throw new InputError(
      files.map(baseName).join(' + '),
      'two plain files must say which is which: put img or image in one name and txt or text in the other',
    );
  return {
    ref: {
      name: baseName(image).replace(/\.[^.]+$/, ''),
      layout: 'pair',
      files: { image, text, ...(metadata ? { metadata } : {}) },
    },
    input: image,
  };
}

function checkRowCounts(counts: [string, number][]): void {
  const [first, ...rest] = counts;
  for (const [file, rows] of rest) {
    if (rows !== first![1])
      throw new InputError(file, `has ${rows} rows but ${first![0]} has ${first![1]}; rows must be aligned`);
  }
}

function checkDims(image: EmbeddingReader, text: EmbeddingReader): void {
  if (image.dim !== text.dim)
    throw new InputError(text.name, `has dimension ${text.dim} but ${image.name} has ${image.dim}`);
}

async function closeAll(sources: ByteSource[]): Promise<void> {
  await Promise.all(sources.map((s) => s.close?.()));
}

/** Typed key column from parquet values; a missing key is an error at its row. */
function keyColumn(file: string, column: string, values: unknown[]): string[] | Int32Array | BigInt64Array {
  values.forEach((v, row) => {
    if (v === null || v === undefined) throw new InputError(file, 'key is null', { row, field: column });
  });
  if (values.every((v) => typeof v === 'string')) return values as string[];
  if (values.every((v) => typeof v === 'number' && (v | 0) === v)) return Int32Array.from(values as number[]);
  if (values.every((v) => typeof v === 'bigint')) return BigInt64Array.from(values as bigint[]);
  return values.map(String);
}

function metadataReader(file: ParquetInput | undefined, shard: string) {
  return (columns: string[], range?: RowRange) => {
    if (!file) throw new InputError(shard, 'has no metadata parquet file');
    return file.readColumns(columns, range);
  };
}

/**
 * Open a shard: read headers, check the row counts and dims agree.
 * @throws {InputError} naming the files and both counts when rows are misaligned
 */
export async function openShard(
  fs: FileSystem,
  ref: ShardRef,
  options: DataCompOptions & ClipRetrievalOptions = {},
): Promise<Shard> {
  return ref.layout === 'datacomp' ? openDataCompShard(fs, ref, options) : openClipRetrievalShard(fs, ref, options);
}

/** A plain pair's embedding file: an .npy, or an .npz holding one array. */
async function openPlainArray(source: ByteSource): Promise<EmbeddingReader> {
  if (!/\.npz$/i.test(source.name)) return openNpy(source);
  const npz = await openNpz(source);
  if (npz.keys.length !== 1)
    throw new InputError(
      source.name,
      `holds ${npz.keys.length} arrays (${npz.keys.join(', ') || 'none'}); an image or text embedding file holds one`,
    );
  return npz.open(npz.keys[0]!);
}

async function openDataCompShard(fs: FileSystem, ref: ShardRef, options: DataCompOptions): Promise<Shard> {
  const arch = options.arch ?? 'l14';
  const metadataPath = ref.files.metadata!;
  const sources = [await fs.open(metadataPath), await fs.open(ref.npz!)];
  return assembleShard(ref, sources, async () => {
    const [metadataSource, npzSource] = sources as [ByteSource, ByteSource];
    const metadata = await openParquet(metadataSource);
    if (!metadata.columns.includes('uid'))
      throw new InputError(metadataPath, `has no uid column (columns: ${metadata.columns.join(', ')})`, {
        field: 'uid',
      });
    const npz = await openNpz(npzSource);
    const imageKey = options.imageKey ?? `${arch}_img`;
    const textKey = options.textKey ?? `${arch}_txt`;
    // An npz array first, else an embedding column of the metadata parquet.
    const pairPart = async (key: string) => {
      if (npz.keys.includes(key) || !metadata.columns.includes(key)) {
        if (!npz.keys.includes(key))
          throw new InputError(
            ref.npz!,
            `has no array '${key}' (it holds ${npz.keys.map((k) => `'${k}'`).join(', ') || 'no arrays'}) and ${metadataPath} has no such column`,
            { field: key },
          );
        return npz.open(key);
      }
      return metadata.embeddings(key);
    };
    const image = await pairPart(imageKey);
    const text = options.imageOnly ? image : await pairPart(textKey);
    checkRowCounts([
      [metadataPath, metadata.rows],
      [image.name, image.rows],
      [text.name, text.rows],
    ]);
    checkDims(image, text);
    const knownDim = options.imageKey === undefined ? ARCH_DIMS[arch] : undefined;
    if (knownDim !== undefined && image.dim !== knownDim) {
      throw new InputError(image.name, `has dimension ${image.dim}, but ${arch} embeddings are ${ARCH_DIMS[arch]}-d`);
    }
    return {
      rows: metadata.rows,
      image,
      text,
      keyColumns: ['uid'],
      async readKeys() {
        const { uid } = await metadata.readColumns(['uid']);
        parseUids(uid!, metadataPath); // validate every uid before any score is written under it
        return { uid: uid as string[] };
      },
      metadata,
    };
  });
}

async function openClipRetrievalShard(fs: FileSystem, ref: ShardRef, options: ClipRetrievalOptions): Promise<Shard> {
  const sources = [await fs.open(ref.files.image), await fs.open(ref.files.text)];
  return assembleShard(ref, sources, async () => {
    if (ref.files.metadata) sources.push(await fs.open(ref.files.metadata));
    const image = await openPlainArray(sources[0]!);
    const text = await openPlainArray(sources[1]!);
    const metadata = sources[2] ? await openParquet(sources[2]) : undefined;
    const counts: [string, number][] = [
      [ref.files.image, image.rows],
      [ref.files.text, text.rows],
    ];
    if (metadata) counts.push([ref.files.metadata!, metadata.rows]);
    checkRowCounts(counts);
    checkDims(image, text);
    const key = options.keyColumn;
    if (key !== undefined) {
      if (!metadata)
        throw new InputError(
          ref.files.image,
          `key column '${key}' was asked for but ${ref.name} has no metadata parquet file`,
        );
      if (!metadata.columns.includes(key))
        throw new InputError(
          ref.files.metadata!,
          `has no key column '${key}' (columns: ${metadata.columns.join(', ')})`,
          { field: key },
        );
    }
    return {
      rows: image.rows,
      image,
      text,
      keyColumns: key !== undefined ? [key] : ['file', 'row'],
      async readKeys() {
        if (key !== undefined) {
          const values = (await metadata!.readColumns([key]))[key]!;
          return { [key]: keyColumn(ref.files.metadata!, key, values) };
        }
        return {
          file: new Array<string>(image.rows).fill(baseName(ref.files.image)),
          row: Int32Array.from({ length: image.rows }, (_, i) => i),
        };
      },
      ...(metadata ? { metadata } : {}),
    };
  });
}

/** What a layout reads from a shard's headers; the rest of a Shard is the same for every layout. */
type ShardParts = Pick<Shard, 'rows' | 'image' | 'text' | 'keyColumns' | 'readKeys'> & { metadata?: ParquetInput };

/**
 * A Shard from what `read` reads of its headers through `sources` (which `read` may add to): the sources
 * are closed once the headers are read, and on any error.
 */
async function assembleShard(ref: ShardRef, sources: ByteSource[], read: () => Promise<ShardParts>): Promise<Shard> {
  try {
    const { rows, image, text, keyColumns, readKeys, metadata } = await read();
    await closeAll(sources);
    return {
      ...ref,
      rows,
      dim: image.dim,
      image,
      text,
      keyColumns,
      readKeys,
      readMetadata: metadataReader(metadata, ref.name),
      sources,
      close: () => closeAll(sources),
    };
  } catch (err) {
    await closeAll(sources);
    throw err;
  }
}

/** Options for a plain embedding file. */
export interface EmbeddingFileOptions extends EmbeddingColumnOptions {
  /** Array name inside an .npz, tensor key of a .pt dict or .safetensors (`--target-key`); optional when there is one. */
  key?: string;
  /** Embedding column of a parquet file (default 'embedding'). */
  column?: string;
  /**
   * When an .npz, .pt or .safetensors file holds exactly one array and it is not `key`, read that one
   * instead of failing: how one --target-key serves several target files of different makes.
   */
  keyIfPresent?: boolean;
}

/**
 * Open a plain .npy, .npz, .parquet, PyTorch .pt/.pth (torch.save's zip format; tensors only, no code
 * is run) or .safetensors file of embeddings (a target set or candidates).
 * @throws {InputError} for unknown extensions, or a missing/ambiguous npz key or parquet column
 */
export async function openEmbeddingFile(
  fs: FileSystem,
  path: string,
  options: EmbeddingFileOptions = {},
): Promise<EmbeddingReader & { close(): Promise<void> }> {
  const source = await fs.open(path);
  const close = async () => source.close?.();
  try {
    let reader: EmbeddingReader;
    if (path.endsWith('.npy')) {
      reader = await openNpy(source);
    } else if (path.endsWith('.npz')) {
      const npz = await openNpz(source);
      const key = pickKey(npz.keys, options);
      if (key === undefined)
        throw new InputError(
          path,
          `holds ${npz.keys.length} arrays (${npz.keys.join(', ')}); pick one with --target-key`,
        );
      reader = await npz.open(key);
    } else if (path.endsWith('.parquet')) {
      const file = await openParquet(source);
      reader = await file.embeddings(options.column ?? 'embedding', options);
    } else if (path.endsWith('.pt') || path.endsWith('.pth')) {
      const file = await openTorchFile(source);
      reader = await file.open(pickKey(file.keys, options));
    } else if (path.endsWith('.safetensors')) {
      const file = await openSafetensors(source);
      reader = await file.open(pickKey(file.keys, options));
    } else {
      throw new InputError(path, 'is not an .npy, .npz, .parquet, .pt/.pth or .safetensors file');
    }
    if (options.dim !== undefined && reader.dim !== options.dim) {
      throw new InputError(path, `has dimension ${reader.dim}, expected ${options.dim}`);
    }
    return Object.assign(reader, { close });
  } catch (err) {
    await close();
    throw err;
  }
}

/** The array to open: the one asked for, else the only one (see EmbeddingFileOptions.keyIfPresent). */
function pickKey(keys: readonly string[], options: EmbeddingFileOptions): string | undefined {
  const { key } = options;
  if (key === undefined || (options.keyIfPresent && keys.length === 1 && !keys.includes(key)))
    return keys.length === 1 ? keys[0] : key;
  return key;
}
