/**
 * Shard arrays: the shards of a run split into N parts without a coordinator, so a Slurm job array
 * (`--shard $SLURM_ARRAY_TASK_ID/N`) or a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`) runs one
 * part per task. Every task computes the same split from the same shard list, so the parts are
 * disjoint and together cover every shard exactly once. Pure code: runs in every runtime.
 */

/** One part of a shard array: index I of N (0 ≤ I < N). */
export interface ShardSlice {
  index: number;
  count: number;
}

/** A shard as the split sees it: its name (unique in the run) and its size in rows when known. */
export interface SizedShard {
  name: string;
  rows?: number | undefined;
}

/**
 * Parses `I/N` (as in `--shard 3/16`). @throws {Error} with a message naming the expected form
 */
export function parseShardSlice(text: string): ShardSlice {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new Error(`--shard must be I/N with 0 <= I < N (as in 0/4), got '${text}'`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (!(count >= 1) || !Number.isSafeInteger(count)) throw new Error(`--shard: N must be at least 1, got '${text}'`);
  if (!(index < count)) throw new Error(`--shard: I must be between 0 and N-1 = ${count - 1}, got '${text}'`);
  return { index, count };
}

/**
 * Which part of `count` each shard belongs to. The shard list is sorted by name first, so the order
 * the inputs were listed in does not matter. When every shard's row count is known the parts are
 * balanced by rows (largest shard first onto the part with the fewest rows so far, ties to the lower
 * part); otherwise shards are dealt round-robin in name order.
 * @returns part index per shard name
 */
export function assignShards(shards: readonly SizedShard[], count: number): Map<string, number> {
  const sorted = [...shards].sort((a, b) => compareNames(a.name, b.name));
  const assignment = new Map<string, number>();
  const sized = sorted.every((s) => typeof s.rows === 'number' && Number.isFinite(s.rows));
  if (!sized) {
    for (const [k, shard] of sorted.entries()) assignment.set(shard.name, k % count);
    return assignment;
  }
  // Longest-processing-time-first: a stable sort keeps name order among equal sizes.
  const bySize = [...sorted].sort((a, b) => b.rows! - a.rows!);
  const load = new Array<number>(count).fill(0);
  const shardsIn = new Array<number>(count).fill(0);
  for (const shard of bySize) {
    let best = 0;
    for (let part = 1; part < count; part++) {
      // Fewest rows; among equals the fewest shards (so empty shards spread too); then the lowest index.
      if (load[part]! < load[best]! || (load[part] === load[best] && shardsIn[part]! < shardsIn[best]!)) best = part;
    }
    load[best] = load[best]! + shard.rows!;
    shardsIn[best] = shardsIn[best]! + 1;
    assignment.set(shard.name, best);
  }
  return assignment;
}

/** Code-unit order, the same in every runtime and locale. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
