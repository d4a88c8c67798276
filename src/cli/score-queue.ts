/**
 * `clipsift score --queue`: the planned shards go to BullMQ as one job each instead of being scored
 * here; this process watches the cluster (or returns at once with --detach). The workers run the same
 * map step (src/pipeline) with the parameters pinned here, so their files match a local run's.
 */
import { resolve } from 'node:path';
import process from 'node:process';
import type { Queue } from 'bullmq';
import type { ShardRef } from '../io/layouts.js';
import { isRemotePath } from '../io/remote.js';
import type { ShardTask } from '../pipeline/task.js';
import { clipsiftVersion } from '../pipeline/version.js';
import type { LoadedTarget } from '../pipeline/target.js';
import type { ScoreJobData } from '../cluster/queue.js';
import type { ScoreParameters } from '../io/score-file.js';
import { runVariant, type ScoringSettings } from '../pipeline/plan.js';
import type { ScoreShard } from '../pipeline/score-shard.js';
import { join } from 'node:path';
import { RUN_STATS_FILE } from '../io/run-stats.js';
import { readShardStats, writeRunStats } from '../pipeline/stats.js';
import type { ScoreReportBuilder } from './score-report.js';
import { Progress, formatCount, formatDuration } from './progress.js';

/** The part of score's options the queue needs. */
export interface QueueScoreOptions extends ScoringSettings {
  queue: string;
  detach: boolean;
  attempts: number;
  out: string;
  arch: string;
  /** Further pairs of a several --arch run (NormSim on `arch`). */
  extraArchs?: string[] | undefined;
  keyColumn: string | undefined;
  imageKey?: string | undefined;
  textKey?: string | undefined;
  targetKey: string | undefined;
  target: string[];
  simd: 'auto' | 'baseline' | 'relaxed';
  quiet: boolean;
  /** The run's shard count (all parts of a --shard run), recorded in every score file for select. */
  runShards: number;
  /** Workers replace score files computed with other parameters (--force: the plan let them through). */
  force?: boolean;
}

/** A shard still to score, as score planned it. */
export interface PlannedForQueue {
  shard: ScoreShard;
  outPath: string;
  parameters: ScoreParameters;
}

