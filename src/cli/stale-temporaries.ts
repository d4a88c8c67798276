/**
 * Clean-up after a run that was killed mid-write. io's writeFileAtomic writes `.<name>.<pid>.<hex>.tmp`
 * beside the target and renames it; SIGKILL between the two leaves the temporary behind. A re-run
 * removes such leftovers for score files only, and only those whose writer process is gone.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';

/** Matches io/node-files.ts's temporary names for score files: .<shard>.scores.parquet.<pid>.<hex>.tmp */
const TEMPORARY = /^\.(.+\.scores\.parquet)\.(\d+)\.[0-9a-f]+\.tmp$/;

/**
 * Removes leftover temporaries of score files in `dir` whose writing process no longer runs.
 * With `shards`, only temporaries of those shards' score files (a shard-array task on a shared
 * file system cannot tell whether a process id from another host still runs).
 * @returns the names removed
 */
export async function removeStaleTemporaries(dir: string, shards?: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const match = TEMPORARY.exec(name);
    if (!match) continue;
    if (shards && !shards.has(match[1]!.slice(0, -'.scores.parquet'.length))) continue;
    // Another clipsift may be writing into the same directory right now: leave its files alone.
    if (isRunning(Number(match[2]))) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as { code?: string }).code === 'EPERM';
  }
}
