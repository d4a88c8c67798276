/**
 * `clipsift worker`: takes shard jobs from the queue and writes their score files, on as many machines
 * as you like. Node-only adapter (BullMQ on Redis).
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import type { ShardTaskResult } from '../pipeline/task.js';
import { describeJob, isRunJob, type RunJobData } from './flow.js';
import {
  connectionOptions,
  DEFAULT_LOCKS,
  reachRedis,
  SCORE_QUEUE,
  type LockSettings,
  type RedisLocation,
  type ScoreJobData,
  type ProcessorSetup,
} from './queue.js';

export interface WorkerOptions {
  location: RedisLocation;
  /** Kernel threads per job. */
  threads: number | 'auto';
  /** Jobs at once (each in its own thread). */
  concurrency: number;
  locks?: LockSettings;
  /** One line per event (job done or failed, connection trouble). */
  log(line: string): void;
}

/**
 * Starts a worker; resolves once it is connected. `stop()` lets the jobs in hand finish, then
 * disconnects.
 */
export async function startWorker(options: WorkerOptions): Promise<{ stop(): Promise<void>; worker: Worker }> {
  // What the processor threads need, handed to each as its workerData rather than through the process
  // environment, which any child process would inherit (the Redis location may carry a password).
  const setup: ProcessorSetup = { threads: options.threads, redis: options.location };
  const locks = options.locks ?? DEFAULT_LOCKS;
  const processor = fileURLToPath(new URL('./processor.js', import.meta.url));
  const worker = new Worker<ScoreJobData | RunJobData, unknown>(SCORE_QUEUE, processor, {
    connection: connectionOptions(options.location, true),
    concurrency: options.concurrency,
    useWorkerThreads: true,
    workerThreadsOptions: { workerData: setup },
    lockDuration: locks.lockDuration,
    stalledInterval: locks.stalledInterval,
    maxStalledCount: locks.maxStalledCount,
    // Jobs hold their settings; the worker's own removal policy would override the submitter's.
    autorun: true,
  });
  const started = new Map<string, number>();
  let lastError = '';
  worker.on('active', (job) => {
    started.set(job.id!, Date.now());
    options.log(
      isRunJob(job.data)
        ? `running ${describeJob(job.data)}`
        : `scoring ${job.data.task.ref.name} (${job.data.rows} rows)`,
    );
  });
  worker.on('completed', (job, value) => {
    const seconds = ((Date.now() - (started.get(job.id!) ?? Date.now())) / 1000).toFixed(1);
    started.delete(job.id!);
    if (isRunJob(job.data)) {
      options.log(`${describeJob(job.data)}: done in ${seconds} s`);
      return;
    }
    const result = value as ShardTaskResult;
    options.log(
      result.alreadyDone
        ? `${result.shard}: score file already complete`
        : `${result.shard}: wrote ${result.written} rows in ${seconds} s`,
    );
  });
  worker.on('failed', (job, error) => {
    if (!job) return;
    started.delete(job.id!);
    const left = (job.opts.attempts ?? 1) - job.attemptsMade;
    options.log(
      `${describeJob(job.data)}: failed (attempt ${job.attemptsMade}${left > 0 ? `, ${left} left` : ', no more'}): ${oneLine(error.message)}`,
    );
  });
  let connected = false;
  worker.on('error', (error) => {
    // Before the first connection reachRedis says why it failed, in one line.
    if (!connected) return;
    // ioredis reports every failed reconnection; say it once until something changes.
    const line = oneLine(error.message);
    if (line !== lastError) options.log(`queue: ${line}`);
    lastError = line;
  });
  worker.on('ready', () => {
    if (lastError) options.log(`queue: connected to ${options.location.display}`);
    lastError = '';
  });
  try {
    await reachRedis(worker, options.location);
  } catch (error) {
    await worker.close(true).catch(() => undefined);
    throw error;
  }
  connected = true;
  return {
    worker,
    async stop() {
      await worker.close();
    },
  };
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
