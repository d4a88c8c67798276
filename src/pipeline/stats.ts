/**
 * Writing the stats of a score directory (format: io/run-stats.ts): one `<shard>.stats.json` record per
 * shard, written by whoever scored it, and the `_stats.json` summary rebuilt from all of them. Both are
 * written atomically (temporary + rename). Several writers (shard-array tasks, queue workers, a resumed
 * run) never write the same record at once, and the summary is rebuilt from the records rather than
 * merged, so no writer can lose another's stats.
 */
import { hostname } from 'node:os';
import process from 'node:process';
import { InputError } from '../io/errors.js';
import { joinPath as join } from '../io/file-system.js';
import { type ListedFile, listFiles, openFileSource, writeFileAtomic } from '../io/node-files.js';
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
  return collectRecords(out, await listRecords(out));
}

/** Reads the records `listed` (a listing of `out`) and summarises them. */
async function collectRecords(out: string, listed: ListedFile[]): Promise<RunStats> {
  const records: ShardStats[] = [];
  const unreadable: { file: string; error: string }[] = [];
  for (const { name } of listed) {
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
 * whoever writes last then includes every record written before it. `<out>` is listed once per build,
 * plus once at the start: each listing both names the records to read and tells whether any changed.
 */
export async function writeRunStats(out: string): Promise<RunStats> {
  let summary: RunStats | undefined;
  let listed = await listRecords(out);
  for (let attempt = 0; attempt < 5; attempt++) {
    summary = await collectRecords(out, listed);
    await writeFileAtomic(join(out, RUN_STATS_FILE), encodeStats(summary), { force: true });
    const now = await listRecords(out);
    if (signature(now) === signature(listed)) break;
    listed = now;
  }
  return summary!;
}

/** The shard records in `out` (local or s3://), with their sizes and versions. */
function listRecords(out: string): Promise<ListedFile[]> {
  return listFiles(out, (name) => name.endsWith(SHARD_STATS_SUFFIX) && !name.startsWith('.'));
}

/** Names, sizes and versions of the records: changes when any writer replaces one. */
function signature(listed: ListedFile[]): string {
  return listed.map((f) => `${f.name}:${f.size}:${f.version}`).join('\n');
}

function hostName(): string {
  try {
    return hostname();
  } catch {
    // Deno without --allow-sys=hostname.
    return 'unknown';
  }
}

/** A record's text, local or s3:// / https://. */
async function readText(path: string): Promise<string> {
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
