/**
 * `clipsift status`: the figures of the cluster's score queue, from any machine that reaches Redis.
 */
import { resolve } from 'node:path';
import process from 'node:process';
import { parseCommandArgs, UsageError } from './args.js';
import type { Command } from './command.js';
import { formatCount, formatDuration, formatRate } from './progress.js';

const usage = `usage: clipsift status --queue redis://HOST:PORT[/DB] [--out <dir>]

Shows the shard jobs of the queue that \`clipsift score --queue\` (and \`clipsift run --queue\`) fills: done, running, waiting and
failed, rows/s over the last ten minutes, an ETA, and each failed shard with its reason (the passes of
\`clipsift select --queue\` are not shards and are not counted). Exit status: 0, 1 while the queue holds
failed shards or when Redis does not answer within 5 s, 2 usage error.

options:
  --queue <url>          the Redis that holds the queue                         [required]
  --out <dir>            only the jobs writing score files into this directory
  -h, --help             this help`;

/** Completed jobs looked at for the rate. */
const RATE_WINDOW_MS = 10 * 60 * 1000;

async function runStatus(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    queue: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.queue === undefined) throw new UsageError('--queue redis://HOST:PORT[/DB] is required');
  const { parseRedisUrl } = await import('../cluster/queue.js');
  const { connectScoreQueue } = await import('../cluster/submit.js');
  const { isSelectPassJob } = await import('../cluster/select-passes.js');
  let location: ReturnType<typeof parseRedisUrl>;
  try {
    location = parseRedisUrl(values.queue);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const out = values.out !== undefined ? resolve(values.out) : undefined;
  const queue = await connectScoreQueue(location);
  try {
    const groups = {
      done: await queue.getJobs(['completed']),
      running: await queue.getJobs(['active']),
      waiting: await queue.getJobs(['waiting', 'delayed', 'prioritized']),
      failed: await queue.getJobs(['failed']),
    };
    // A select --queue's pass jobs are no shards (and a failed one is kept a day): left out.
    const mine = (jobs: typeof groups.done) =>
      jobs.filter((job) => job && !isSelectPassJob(job.data) && (!out || job.data?.task?.out === out));
    const done = mine(groups.done);
    const running = mine(groups.running);
    const waiting = mine(groups.waiting);
    const failed = mine(groups.failed);
    const total = done.length + running.length + waiting.length + failed.length;
    const now = Date.now();
    const recent = done.filter((job) => job.finishedOn !== undefined && now - job.finishedOn <= RATE_WINDOW_MS);
    const recentRows = recent.reduce((n, job) => n + (job.data?.rows ?? 0), 0);
    const since = Math.min(...recent.map((job) => job.processedOn ?? job.finishedOn!));
    const seconds = recent.length > 0 ? Math.max(1, (now - since) / 1000) : 0;
    const rate = seconds > 0 ? recentRows / seconds : 0;
    const rowsLeft = [...running, ...waiting].reduce((n, job) => n + (job.data?.rows ?? 0), 0);
    const eta = rate > 0 && rowsLeft > 0 ? `, ETA ${formatDuration(rowsLeft / rate)}` : '';
    process.stdout.write(
      `${location.display}${out ? ` (${out})` : ''}: ${done.length}/${total} shards done, ${running.length} running, ` +
        `${waiting.length} waiting, ${failed.length} failed; ${formatRate(rate)} rows/s over the last 10 min` +
        `, ${formatCount(rowsLeft)} rows left${eta}\n`,
    );
    for (const job of failed) {
      process.stdout.write(`  failed ${job.data?.task?.ref?.name ?? job.name}: ${job.failedReason}\n`);
    }
    return failed.length > 0 ? 1 : 0;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/** The `clipsift status` command. */
export const command: Command = {
  name: 'status',
  summary: 'show the shard jobs of a cluster run (clipsift score --queue)',
  usage,
  run: runStatus,
};
