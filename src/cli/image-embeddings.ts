/**
 * select's pool image embeddings (--embeddings), gathered by uid for --normsim-d and --image-based.
 * Each directory is listed once and each shard opened (its headers and uid column read) once per select,
 * however many of those steps gather from them; only the image rows a step wants are read at each gather.
 */
import { firstNonFiniteRow } from '../index.js';
import { InputError } from '../io/errors.js';
import type { FileSystem } from '../io/file-system.js';
import { ARCH_DIMS, type Arch, openShard, resolveInputs, type Shard, type ShardRef } from '../io/layouts.js';
import { nodeFileSystem } from '../io/node-files.js';
import type { RowData } from '../io/reader.js';
import { findUid, formatUid, parseUids, uidCount } from '../io/uid.js';

/** Image embeddings gathered by uid: row i is the embedding of the i-th uid asked for. */
export interface GatheredImages {
  data: RowData;
  rows: number;
  dim: number;
}

/** The image embeddings of `uids` (sorted, unique), in their order; the first occurrence of a uid wins. */
export type ImageGatherer = (uids: Uint32Array) => Promise<GatheredImages>;

/** An opened shard and its parsed uids (its file handles released between reads). */
interface IndexedShard {
  shard: Shard;
  uids: Uint32Array;
}

/**
 * A gatherer over the shards under `dirs` (directories or shard files, resolved together as score's inputs
 * are, so a shard's files given one by one are one shard), read through `fs` (default: the local disk and
 * URLs; select passes its signed URLs'), for `uses` gathers: the listing and the opened shards (headers and
 * uids) are kept for the gathers after the first, and let go during the last.
 * @throws {InputError} (from the gatherer) when some uid has no embedding, a shard has no uid column, or
 * shards disagree on dim or dtype
 */
export function imageEmbeddingGatherer(
  embeddings: { dirs: string[]; arch: Arch; imageKey?: string },
  uses: number,
  fs: FileSystem = nodeFileSystem,
): ImageGatherer {
  const { dirs, arch, imageKey } = embeddings;
  let listing: ReturnType<typeof resolveInputs> | undefined;
  const opened = new Map<ShardRef, Promise<IndexedShard>>();
  let usesLeft = uses;

  const indexShard = async (dir: string, ref: ShardRef): Promise<IndexedShard> => {
    const shard = await openShard(fs, ref, {
      arch,
      imageOnly: true,
      ...(imageKey !== undefined ? { imageKey } : {}),
    });
    try {
      if (!shard.keyColumns.includes('uid'))
        throw new InputError(dir, 'has no uid column; NormSim_2-D matches embeddings to score rows by uid');
      return { shard, uids: parseUids((await shard.readKeys()).uid as string[], ref.files.metadata ?? ref.name) };
    } finally {
      await shard.close();
    }
  };

  return async (uids) => {
    const last = --usesLeft <= 0;
    const count = uidCount(uids);
    const found = new Uint8Array(count);
    let data: RowData | undefined;
    let dim = 0;
    let foundCount = 0;
    listing ??= resolveInputs(fs, dirs);
    const shards = await listing;
    if (last) listing = undefined;
    for (const { ref, input } of shards) {
      const { shard, uids: shardUids } = await kept(opened, ref, () => indexShard(input, ref), last);
      const targetIndex = new Int32Array(shard.rows).fill(-1);
      let wanted = 0;
      for (let row = 0; row < shard.rows; row++) {
        const at = findUid(uids, shardUids, row);
        if (at >= 0 && !found[at]) {
          targetIndex[row] = at;
          found[at] = 1;
          wanted++;
        }
      }
      if (wanted === 0) continue;
      try {
        if (!data) {
          dim = shard.dim;
          data = shard.image.dtype === 'f2' ? new Uint16Array(count * dim) : new Float32Array(count * dim);
        } else if (shard.dim !== dim) {
          throw new InputError(shard.image.name, `has dimension ${shard.dim} but earlier shards have ${dim}`);
        } else if ((shard.image.dtype === 'f2') !== data instanceof Uint16Array) {
          throw new InputError(shard.image.name, 'mixes float16 and float32 embeddings with earlier shards');
        }
        for await (const chunk of shard.image.readRowChunks(4096)) {
          for (let k = 0; k < chunk.rows; k++) {
            const at = targetIndex[chunk.start + k]!;
            if (at >= 0) data.set(chunk.data.subarray(k * dim, (k + 1) * dim), at * dim);
          }
        }
        foundCount += wanted;
      } finally {
        await shard.close();
      }
    }
    if (foundCount < count) {
      const missing = found.indexOf(0);
      throw new InputError(
        dirs.join(', '),
        `${count - foundCount} selected uids have no image embeddings here (first: ${formatUid(uids, missing)})`,
      );
    }
    if (data) {
      // The engine would reject a NaN/Inf row by its position in this gathered matrix; name the uid instead.
      const bad = firstNonFiniteRow({ data, rows: count, dim });
      if (bad >= 0)
        throw new InputError(
          dirs.join(', '),
          `image embedding of uid ${formatUid(uids, bad)} has a non-finite value (NaN or Infinity)`,
        );
    }
    return { data: data ?? new Float32Array(0), rows: count, dim: dim || ARCH_DIMS[arch] || 1 };
  };
}

/** `cache`'s value for `key`, made by `make` the first time; `release` takes it out of the cache. */
function kept<K, V>(cache: Map<K, V>, key: K, make: () => V, release: boolean): V {
  const value = cache.has(key) ? cache.get(key)! : make();
  if (release) cache.delete(key);
  else cache.set(key, value);
  return value;
}
