/**
 * Writing the stats of a score directory (format: io/run-stats.ts): one `<shard>.stats.json` record per
 * shard, written by whoever scored it, and the `_stats.json` summary rebuilt from all of them. Both are
 * written atomically (temporary + rename). Several writers (shard-array tasks, queue workers, a resumed
 * run) never write the same record at once, and the summary is rebuilt from the records rather than
 * merged, so no writer can lose another's stats.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import process from 'node:process';
import { InputError } from '../io/errors.js';
import { joinPath as join } from '../io/file-system.js';
import { listDirectory, openFileSource, writeFileAtomic } from '../io/node-files.js';
import { isRemotePath } from '../io/remote.js';
import {
  countDropped,
  DROPPED_ROWS_LISTED,
  encodeStats,
  noDrops,
  parseShardStats,
  RUN_STATS_FILE,
  SHARD_STATS_SUFFIX,
  shardStatsFileName,
  STATS_FORMAT,
  summarizeStats,
  type RunStats,
  type ShardStats,
  type StatsEngine,
} from '../io/run-stats.js';
import { scoreFileName } from '../io/score-file.js';
import type { ShardOutcome } from './score-shard.js';
import { clipsiftVersion } from './version.js';

/** What the writer of a record knows about one shard. */
export interface ShardStatsInput {
  shard: string;
  /** Rows of the shard's input. */
  rows: number;
  seconds: number;
  engine: StatsEngine | null;
  runShards: number;
  /** What scoring did; absent when it failed. */
  outcome?: ShardOutcome;
  /** The one-line reason it failed. */
  error?: string;
}

/** The record of one shard, scored (with `outcome`) or failed (with `error`). */
export function shardStatsRecord(input: ShardStatsInput, now = new Date()): ShardStats {
  const dropped = input.outcome?.droppedRows ?? [];
  return {
    format: STATS_FORMAT,
    shard: input.shard,
    status: input.outcome ? 'scored' : 'failed',
    scoreFile: scoreFileName(input.shard),
    rows: input.rows,
    written: input.outcome?.written ?? 0,
    dropped: input.outcome ? countDropped(dropped) : noDrops(),
    droppedRows: dropped.slice(0, DROPPED_ROWS_LISTED),
    seconds: Math.round(input.seconds * 1000) / 1000,
    engine: input.engine,
    runShards: input.runShards,
    host: hostName(),
    pid: process.pid,
    finishedAt: now.toISOString(),
    clipsiftVersion: clipsiftVersion(),
    ...(input.error !== undefined ? { error: input.error } : {}),
  };
}

/** Writes `<out>/<shard>.stats.json` atomically, replacing the shard's earlier record. */
export async function writeShardStats(out: string, record: ShardStats): Promise<void> {
  await writeFileAtomic(join(out, shardStatsFileName(record.shard)), encodeStats(record), { force: true });
}

/** The record of `shard` in `out`, or undefined when there is none or it cannot be read. */
export async function readShardStats(out: string, shard: string): Promise<ShardStats | undefined> {
  const name = shardStatsFileName(shard);
  try {
    return parseShardStats(name, await readText(join(out, name)));
  } catch {
    return undefined;
  }
}

/** Reads every record of `out` and summarises them. */
export async function collectRunStats(out: string): Promise<RunStats> {
  const names = (await entries(out)).filter((n) => n.endsWith(SHARD_STATS_SUFFIX) && !n.startsWith('.')).sort();
  const records: ShardStats[] = [];
  const unreadable: { file: string; error: string }[] = [];
  for (const name of names) {
    try {
      records.push(parseShardStats(name, await readText(join(out, name))));
    } catch (error) {
      // Removed meanwhile (ENOENT) is not unreadable: it is gone.
      if ((error as { code?: string }).code === 'ENOENT' || isMissing(error)) continue;
      unreadable.push({ file: name, error: (error as Error).message });
    }
  }
  return summarizeStats(records, unreadable, new Date());
}

/**
 * Rebuilds `<out>/_stats.json` from every record there and writes it atomically. If records changed
 * while it was being built (another writer finished a shard), it is built again, a few times at most:
 * whoever writes last then includes every record written before it.
 */
export async function writeRunStats(out: string): Promise<RunStats> {
  let summary: RunStats | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await recordsSignature(out);
    summary = await collectRunStats(out);
    await writeFileAtomic(join(out, RUN_STATS_FILE), encodeStats(summary), { force: true });
    if ((await recordsSignature(out)) === before) break;
  }
  return summary!;
}

/** Names, sizes and modification times of the records: changes when any writer replaces one. */
async function recordsSignature(out: string): Promise<string> {
  const names = (await entries(out)).filter((n) => n.endsWith(SHARD_STATS_SUFFIX) && !n.startsWith('.')).sort();
  const parts: string[] = [];
  for (const name of names) {
    if (isRemotePath(out)) {
      // An object store has no mtime here; a replaced record is one PUT, seen by its size.
      const source = await openFileSource(join(out, name)).catch(() => undefined);
      if (source) parts.push(`${name}:${source.size}`);
      await source?.close();
      continue;
    }
    const info = await stat(join(out, name)).catch(() => undefined);
    if (info) parts.push(`${name}:${info.size}:${info.mtimeMs}`);
  }
  return parts.join('\n');
}

function hostName(): string {
  try {
    return hostname();
  } catch {
    // Deno without --allow-sys=hostname.
    return 'unknown';
  }
}

/** Names in a score directory: local (readdir) or an s3:// prefix (listed). */
function entries(out: string): Promise<string[]> {
  return isRemotePath(out) ? listDirectory(out) : readdir(out);
}

/** A record's text, local or s3:// / https://. */
async function readText(path: string): Promise<string> {
  if (!isRemotePath(path)) return readFile(path, 'utf8');
  const source = await openFileSource(path);
  try {
    return new TextDecoder().decode(await source.read(0, source.size));
  } finally {
    await source.close();
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof InputError && /^no such file/.test(error.problem);
}
