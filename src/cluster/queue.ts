/**
 * What the submitter, the workers and `status` agree on: the Redis location, the queue's name, job
 * ids and job options. Node-only adapter (BullMQ on Redis).
 */
import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { canonicalJson } from '../io/score-file.js';
import type { ShardTask } from '../pipeline/task.js';

/** The BullMQ queue every `clipsift score --queue` and `clipsift worker` use. */
export const SCORE_QUEUE = 'clipsift-score';

/** Connection settings for BullMQ (ioredis options). */
export interface RedisLocation {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** The URL with any password hidden, for messages. */
  display: string;
}

/**
 * Parses `redis://[user:password@]host:port[/db]`.
 * @throws {Error} naming the expected form
 */
export function parseRedisUrl(text: string): RedisLocation {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--queue must be redis://HOST:PORT[/DB], got '${text}'`);
  }
  if (url.protocol !== 'redis:') throw new Error(`--queue must be a redis:// URL, got '${text}'`);
  if (!url.hostname) throw new Error(`--queue: no host in '${text}'`);
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error(`--queue: the database must be a number, got '${dbText}'`);
  const display = `redis://${url.hostname}:${port}/${db}`;
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    display,
  };
}

/** ioredis options for a location; `blocking` connections (workers) retry commands forever. */
export function connectionOptions(location: RedisLocation, blocking: boolean) {
  const { display: _display, ...rest } = location;
  return {
    ...rest,
    // Reconnect forever, at most 2 s apart: a restarted Redis is picked up within seconds.
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
    ...(blocking ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false }),
  };
}

/** What `clipsift worker` hands each processor thread (as its workerData). */
export interface ProcessorSetup {
  /** Kernel threads of the thread's engine. */
  threads: number | 'auto';
  /** The worker's Redis: the threshold job of a run adds the run's second flow from the processor thread. */
  redis: RedisLocation;
}

/** How long a command waits for Redis to answer when it starts, before it gives up (exit 1). */
export const CONNECT_TIMEOUT_MS = 5000;

/** What BullMQ's Queue, Worker and FlowProducer share: a first connection to wait for, and errors. */
export interface RedisClient {
  waitUntilReady(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Waits until `client` is connected, at most `ms`. Later disconnections are not bounded (a restarted
 * Redis is picked up again); only the first connection is, so a wrong URL or a host that never answers
 * ends the command instead of waiting for ever.
 * @throws {Error} `cannot reach <url>: <the last connection error, or timed out after N s>`
 */
export async function reachRedis(client: RedisClient, location: RedisLocation, ms = CONNECT_TIMEOUT_MS): Promise<void> {
  let lastError: Error | undefined;
  client.on('error', (error) => (lastError = error));
  const unreachable = (reason: string) =>
    new Error(`cannot reach ${location.display}: ${reason.replace(/\s*\n\s*/g, ' ').trim()}`);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.waitUntilReady().catch((error: Error) => {
        throw unreachable(lastError?.message ?? error.message);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(unreachable(lastError?.message ?? `timed out after ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The data of one shard's job. */
export interface ScoreJobData {
  task: ShardTask;
  /** Rows in the shard, for progress and rates. */
  rows: number;
}

/**
 * A job id that depends only on what the job computes and where it writes, so enqueuing the same shard
 * twice (a re-run, or a re-enqueue after Redis lost its data) never makes two jobs of it.
 */
export function scoreJobId(task: ShardTask): string {
  const digest = createHash('sha256').update(canonicalJson(task)).digest('hex');
  return `score-${task.ref.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60)}-${digest.slice(0, 24)}`;
}

/** Options of a shard's job: `attempts` tries, one second apart; results kept a day, failures kept. */
export function scoreJobOptions(jobId: string, attempts: number): JobsOptions {
  return {
    jobId,
    attempts,
    backoff: { type: 'fixed', delay: 1000 },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: false,
  };
}

/** Lock and stall settings of workers: how fast a dead worker's shard goes back to the queue. */
export interface LockSettings {
  /** A job's lock lives this long unless renewed (renewed every half of it). */
  lockDuration: number;
  /** How often workers look for jobs whose lock expired. */
  stalledInterval: number;
  /** How many times a job may lose its worker before it fails. */
  maxStalledCount: number;
}

/** A dead worker's shard is back in the queue within lockDuration + stalledInterval (15 s). */
export const DEFAULT_LOCKS: LockSettings = { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 5 };
