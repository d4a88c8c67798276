/**
 * The sandboxed BullMQ processor of `clipsift worker`: runs in a worker thread (useWorkerThreads), so the
 * CPU-bound reading and scoring never block the worker's main thread, which keeps renewing the job's
 * lock. The thread lives across jobs, and so do its engine and target (see ShardTaskRunner).
 */
import process from 'node:process';
import { workerData } from 'node:worker_threads';
import { type FlowJob, FlowProducer, type SandboxedJob } from 'bullmq';
import { ShardTaskRunner } from '../pipeline/task.js';
import { isRunJob, runStageJob, type RunJobData } from './flow.js';
import { connectionOptions, type ProcessorSetup, type ScoreJobData } from './queue.js';

/** What `clipsift worker` handed this thread: its kernel threads and its Redis. */
function setup(): ProcessorSetup {
  const data = workerData as ProcessorSetup | undefined;
  if (!data?.redis) throw new Error('no processor setup in workerData: this processor runs under clipsift worker');
  return data;
}

let runner: ShardTaskRunner | undefined;
let producer: FlowProducer | undefined;

/** Adds a flow to the queue this worker serves (one producer for the thread's life, waiting out restarts). */
function addFlow(flow: FlowJob): Promise<unknown> {
  if (!producer) {
    producer = new FlowProducer({ connection: connectionOptions(setup().redis, true) });
    producer.on('error', () => {});
  }
  return producer.add(flow);
}

/**
 * Scores the job's shard, or runs a stage of `clipsift run` (src/cluster/flow.ts); the return value
 * (rows, already done; a stage's result) becomes the job's result.
 */
export default async function processScoreJob(job: SandboxedJob<ScoreJobData | RunJobData>) {
  runner ??= new ShardTaskRunner(setup().threads, (message) =>
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
