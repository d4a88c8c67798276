/**
 * From the paths on `clipsift score`'s command line to shards, through io's one input resolver
 * (resolveInputs in src/io/layouts.ts, which the web page uses for dropped files too): DataComp
 * directories or shard files, clip-retrieval folders or their files flat, or a plain image/text pair.
 */
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../io/errors.js';
import type { FileSystem } from '../io/file-system.js';
import { openShard, resolveInputs, type Arch, type KeyColumns, type Shard, type ShardRef } from '../io/layouts.js';
import { fingerprint } from '../io/fingerprint.js';
import { nodeFileSystem } from '../io/node-files.js';
import { isRemotePath } from '../io/remote.js';
import type { ScoreFile } from '../io/score-file.js';
import { parseUids } from '../io/uid.js';
import { hashKeys } from './duplicates.js';
import type { ScoreShard, ShardIdentities } from './score-shard.js';

export type { Arch } from '../io/layouts.js';

/**
 * Opens every shard named by `paths`, in command-line order (and name order within a directory).
 * A shard named twice (the same directory twice, `dir` and `./dir/`, a directory and one of its
 * files) is opened once; `warn` hears which argument repeated which.
 */
export async function openScoreShards(
  paths: string[],
  options: {
    arch: Arch;
    keyColumn: string | undefined;
    imageKey?: string;
    textKey?: string;
    extraArchs?: Arch[];
    /** Where the paths are read (default: the local disk and URLs; io/remote.ts signedInputs for signed URLs). */
    fs?: FileSystem;
  },
  warn: (message: string) => void = () => undefined,
): Promise<ScoreShard[]> {
  const refs: ShardRef[] = [];
  /** Real paths of a shard's files → the argument that named it first. */
  const seenFiles = new Map<string, string>();
  /** Argument → (the argument that named them first → names of the shards it repeated). */
  const repeated = new Map<string, Map<string, string[]>>();
  for (const { ref, input: path } of await resolveInputs(options.fs ?? nodeFileSystem, paths)) {
    const key =
      (await realPath(ref.files.image)) + '\0' + (ref.files.metadata ? await realPath(ref.files.metadata) : '');
    const first = seenFiles.get(key);
    if (first !== undefined) {
      // `score x.parquet x.npz` names one shard twice, and says so on purpose: no warning for that.
      if (first !== path && !isPartnerOf(first, path)) {
        const byFirst = repeated.get(path) ?? new Map<string, string[]>();
        byFirst.set(first, [...(byFirst.get(first) ?? []), ref.name]);
        repeated.set(path, byFirst);
      }
      continue;
    }
    seenFiles.set(key, path);
    refs.push(ref);
  }
  for (const [path, byFirst] of repeated) {
    for (const [first, names] of byFirst) {
      warn(
        `${path} names shard${names.length === 1 ? '' : 's'} ${names.join(', ')} again (already in ${first}); each shard is scored once`,
      );
    }
  }
  const shards: ScoreShard[] = [];
  try {
    for (const ref of refs) {
      const shard = await openScoreShard(ref, options);
      shards.push(shard);
      // The headers are read: let the descriptors go until the shard is scored (sources reopen on read).
      await shard.close();
    }
  } catch (error) {
    await Promise.all(shards.map((s) => s.close()));
    throw error;
  }
  return shards;
}

