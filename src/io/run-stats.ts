/**
 * THE stats format of a score directory, beside the score files (as img2dataset keeps `_stats.json`
 * beside its shards):
 *
 * - `<out>/<shard>.stats.json`, one record per shard, written by whoever scored (or failed to score) that
 *   shard: a local run, one task of a `--shard I/N` array, or a queue worker. A shard has one writer at a
 *   time, so no record is ever merged or lost; a re-run that scores the shard again replaces its record,
 *   a re-run that finds the shard up to date leaves it alone.
 * - `<out>/_stats.json`, the summary of every record in the directory, rebuilt from them (never merged
 *   into) at the end of each local run; the records are what counts, the summary is a convenience.
 *
 * Plain data and JSON only: this module runs in every runtime.
 */
import { InputError } from './errors.js';

/** The summary file in a score directory. */
export const RUN_STATS_FILE = '_stats.json';

/** The suffix of per-shard records: `<shard>.stats.json`. */
export const SHARD_STATS_SUFFIX = '.stats.json';

/** Version of the record layout, bumped when a field changes meaning. */
export const STATS_FORMAT = 1;

/** Most dropped rows listed one by one in a record (the counts by reason are always complete). */
export const DROPPED_ROWS_LISTED = 1000;

/** The record file name of a shard. */
export function shardStatsFileName(shard: string): string {
  return `${shard}${SHARD_STATS_SUFFIX}`;
}

/** Why rows were left out of a score file. */
export type DroppedReason = 'non-finite' | 'all-zero' | 'overlarge-norm' | 'duplicate';

/** Dropped rows counted by reason. */
export type DroppedCounts = Record<DroppedReason, number>;

/** The engine a shard was scored with (engine.info()). */
export interface StatsEngine {
  runtime: string;
  threads: number;
  simd: string;
  precision: string;
}

/** What happened to one shard the last time it was scored. */
export interface ShardStats {
  format: number;
  shard: string;
  /** 'scored': its score file was written; 'failed': scoring stopped with `error`. */
  status: 'scored' | 'failed';
  /** The score file's name in the directory. */
  scoreFile: string;
  /** Rows in the shard's input. */
  rows: number;
  /** Rows in the score file (0 when failed). */
  written: number;
  dropped: DroppedCounts;
  /** Dropped rows (index among the input rows) with their reason, the first DROPPED_ROWS_LISTED. */
  droppedRows: { row: number; reason: DroppedReason }[];
  /** Wall-clock seconds from reading the shard to its file being in place. */
  seconds: number;
  engine: StatsEngine | null;
  /** The run's shard count (all parts of a --shard run), as recorded in the score file. */
  runShards: number;
  /** Who wrote it: host name and process id, and when (ISO 8601). */
  host: string;
  pid: number;
  finishedAt: string;
  clipsiftVersion: string;
  /** The one-line reason, when failed. */
  error?: string;
}

/** `_stats.json`: every record of the directory, and their totals. */
export interface RunStats {
  format: number;
  /** When this summary was built (ISO 8601). */
  updatedAt: string;
  /** The run's shard count the records agree on, or null when they disagree or there are none. */
  runShards: number | null;
  shards: { scored: number; failed: number; missing: number | null };
  rows: { input: number; written: number; dropped: number };
  dropped: DroppedCounts;
  /** Sum of the shards' seconds (scoring time, not wall time when shards ran in parallel). */
  seconds: number;
  /** Records that could not be read, by file name and reason (they do not count in the totals). */
  unreadable: { file: string; error: string }[];
  records: ShardStats[];
}

/** Zero counts for every reason. */
export function noDrops(): DroppedCounts {
  return { 'non-finite': 0, 'all-zero': 0, 'overlarge-norm': 0, duplicate: 0 };
}

/** Counts `rows` by reason. */
export function countDropped(rows: readonly { reason: DroppedReason }[]): DroppedCounts {
  const counts = noDrops();
  for (const { reason } of rows) counts[reason]++;
  return counts;
}

/** A record as the bytes of its file (pretty JSON, one trailing newline). */
export function encodeStats(value: ShardStats | RunStats): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Parses a `<shard>.stats.json` record.
 * @throws {InputError} naming the file when it is not JSON or not a record of this format
 */
export function parseShardStats(name: string, text: string): ShardStats {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(name, `is not JSON (${(error as Error).message})`);
  }
  const record = value as Partial<ShardStats> | null;
  if (typeof record !== 'object' || record === null || record.format !== STATS_FORMAT)
    throw new InputError(name, `is not a clipsift stats record of format ${STATS_FORMAT}`);
  for (const field of ['shard', 'status', 'scoreFile'] as const)
    if (typeof record[field] !== 'string') throw new InputError(name, `has no ${field}`);
  for (const field of ['rows', 'written', 'seconds', 'runShards'] as const)
    if (typeof record[field] !== 'number') throw new InputError(name, `has no ${field}`);
  if (typeof record.dropped !== 'object' || record.dropped === null) throw new InputError(name, 'has no dropped');
  return record as ShardStats;
}

/** The summary of `records` (sorted by shard name) and of the files that could not be read. */
export function summarizeStats(
  records: readonly ShardStats[],
  unreadable: readonly { file: string; error: string }[],
  now: Date,
): RunStats {
  const sorted = [...records].sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0));
  const counts = new Set(sorted.map((r) => r.runShards));
  const runShards = counts.size === 1 ? [...counts][0]! : null;
  const scored = sorted.filter((r) => r.status === 'scored');
  const failed = sorted.length - scored.length;
  const dropped = noDrops();
  for (const record of scored)
    for (const reason of Object.keys(dropped) as DroppedReason[]) dropped[reason] += record.dropped[reason] ?? 0;
  const input = scored.reduce((n, r) => n + r.rows, 0);
  const written = scored.reduce((n, r) => n + r.written, 0);
  return {
    format: STATS_FORMAT,
    updatedAt: now.toISOString(),
    runShards,
    shards: {
      scored: scored.length,
      failed,
      missing: runShards === null ? null : Math.max(0, runShards - sorted.length),
    },
    rows: { input, written, dropped: input - written },
    dropped,
    seconds: sorted.reduce((s, r) => s + r.seconds, 0),
    unreadable: [...unreadable],
    records: sorted,
  };
}