/** Enqueues `todo` and (unless detached) waits for the cluster; resolves to the exit code. */
export async function scoreThroughQueue(
  todo: PlannedForQueue[],
  upToDate: number,
  options: QueueScoreOptions,
  target: LoadedTarget | undefined,
  report?: ScoreReportBuilder,
): Promise<number> {
  // With --json, stdout carries the document alone.
  const say = (text: string) => (report ? process.stderr : process.stdout).write(text);
  const { parseRedisUrl } = await import('../cluster/queue.js');
  const { submitAndWatch, connectScoreQueue, enqueueShards } = await import('../cluster/submit.js');
  const location = parseRedisUrl(options.queue);
  // Workers on other machines, other CPUs and other runtimes must compute the same bytes: no per-worker
  // 'auto'. Baseline SIMD runs everywhere; relaxed only where asked for (the variant score planned with).
  const simd = runVariant(options.simd, true);
  const shards = todo.map((planned) => {
    const task = shardTaskOf(planned.shard, options, target, simd);
    return { task, rows: planned.shard.img.rows, outPath: planned.outPath, parameters: planned.parameters };
  });
  const skipped = upToDate ? `; ${upToDate} already up to date` : '';

  // Connected before anything is shown: an unreachable Redis ends the run with its one line.
  const queue = await connectScoreQueue(location);
  try {
    if (options.detach) {
      const added = await enqueueShards(queue, shards, options.attempts);
      say(
        `enqueued ${added} shard job${added === 1 ? '' : 's'} on ${location.display}` +
          `${added < shards.length ? ` (${shards.length - added} already queued)` : ''}${skipped}; ` +
          `follow with: clipsift status --queue ${options.queue}\n`,
      );
      return 0;
    }
    return await watchOnQueue(queue);
  } finally {
    await queue.close().catch(() => undefined);
  }

  async function watchOnQueue(queue: Queue<ScoreJobData>): Promise<number> {
    const totalRows = shards.reduce((n, s) => n + s.rows, 0);
    const progress = new Progress({ label: `0/${shards.length} shards done`, total: totalRows, quiet: options.quiet });
    const stopKeepAlive = progress.keepAlive();
    const started = performance.now();
    let failed: Awaited<ReturnType<typeof submitAndWatch>>;
    try {
      failed = await submitAndWatch({
        queue,
        shards,
        attempts: options.attempts,
        onStatus(status) {
          progress.label =
            `${status.done}/${status.total} shards done, ${status.running} running, ${status.failed} failed` +
            (status.disconnected ? ` (waiting for ${location.display})` : '');
          progress.set(status.rowsDone);
        },
        onNote(note) {
          progress.clear();
          process.stderr.write(`clipsift score: ${note}\n`);
          progress.redraw();
        },
      });
    } finally {
      stopKeepAlive();
      progress.close();
    }
    const elapsed = (performance.now() - started) / 1000;
    const scored = shards.length - failed.length;
    // The workers wrote one <shard>.stats.json each; the summary is rebuilt from them here.
    try {
      await writeRunStats(options.out);
      if (report) report.stats = join(options.out, RUN_STATS_FILE);
    } catch (error) {
      process.stderr.write(
        `clipsift score: warning: ${options.out}/_stats.json not written: ${(error as Error).message}\n`,
      );
    }
    if (report) {
      // What each worker recorded; a failed shard's reason as the submitter saw it after its last attempt.
      const reasons = new Map(failed.map((f) => [f.shard, f.reason.replace(/\s*\n\s*/g, ' ')]));
      for (const { task } of shards) {
        const name = task.ref.name;
        const record = await readShardStats(options.out, name);
        const reason = reasons.get(name);
        if (reason !== undefined) report.failed(name, reason, record?.status === 'failed' ? record.seconds : null);
        else if (record?.status === 'scored') report.recorded(name, record);
      }
    }
    if (failed.length > 0) {
      process.stderr.write(`clipsift score: ${failed.length} of ${shards.length} shards failed:\n`);
      for (const { shard, reason } of failed) process.stderr.write(`  ${shard}: ${reason.replace(/\s*\n\s*/g, ' ')}\n`);
      say(`${scored} shard${scored === 1 ? '' : 's'} scored on the cluster${skipped}; score files in ${options.out}\n`);
      return 1;
    }
    const rows = shards.reduce((n, s) => n + s.rows, 0);
    say(
      `scored ${formatCount(rows)} rows in ${scored} shard${scored === 1 ? '' : 's'} on the cluster in ${formatDuration(elapsed)}` +
        `${skipped}; score files in ${options.out}\n`,
    );
    return 0;
  }
}

function absoluteRef(ref: ShardRef): ShardRef {
  return {
    ...ref,
    files: {
      image: absolute(ref.files.image),
      text: absolute(ref.files.text),
      ...(ref.files.metadata !== undefined ? { metadata: absolute(ref.files.metadata) } : {}),
    },
    ...(ref.npz !== undefined ? { npz: absolute(ref.npz) } : {}),
  };
}

/** A local path made absolute (workers run elsewhere); an s3:// or http(s):// URL as it is (resolve mangled it). */
function absolute(path: string): string {
  return isRemotePath(path) ? path : resolve(path);
}

/**
 * The task a worker runs for `shard`: every parameter that changes its scores, pinned here.
 * @param simd the kernel variant every worker uses
 */
export function shardTaskOf(
  shard: ScoreShard,
  options: QueueScoreOptions,
  target: LoadedTarget | undefined,
  simd: 'baseline' | 'relaxed',
): ShardTask {
  return {
    ref: absoluteRef(shard.ref),
    out: absolute(options.out),
    arch: options.arch,
    extraArchs: options.extraArchs ?? [],
    keyColumn: options.keyColumn ?? null,
    imageKey: options.imageKey ?? null,
    textKey: options.textKey ?? null,
    settings: {
      batchSize: options.batchSize,
      temperature: options.temperature,
      repeats: options.repeats,
      seed: options.seed,
      p: options.p === Infinity ? 'inf' : options.p,
      normalize: options.normalize,
      skipInvalid: options.skipInvalid,
      precision: options.precision,
    },
    simd,
    target:
      target && options.target.length > 0
        ? {
            paths: options.target.map(absolute),
            key: options.targetKey ?? null,
            sha256: target.identity.sha256,
          }
        : null,
    clipsiftVersion: clipsiftVersion(),
    runShards: options.runShards,
    ...(options.force ? { force: true } : {}),
  };
}
