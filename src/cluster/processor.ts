/**
 * The sandboxed BullMQ processor of `clipsift worker`: runs in a worker thread (useWorkerThreads), so the
 * CPU-bound reading and scoring never block the worker's main thread, which keeps renewing the job's
 * lock. The thread lives across jobs, and so do its engine and target (see ShardTaskRunner).
 */
import process from 'node:process';
import { type FlowJob, FlowProducer, type SandboxedJob } from 'bullmq';
import { ShardTaskRunner } from '../pipeline/task.js';
import { isRunJob, runStageJob, type RunJobData } from './flow.js';
import { connectionOptions, type RedisLocation, type ScoreJobData, WORKER_REDIS_VARIABLE } from './queue.js';

/** Kernel threads, set by `clipsift worker --threads` before BullMQ starts this thread. */
function threadsFromEnvironment(): number | 'auto' {
  const text = process.env.CLIPSIFT_WORKER_THREADS;
  const n = Number(text);
  return text && Number.isInteger(n) && n > 0 ? n : 'auto';
}

/** The Redis of `clipsift worker --queue`, set before BullMQ starts this thread (a stage may enqueue). */
function redisFromEnvironment(): RedisLocation {
  const text = process.env[WORKER_REDIS_VARIABLE];
  if (!text) throw new Error(`${WORKER_REDIS_VARIABLE} is not set: this processor runs under clipsift worker`);
  return JSON.parse(text) as RedisLocation;
}

let runner: ShardTaskRunner | undefined;
let producer: FlowProducer | undefined;

/** Adds a flow to the queue this worker serves (one producer for the thread's life, waiting out restarts). */
function addFlow(flow: FlowJob): Promise<unknown> {
  if (!producer) {
    producer = new FlowProducer({ connection: connectionOptions(redisFromEnvironment(), true) });
    producer.on('error', () => {});
  }
  return producer.add(flow);
}

/**
 * Scores the job's shard, or runs a stage of `clipsift run` (src/cluster/flow.ts); the return value
 * (rows, already done; a stage's result) becomes the job's result.
 */
export default async function processScoreJob(job: SandboxedJob<ScoreJobData | RunJobData>) {
  runner ??= new ShardTaskRunner(threadsFromEnvironment(), (message) =>
    process.stderr.write(`clipsift worker: warning: ${message}\n`),
  );
  const data = job.data;
  if (isRunJob(data)) return runStageJob(data, runner, addFlow);
  const total = data.rows;
  let done = 0;
  let reportedAt = 0;
  const progress = {
    phase: undefined as string | undefined,
    redraw() {},
    add(rows: number) {
      done += rows;
      const now = Date.now();
      // One Redis write a second at most; a shard takes minutes.
      if (total > 0 && now - reportedAt >= 1000) {
        reportedAt = now;
        void job.updateProgress(Math.min(1, done / total)).catch(() => undefined);
      }
    },
  };
  return runner.run(data.task, progress);
}
