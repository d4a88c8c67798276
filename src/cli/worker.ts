/**
 * `clipsift worker`: a thin shell over src/cluster/worker.ts. Runs until SIGINT or SIGTERM, then lets
 * the jobs in hand finish (a second signal stops at once; their shards go back to the queue).
 */
import process from 'node:process';
import { numberOption, parseCommandArgs, threadsOption, UsageError } from './args.js';
import type { Command } from './command.js';

const usage = `usage: clipsift worker --queue redis://HOST:PORT[/DB] [options]

Takes shard jobs enqueued by \`clipsift score ... --queue\` and writes their score files, and the
stages of \`clipsift run ... --queue\` (negCLIPLoss, threshold, NormSim on survivors, subset) and the
threshold passes of \`clipsift select ... --queue\` (one job per score file), on any number of machines;
every machine must see the inputs, the target and --out at the same paths.
Scoring runs in a worker thread, so the job's lock is renewed while the CPU is busy; if this
process dies, its shard goes back to the queue once the lock expires. A Redis that does not answer
within 5 s of starting ends the worker (exit 1); once connected, it waits through Redis restarts.

options:
  --queue <url>               the Redis that holds the queue                      [required]
  --threads auto|<n>          kernel threads per job                              [auto]
  --concurrency <n>           jobs at once (each in its own thread)               [1]
  --lock-duration <ms>        a job's lock lives this long unless renewed; a dead
                              worker's shard restarts after about this plus the
                              stalled interval                                    [10000]
  --stalled-interval <ms>     how often to look for jobs whose lock expired       [5000]
  -h, --help                  this help`;

async function runWorker(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {
    queue: { type: 'string' },
    threads: { type: 'string' },
    concurrency: { type: 'string' },
    'lock-duration': { type: 'string' },
    'stalled-interval': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (values.queue === undefined) throw new UsageError('--queue redis://HOST:PORT[/DB] is required');
  const { parseRedisUrl, DEFAULT_LOCKS } = await import('../cluster/queue.js');
  let location: ReturnType<typeof parseRedisUrl>;
  try {
    location = parseRedisUrl(values.queue);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const threads = threadsOption(values.threads);
  const concurrency = numberOption('concurrency', values.concurrency, 1, { integer: true, positive: true });
  const lockDuration = numberOption('lock-duration', values['lock-duration'], DEFAULT_LOCKS.lockDuration, {
    integer: true,
    min: 500,
  });
  const stalledInterval = numberOption('stalled-interval', values['stalled-interval'], DEFAULT_LOCKS.stalledInterval, {
    integer: true,
    min: 200,
  });
  const log = (line: string) => process.stderr.write(`clipsift worker: ${line}\n`);
  const { startWorker } = await import('../cluster/worker.js');
  const { stop } = await startWorker({
    location,
    threads,
    concurrency,
    locks: { lockDuration, stalledInterval, maxStalledCount: DEFAULT_LOCKS.maxStalledCount },
    log,
  });
  log(`waiting for shard jobs on ${location.display} (threads ${threads}, concurrency ${concurrency})`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) {
        log(`${signal} again: stopping now`);
        process.exit(130);
      }
      stopping = true;
      log(`${signal}: finishing the jobs in hand (send it again to stop now)`);
      stop().then(resolve, resolve);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  });
  log('stopped');
  return 0;
}

/** The `clipsift worker` command. */
export const command: Command = {
  name: 'worker',
  summary: 'score shard jobs from a BullMQ queue on Redis (clipsift score --queue)',
  usage,
  run: runWorker,
};
