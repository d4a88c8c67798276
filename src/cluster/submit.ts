/**
 * The submitting side of `clipsift score --queue`: one BullMQ job per shard still to score, then a
 * watch over them until every shard has its score file or has failed. Node-only adapter.
 *
 * Redis is not the source of truth for what is done: the score files are. A job that vanished (Redis
 * restarted without persistence, or a job removed by hand) is enqueued again unless its shard's score
 * file is complete, and job ids depend only on the task, so nothing is ever enqueued twice.
 */
import { Queue } from 'bullmq';
import { scoreFileState } from '../pipeline/plan.js';
import { pollJobs } from './poll.js';
import type { ShardTask } from '../pipeline/task.js';
import {
  connectionOptions,
  reachRedis,
  SCORE_QUEUE,
  scoreJobId,
  scoreJobOptions,
  type RedisLocation,
  type ScoreJobData,
} from './queue.js';
import type { ScoreParameters } from '../io/score-file.js';

/** A shard to score through the queue. */
export interface QueuedShard {
  task: ShardTask;
  rows: number;
  /** Its score file and the parameters that file must carry (to recognise it as complete). */
  outPath: string;
  parameters: ScoreParameters;
}

/** The cluster's figures for this run. */
export interface ClusterStatus {
  total: number;
  done: number;
  running: number;
  failed: number;
  /** Rows of the shards done so far during this watch. */
  rowsDone: number;
  /** Shards enqueued again because their jobs were gone. */
  requeued: number;
  /** True while Redis cannot be reached. */
  disconnected: boolean;
}

/** A shard whose job failed for good. */
export interface FailedShard {
  shard: string;
  reason: string;
}

export interface SubmitOptions {
  /** The queue, connected (connectScoreQueue); the caller closes it. */
  queue: Queue<ScoreJobData>;
  shards: QueuedShard[];
  /** Tries per shard before it counts as failed. */
  attempts: number;
  /** Milliseconds between looks at the queue. */
  pollMs?: number;
  /** Called after every look at the queue. */
  onStatus?(status: ClusterStatus): void;
  /** Called when shards are enqueued again. */
  onNote?(note: string): void;
}

/** Opens the queue. The caller closes it. */
export function openScoreQueue(location: RedisLocation): Queue<ScoreJobData> {
  return new Queue<ScoreJobData>(SCORE_QUEUE, { connection: connectionOptions(location, false) });
}

/**
 * Opens the queue and waits for Redis to answer (at most CONNECT_TIMEOUT_MS). The caller closes it.
 * @throws {Error} `cannot reach <url>: …` (the queue is closed then)
 */
export async function connectScoreQueue(location: RedisLocation): Promise<Queue<ScoreJobData>> {
  const queue = openScoreQueue(location);
  // Without an 'error' listener ioredis would print every failed reconnection.
  queue.on('error', () => {});
  try {
    await reachRedis(queue, location);
  } catch (error) {
    await queue.close().catch(() => undefined);
    throw error;
  }
  return queue;
}

/**
 * Enqueues a job for every shard that has none in the queue (and renews finished or failed jobs of
 * shards whose score file is still missing).
 * @returns how many jobs were added
 */
export async function enqueueShards(
  queue: Queue<ScoreJobData>,
  shards: QueuedShard[],
  attempts: number,
): Promise<number> {
  let added = 0;
  for (const shard of shards) {
    const id = scoreJobId(shard.task);
    const existing = await queue.getJob(id);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'completed' && state !== 'failed') continue; // waiting, delayed or running: leave it
      // A failed job of an earlier run, or a completed one whose file is gone: start it afresh.
      await existing.remove();
    }
    await queue.add(shard.task.ref.name, { task: shard.task, rows: shard.rows }, scoreJobOptions(id, attempts));
    added++;
  }
  return added;
}

/**
 * Enqueues the shards and watches them until each is done or failed.
 * @returns the failed shards (empty when every score file is written)
 */
export async function submitAndWatch(options: SubmitOptions): Promise<FailedShard[]> {
  await enqueueShards(options.queue, options.shards, options.attempts);
  return watch(options.queue, options);
}

async function watch(queue: Queue<ScoreJobData>, options: SubmitOptions): Promise<FailedShard[]> {
  const pending = new Map(options.shards.map((shard) => [scoreJobId(shard.task), shard]));
  const failed: FailedShard[] = [];
  const status: ClusterStatus = {
    total: options.shards.length,
    done: 0,
    running: 0,
    failed: 0,
    rowsDone: 0,
    requeued: 0,
    disconnected: false,
  };
  const report = (disconnected: boolean) => {
    status.disconnected = disconnected;
    options.onStatus?.({ ...status });
  };
  if (pending.size > 0)
    await pollJobs(
      queue,
      () => [...pending.keys()],
      async (states) => {
        const gone: QueuedShard[] = [];
        let running = 0;
        for (const [id, state] of states) {
          const shard = pending.get(id)!;
          if (state === 'completed') {
            pending.delete(id);
            status.done++;
            status.rowsDone += shard.rows;
          } else if (state === 'failed') {
            const job = await queue.getJob(id);
            pending.delete(id);
            status.failed++;
            failed.push({ shard: shard.task.ref.name, reason: job?.failedReason ?? 'failed' });
          } else if (state === 'active') {
            running++;
          } else if (state === 'unknown') {
            gone.push(shard);
          }
        }
        for (const shard of gone) {
          const id = scoreJobId(shard.task);
          if ((await scoreFileState(shard.outPath, shard.parameters)).kind === 'done') {
            pending.delete(id);
            status.done++;
            status.rowsDone += shard.rows;
          }
        }
        const lost = gone.filter((shard) => pending.has(scoreJobId(shard.task)));
        if (lost.length > 0) {
          const added = await enqueueShards(queue, lost, options.attempts);
          status.requeued += added;
          if (added > 0) {
            options.onNote?.(
              `${added} shard job${added === 1 ? ' was' : 's were'} missing from Redis (restarted without persistence?); enqueued again`,
            );
          }
        }
        status.running = running;
        report(false);
        return pending.size === 0 ? true : undefined;
      },
      // Redis unreachable (restarting): keep the figures, say so, and look again.
      { pollMs: options.pollMs ?? 1000, onUnreachable: () => report(true) },
    );
  return failed.sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : 0));
}
