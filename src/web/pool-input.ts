/**
 * What the scoring worker scores: the built-in sample pool (src/sample) or files the user dropped,
 * opened through src/io's layouts over the browser's File objects. Shards are read one at a time when
 * scored, so a dropped pool never has to fit in memory twice.
 */
import type { Embeddings } from '../index.js';
import { parseUids } from '../io/uid.js';
import { generateSamplePool } from '../sample/pool.js';
import type { PoolRequest } from './protocol.js';

/** One unit of negCLIPLoss batching: a DataComp shard, a clip-retrieval part, or a pair of .npy files. */
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
  shards: PoolShard[];
  target: Embeddings | null;
}

export type ProgressReport = (phase: string, done?: number, total?: number) => void;

/** The sample pool's shard name, the same as `clipsift demo` gives it. */
export const SAMPLE_SHARD = 'sample';

export async function loadPool(request: PoolRequest, progress: ProgressReport): Promise<LoadedPool> {
  if (request.kind === 'sample') {
    progress('generating the sample pool');
    return samplePool();
  }
  progress('reading the dropped files');
  return droppedPool(request.files, request.target, request.arch);
}

function samplePool(): LoadedPool {
  const pool = generateSamplePool();
  const { image, text } = pool;
  return {
    source: `the built-in sample pool (seed ${pool.seed})`,
    rows: image.rows,
    ids: pool.uids,
    hasUids: true,
    uids: parseUids(pool.uids, 'sample pool'),
    captions: pool.captions,
    urls: pool.urls,
    kinds: pool.kinds,
    shards: [{ name: SAMPLE_SHARD, rows: image.rows, read: async () => ({ img: image, txt: text }) }],
    target: pool.target,
  };
}

async function droppedPool(files: File[], target: File | null, arch: 'l14' | 'b32'): Promise<LoadedPool> {
  void files;
  void target;
  void arch;
  throw new Error('reading dropped files is not wired yet');
}