/** Opens one listed shard (headers only), as a cluster worker does with the shard its job names. */
export async function openScoreShard(
  ref: ShardRef,
  options: {
    arch: Arch;
    keyColumn: string | undefined;
    imageKey?: string | undefined;
    textKey?: string | undefined;
    extraArchs?: Arch[] | undefined;
    fs?: FileSystem | undefined;
  },
): Promise<ScoreShard> {
  const { keyColumn } = options;
  const fs = options.fs ?? nodeFileSystem;
  const shard = await openShard(fs, ref, {
    arch: options.arch,
    ...(keyColumn !== undefined ? { keyColumn } : {}),
    ...(options.imageKey !== undefined ? { imageKey: options.imageKey } : {}),
    ...(options.textKey !== undefined ? { textKey: options.textKey } : {}),
  });
  // The parameters record the pairs read: the archs (NormSim's first), or the keys when they were named.
  const extraArchs = options.extraArchs ?? [];
  const pair =
    options.imageKey !== undefined ? `${options.imageKey},${options.textKey}` : [options.arch, ...extraArchs].join(',');
  const scoreShard = await toScoreShard(shard, ref, ref.layout === 'datacomp' ? pair : null);
  if (extraArchs.length === 0) return scoreShard;
  const closers = [scoreShard.close];
  scoreShard.close = async () => {
    await Promise.all(closers.map((close) => close()));
  };
  try {
    if (ref.layout !== 'datacomp')
      throw new InputError(ref.files.image, 'several --arch need DataComp shards (npz with <arch>_img/<arch>_txt)');
    scoreShard.pairArch = options.arch;
    scoreShard.extraPairs = [];
    for (const arch of extraArchs) {
      const other = await openShard(fs, ref, { arch });
      closers.push(() => other.close());
      scoreShard.extraPairs.push({ arch, img: other.image, txt: other.text });
    }
  } catch (error) {
    await scoreShard.close();
    throw error;
  }
  return scoreShard;
}

/** The path with symlinks and `.`/`..` resolved, so two spellings of one file compare equal. */
async function realPath(path: string): Promise<string> {
  if (isRemotePath(path)) return path;
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

/** `<name>.parquet` and `<name>.npz` side by side: two spellings of one DataComp shard. */
function isPartnerOf(a: string, b: string): boolean {
  const stem = (p: string) => p.replace(/\.(parquet|npz)$/, '');
  return stem(a) === stem(b) && a !== stem(a) && b !== stem(b);
}

/**
 * A shard file's size and content fingerprint (io/fingerprint.ts), as score files record them, read
 * through the source the shard opened it with (no second open, stat or HEAD).
 */
async function fileIdentity(shard: Shard, path: string): Promise<{ path: string; bytes: number; fingerprint: string }> {
  const source = shard.sources.find((s) => s.name === path);
  if (!source) throw new Error(`${path}: not among the files shard ${shard.name} opened`);
  return { path, bytes: source.size, fingerprint: await fingerprint(source) };
}

async function toScoreShard(shard: Shard, ref: ShardRef, arch: Arch | null): Promise<ScoreShard> {
  const paths = [
    ...new Set([shard.files.image, shard.files.text, ...(shard.files.metadata ? [shard.files.metadata] : [])]),
  ];
  const files = await Promise.all(paths.map((path) => fileIdentity(shard, path)));
  const metadataName = shard.files.metadata ?? shard.files.image;
  return {
    name: shard.name,
    ref,
    arch,
    files,
    img: shard.image,
    txt: shard.text,
    metadataRows: shard.rows,
    metadataName,
    async readIdentities(): Promise<ShardIdentities> {
      const columns = await shard.readKeys();
      return identitiesOf(metadataName, columns);
    },
    close: () => shard.close(),
  };
}

/** Identity words and descriptions for a shard's key columns (uid, a key column, or file and row). */
export function identitiesOf(file: string, columns: KeyColumns): ShardIdentities {
  const names = Object.keys(columns);
  const uid = columns.uid;
  if (names.length === 1 && Array.isArray(uid)) {
    return { columns, words: parseUids(uid, file), describe: (row) => `uid ${uid[row]}` };
  }
  const text = (row: number) => names.map((name) => String(columns[name]![row])).join('\u0000');
  const rows = columns[names[0]!]!.length;
  const keys = Array.from({ length: rows }, (_, row) => text(row));
  return {
    columns,
    words: hashKeys(keys),
    describe: (row) => names.map((name) => `${name} ${String(columns[name]![row])}`).join(', '),
  };
}

/** Identity words of the rows of a finished score file, from whichever key columns it has. */
export async function identityWordsOf(path: string, file: ScoreFile): Promise<Uint32Array> {
  return identitiesOf(path, await file.readKeys()).words;
}
