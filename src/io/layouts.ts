/**
 * Input layouts → shards. A shard is one unit of scoring: aligned image and
 * text embeddings plus the metadata rows that identify them.
 *
 * - DataComp metadata directory: `<name>.parquet` (uid, url, text, ...) beside
 *   `<name>.npz` holding `<arch>_img` / `<arch>_txt`.
 * - clip-retrieval output: `img_emb/img_emb_N.npy`, `text_emb/text_emb_N.npy`,
 *   `metadata/metadata_N.parquet`; rows keyed by a key column, else by (file, row).
 * - Plain .npy / .npz / .parquet files for targets and candidates.
 *
 * Listing is cheap (names only); opening a shard reads its headers and checks
 * that image, text and metadata agree on the row count.
 */
import { InputError } from './errors.js';
import { baseName, joinPath, type FileSystem } from './file-system.js';
import { openNpy } from './npy.js';
import { openNpz } from './npz.js';
import { openParquet, type EmbeddingColumnOptions, type ParquetInput, type RowRange } from './parquet.js';
import type { EmbeddingReader } from './reader.js';
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

export type LayoutKind = 'datacomp' | 'clip-retrieval';

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

/** Whether a directory entry is clipsift's own output (a score file or a write in progress) rather than input. */
function isClipsiftOutput(name: string): boolean {
  return name.endsWith(SCORE_FILE_SUFFIX) || ATOMIC_TEMPORARY.test(name);
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

/** List the shards of either layout. */
export async function listShards(fs: FileSystem, dir: string): Promise<ShardRef[]> {
  return (await detectLayout(fs, dir)) === 'datacomp' ? listDataCompShards(fs, dir) : listClipRetrievalShards(fs, dir);
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

async function openDataCompShard(fs: FileSystem, ref: ShardRef, options: DataCompOptions): Promise<Shard> {
  const arch = options.arch ?? 'l14';
  const metadataPath = ref.files.metadata!;
  const sources = [await fs.open(metadataPath), await fs.open(ref.npz!)];
  try {
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
    await closeAll(sources);
    return {
      ...ref,
      rows: metadata.rows,
      dim: image.dim,
      image,
      text,
      keyColumns: ['uid'],
      async readKeys() {
        const { uid } = await metadata.readColumns(['uid']);
        parseUids(uid!, metadataPath); // validate every uid before any score is written under it
        return { uid: uid as string[] };
      },
      readMetadata: metadataReader(metadata, ref.name),
      close: () => closeAll(sources),
    };
  } catch (err) {
    await closeAll(sources);
    throw err;
  }
}

async function openClipRetrievalShard(fs: FileSystem, ref: ShardRef, options: ClipRetrievalOptions): Promise<Shard> {
  const sources = [await fs.open(ref.files.image), await fs.open(ref.files.text)];
  try {
    if (ref.files.metadata) sources.push(await fs.open(ref.files.metadata));
    const image = await openNpy(sources[0]!);
    const text = await openNpy(sources[1]!);
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
    await closeAll(sources);
    return {
      ...ref,
      rows: image.rows,
      dim: image.dim,
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
      readMetadata: metadataReader(metadata, ref.name),
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
