/**
 * The NormSim target of a `clipsift score` run: read once, checked like the shards, and identified by
 * content (sha256) so a resumed run can tell whether finished score files used the same target.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../io/errors.js';
import type { RowData } from '../io/reader.js';
import { openEmbeddingFile } from '../io/layouts.js';
import { nodeFileSystem } from '../io/node-files.js';
import { gatherRows, listRows, normalizeRows, type RowStats } from './rows.js';
import type { TargetIdentity } from '../io/score-file.js';

/** A target's rows in memory, ready for the engine's prepareTarget. */
export interface LoadedTarget {
  data: RowData;
  rows: number;
  dim: number;
  identity: TargetIdentity;
  stats: RowStats;
}

/**
 * Reads the target in `path` (an .npz array or parquet column chosen by `key`), rejects non-finite or
 * zero rows (a target row is a reference point; dropping one silently would change every NormSim),
 * and L2-normalises it when asked.
 */
export async function loadTarget(path: string, key: string | undefined, normalize: boolean): Promise<LoadedTarget> {
  const reader = await openEmbeddingFile(nodeFileSystem, path, key !== undefined ? { key, column: key } : {});
  let gathered;
  try {
    gathered = await gatherRows(reader);
  } finally {
    await reader.close();
  }
  const { stats } = gathered;
  if (gathered.rows === 0) throw new InputError(path, 'the target has no rows');
  if (stats.nonFiniteRows.length > 0) {
    throw new InputError(path, `target rows hold NaN or Inf: rows ${listRows(stats.nonFiniteRows)}`);
  }
  if (stats.zeroRows.length > 0)
    throw new InputError(path, `target rows are all zeros: rows ${listRows(stats.zeroRows)}`);
  const data = normalize ? normalizeRows(gathered.data, gathered.dim) : gathered.data;
  return {
    data,
    rows: gathered.rows,
    dim: gathered.dim,
    stats,
    identity: {
      name: basename(path),
      key: key ?? null,
      rows: gathered.rows,
      dim: gathered.dim,
      bytes: statSync(path).size,
      sha256: await sha256File(path),
    },
  };
}

/** sha256 of a file, streamed so a multi-gigabyte target is not held twice. */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', (error) => reject(new InputError(path, `cannot read: ${error.message}`)))
      .on('end', () => resolve(hash.digest('hex')));
  });
}
