/**
 * `clipsift run --queue`: the run's stages as BullMQ flows on the `clipsift worker`s
 * (src/cluster/flow.ts); this process plans the shards, enqueues, and waits for the subset.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import process from 'node:process';
import { planShards, runVariant } from '../pipeline/plan.js';
import type { RecipeSteps } from '../pipeline/recipe.js';
import { loadTarget } from '../pipeline/target.js';
import type { ShardTask } from '../pipeline/task.js';
import { clipsiftVersion } from '../pipeline/version.js';
import { UsageError } from './args.js';
import { formatCount, formatDuration } from './progress.js';
import type { RunOptions } from './run.js';
import { formatRunSummary } from './run.js';
import { openShardsOf } from './score.js';
import { shardTaskOf } from './score-queue.js';

/** Runs `clipsift run` on the cluster; resolves to the exit code. */
export async function runThroughQueue(
  options: RunOptions,
  steps: RecipeSteps,
  normSim: string | null,
): Promise<number> {
  const { score } = options;
  const { parseRedisUrl } = await import('../cluster/queue.js');
  const { submitRun } = await import('../cluster/flow.js');
  let location: ReturnType<typeof parseRedisUrl>;
  try {
    location = parseRedisUrl(score.queue!);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const say = (line: string) => {
    if (!score.quiet) process.stderr.write(`run: ${line}\n`);
  };
  const started = performance.now();
  const shards = await openShardsOf(score);
  mkdirSync(score.out, { recursive: true });
  // Workers on other machines and runtimes must write the same bytes: the variant is pinned here.
  const simd = runVariant(score.simd, true);
  const target = normSim ? await loadTarget(score.target, score.targetKey, score.normalize) : undefined;
  // --force goes with every task: the workers replace a negCLIPLoss or survivor file computed with other
  // parameters, as the local run does.
  const base = { ...score, queue: score.queue!, runShards: shards.length };
  // The negCLIPLoss stage's files are score's, planned as score plans them.
  const plan = await planShards(shards, {
    out: score.out,
    settings: score,
    target: null,
    variant: simd,
    force: score.force,
    remedy: 'pass --force to overwrite, or use another --out',
    warn: (message) => process.stderr.write(`clipsift run: warning: ${message}\n`),
  });
  const negclip = plan
    .filter((planned) => !planned.done)
    .map(({ shard }) => ({
      task: shardTaskOf(shard, { ...base, target: [], targetKey: undefined, p: Infinity }, undefined, simd),
      rows: shard.img.rows,
    }));
  const survivorTasks: Record<string, ShardTask> = {};
  if (target) for (const shard of shards) survivorTasks[shard.name] = shardTaskOf(shard, base, target, simd);
  const outcome = await submitRun({
    location,
    spec: {
      id: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      out: resolve(score.out),
      shards: shards.map((s) => s.name),
      steps,
      normSim,
      subset: resolve(options.subset),
      clipsiftVersion: clipsiftVersion(),
    },
    negclip,
    survivorTasks,
    attempts: score.attempts,
    detach: score.detach,
    onStage: say,
  });
  if (outcome.ok === 'detached') {
    const scored = shards.length - negclip.length;
    process.stdout.write(
      `enqueued the run on ${location.display}: ${negclip.length} negCLIPLoss shard job${negclip.length === 1 ? '' : 's'}` +
        `${scored > 0 ? ` (${scored} already scored)` : ''} and the threshold job, which enqueues the rest; ` +
        `the subset will be ${resolve(options.subset)}; follow with: clipsift status --queue ${score.queue}\n`,
    );
    return 0;
  }
  if (!outcome.ok) {
    process.stderr.write(`clipsift run: the ${outcome.stage} stage failed on the cluster:\n`);
    for (const { job, reason } of outcome.failed)
      process.stderr.write(`  ${job}: ${reason.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
  process.stdout.write(`${formatRunSummary(outcome.subset)}\n`);
  say(
    `done on the cluster in ${formatDuration((performance.now() - started) / 1000)} (${formatCount(negclip.length)} shards scored)`,
  );
  return 0;
}
