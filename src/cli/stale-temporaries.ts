/**
 * Clean-up after a run that was killed mid-write. io's writeFileAtomic writes `.<name>.<pid>.<hex>.tmp`
 * beside the target and renames it; SIGINT/SIGTERM remove it (node-files.ts), but SIGKILL between the
 * two leaves the temporary behind. Every command that writes into a directory (score, select, subset)
 * first removes such leftovers there, whatever file they were for, if their writer process is gone.
 */
import { readdir, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { isRemotePath } from '../io/remote.js';

/** Matches io/node-files.ts's temporary names: .<name>.<pid>.<hex>.tmp (e.g. .subset.npy.4242.0badf00d.tmp) */
const TEMPORARY = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;
/** A shard's own files: its score file and its stats record (io/run-stats.ts). */
const SHARD_FILE_SUFFIXES = ['.scores.parquet', '.stats.json'];

/**
 * Removes leftover temporaries in `dir` whose writing process no longer runs (nothing when `dir` does
 * not exist). With `shards`, only temporaries of those shards' score files (a shard-array task on a
 * shared file system cannot tell whether a process id from another host still runs).
 * @returns the names removed
 */
export async function removeStaleTemporaries(dir: string, shards?: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const match = TEMPORARY.exec(name);
    if (!match) continue;
    const target = match[1]!;
    if (shards && !ofShards(target, shards)) continue;
    // Another clipsift may be writing into the same directory right now: leave its files alone.
    if (isRunning(Number(match[2]))) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

/**
 * Before writing the file `path` (a subset, a kept-key list): removes the stale temporaries in its
 * directory, as removeStaleTemporaries does; nothing for an s3:// or http(s):// URL.
 */
export async function removeStaleTemporariesBeside(path: string): Promise<string[]> {
  return isRemotePath(path) ? [] : removeStaleTemporaries(dirname(resolve(path)));
}

function ofShards(name: string, shards: ReadonlySet<string>): boolean {
  return SHARD_FILE_SUFFIXES.some((suffix) => name.endsWith(suffix) && shards.has(name.slice(0, -suffix.length)));
}

/** True while process `pid` runs on this machine (this process included; another user's counts). */
export function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
}
