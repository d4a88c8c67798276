/**
 * `clipsift run --queue`: the recipe as two BullMQ flows on the score queue, run by the same
 * `clipsift worker`s (and the same sandboxed processor) as `score --queue`. Node-only adapter.
 *
 *   flow 1: threshold (parent) ← negCLIPLoss of every shard still without its score file (children)
 *   flow 2: subset (parent)    ← NormSim of each shard's survivors (children, one per shard with survivors)
 *
 * A parent runs once all its children completed (BullMQ's flows); a child that fails for good fails its
 * parent (failParentOnFailure). The threshold job itself adds flow 2 once it has the cuts, so a run
 * goes on to its subset without its submitter (`run --queue --detach`, or a submitter that died); a
 * submitter that waits prints the subset job's summary. Every job writes files atomically and deterministically, and checks
 * what is already on disk first, so a job taken over from a killed worker, or run again, writes the
 * same bytes. Job ids carry a per-submission id: a new submission never picks up an old run's results.
 */
import { type FlowJob, FlowProducer, type Job, type Queue } from 'bullmq';
import {
  type RecipeSteps,
  subsetStep,
  thresholdStep,
  type SubsetResult,
  type ThresholdResult,
} from '../pipeline/recipe.js';
import type { ShardTask, ShardTaskRunner, SurvivorTask } from '../pipeline/task.js';
import { clipsiftVersion } from '../pipeline/version.js';
import {
  connectionOptions,
  reachRedis,
  SCORE_QUEUE,
  scoreJobOptions,
  type RedisLocation,
  type ScoreJobData,
} from './queue.js';
import { pollJobs } from './poll.js';
import { runSelectPassJob, type SelectPassJobData } from './select-passes.js';
import { connectScoreQueue } from './submit.js';

/** What every job of one run agrees on. */
export interface RunSpec {
  /** This submission's id (job ids derive from it). */
  id: string;
  /** The run's directory, as every worker sees it. */
  out: string;
  /** Every shard of the run. */
  shards: string[];
  steps: RecipeSteps;
  /** The NormSim column, or null without a target. */
  normSim: string | null;
  /** The subset file to write. */
  subset: string;
  clipsiftVersion: string;
}

/** What the threshold job needs to add flow 2 itself. */
export interface NextStage {
  /** Per shard, its task with the target (for NormSim on its survivors). */
  survivorTasks: Record<string, ShardTask>;
  /** Tries per job. */
  attempts: number;
}

/** The threshold job (flow 1's parent). */
export interface ThresholdJobData {
  kind: 'threshold';
  run: RunSpec;
  next: NextStage;
}

/** A NormSim-on-survivors job (a child of flow 2). */
export interface SurvivorJobData {
  kind: 'survivors';
  task: SurvivorTask;
  /** Survivors in the shard, for progress. */
  rows: number;
}

/** The subset job (flow 2's parent). */
export interface SubsetJobData {
  kind: 'subset';
  run: RunSpec;
}

/** Any job with a kind: a run's stages, or a pass of `select --queue` (score jobs carry no kind). */
export type RunJobData = ThresholdJobData | SurvivorJobData | SubsetJobData | SelectPassJobData;

/** True for the jobs of a run's stages (as opposed to shard score jobs). */
export function isRunJob(data: unknown): data is RunJobData {
  return typeof data === 'object' && data !== null && 'kind' in data;
}

/**
 * Runs one stage job in a worker (src/cluster/processor.ts dispatches here); `addFlow` enqueues (the
 * threshold job adds flow 2 with it before it returns; job ids are the run's, so a threshold job run
 * twice adds nothing twice).
 */
export async function runStageJob(
  data: RunJobData,
  runner: ShardTaskRunner,
  addFlow: (flow: FlowJob) => Promise<unknown>,
) {
  if (data.kind === 'select-pass') return runSelectPassJob(data);
  if (data.kind === 'survivors') return runner.runSurvivors(data.task);
  if (data.run.clipsiftVersion !== clipsiftVersion())
    throw new Error(
      `this worker runs clipsift ${clipsiftVersion()} but the run was submitted with clipsift ${data.run.clipsiftVersion}`,
    );
  const files = { shards: data.run.shards, out: data.run.out };
  if (data.kind === 'threshold') {
    const threshold = await thresholdStep(files, data.run.steps);
    await addFlow(survivorFlow(data.run, threshold, data.next).flow);
    return threshold;
  }
  return subsetStep(files, data.run.steps, data.run.normSim, { path: data.run.subset, force: true });
}

/** A short name of a job for worker logs. */
export function describeJob(data: ScoreJobData | RunJobData): string {
  if (!isRunJob(data)) return data.task.ref.name;
  if (data.kind === 'survivors') return `${data.task.shard.ref.name} NormSim of ${data.rows} survivors`;
  if (data.kind === 'select-pass') return `select pass over ${data.file}`;
  return `${data.kind} of ${data.run.shards.length} shards`;
}

/** Options of a child job: a child that fails for good fails its parent. */
function childOptions(jobId: string, attempts: number) {
  return { ...scoreJobOptions(jobId, attempts), failParentOnFailure: true };
}

/** Flow 2 of a run: a NormSim job per shard with survivors (children), then the subset (parent). */
export function survivorFlow(
  spec: RunSpec,
  threshold: ThresholdResult,
  next: NextStage,
): { flow: FlowJob; subsetId: string; survivorIds: string[] } {
  const subsetId = `run-${spec.id}-subset`;
  const withSurvivors = spec.normSim
    ? spec.shards.filter((shard) => (threshold.survivorsPerShard[shard] ?? 0) > 0)
    : [];
  const survivorIds = withSurvivors.map((_, k) => `run-${spec.id}-normsim-${k}`);
  const flow: FlowJob = {
    name: 'subset',
    queueName: SCORE_QUEUE,
    data: { kind: 'subset', run: spec } satisfies SubsetJobData,
    opts: { ...scoreJobOptions(subsetId, next.attempts) },
    children: withSurvivors.map((shard, k) => ({
      name: shard,
      queueName: SCORE_QUEUE,
      data: {
        kind: 'survivors',
        task: { shard: next.survivorTasks[shard]!, cuts: threshold.cuts[shard]! },
        rows: threshold.survivorsPerShard[shard]!,
      } satisfies SurvivorJobData,
      opts: childOptions(survivorIds[k]!, next.attempts),
    })),
  };
  return { flow, subsetId, survivorIds };
}

/** What the submitter needs for a run. */
export interface RunSubmission {
  location: RedisLocation;
  spec: RunSpec;
  /** negCLIPLoss tasks of the shards whose score file is not complete yet. */
  negclip: { task: ShardTask; rows: number }[];
  /** Per shard, its task with the target (for NormSim on its survivors). */
  survivorTasks: Record<string, ShardTask>;
  attempts: number;
  /** Enqueue flow 1 and return: the threshold job adds flow 2, the workers do the rest. */
  detach?: boolean;
  pollMs?: number;
  /** A line about a stage: started, progress, done. */
  onStage?(line: string): void;
}

/** A job that failed for good, with its reason. */
export interface FailedJob {
  job: string;
  reason: string;
}

/** The outcome of a run on the cluster. */
export type RunOutcome =
  | { ok: true; threshold: ThresholdResult; subset: SubsetResult }
  | { ok: false; stage: string; failed: FailedJob[] }
  | { ok: 'detached'; jobs: number };

/**
 * Submits the run's first flow (whose threshold job adds the second) and waits for the subset, or
 * returns once it is enqueued (`detach`).
 */
export async function submitRun(options: RunSubmission): Promise<RunOutcome> {
  const queue = await connectScoreQueue(options.location);
  const flows = new FlowProducer({ connection: connectionOptions(options.location, false) });
  flows.on('error', () => {});
  try {
    await reachRedis(flows, options.location);
    const { spec, attempts } = options;
    const next: NextStage = { survivorTasks: options.survivorTasks, attempts };

    // Flow 1: negCLIPLoss children, threshold parent.
    const thresholdId = `run-${spec.id}-threshold`;
    const negclipIds = options.negclip.map((_, k) => `run-${spec.id}-negclip-${k}`);
    const flow1 = () =>
      flows.add({
        name: 'threshold',
        queueName: SCORE_QUEUE,
        data: { kind: 'threshold', run: spec, next } satisfies ThresholdJobData,
        opts: { ...scoreJobOptions(thresholdId, attempts) },
        children: options.negclip.map(({ task, rows }, k) => ({
          name: task.ref.name,
          queueName: SCORE_QUEUE,
          data: { task, rows } satisfies ScoreJobData,
          opts: childOptions(negclipIds[k]!, attempts),
        })),
      });
    await flow1();
    if (options.detach) return { ok: 'detached', jobs: options.negclip.length + 1 };
    options.onStage?.(
      `negCLIPLoss: ${options.negclip.length} shard job${options.negclip.length === 1 ? '' : 's'} enqueued (${spec.shards.length - options.negclip.length} already scored), then the threshold`,
    );
    const first = await waitFor<ThresholdResult>(queue, thresholdId, negclipIds, flow1, options);
    if (!first.ok) return { ok: false, stage: 'negCLIPLoss and threshold', failed: first.failed };
    const threshold = first.value;
    options.onStage?.(
      `threshold: ${threshold.survivors} of ${threshold.pool} rows survive the steps before ${spec.normSim ?? 'the end'}`,
    );

    // Flow 2 (NormSim-on-survivors children, subset parent): the threshold job added it; added again
    // (the same job ids) only if Redis lost it.
    const { flow, subsetId, survivorIds } = survivorFlow(spec, threshold, next);
    const flow2 = () => flows.add(flow);
    if (spec.normSim)
      options.onStage?.(`NormSim: ${survivorIds.length} shard jobs of survivors enqueued, then the subset`);
    const second = await waitFor<SubsetResult>(queue, subsetId, survivorIds, flow2, options);
    if (!second.ok) return { ok: false, stage: 'NormSim on survivors and subset', failed: second.failed };
    return { ok: true, threshold, subset: second.value };
  } finally {
    await flows.close().catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
}

/**
 * Waits for the parent job `id` of a flow whose children are `children`. A parent that vanished (Redis
 * restarted without its data) gets its flow added again (`again`: the same job ids; children whose files
 * are complete finish at once). Resolves to the parent's return value, or the jobs that failed.
 */
async function waitFor<T>(
  queue: Queue,
  id: string,
  children: string[],
  again: () => Promise<unknown>,
  options: RunSubmission,
): Promise<{ ok: true; value: T } | { ok: false; failed: FailedJob[] }> {
  const poll = { pollMs: options.pollMs ?? 500 };
  let shown = -1;
  return pollJobs(
    queue,
    () => [id, ...children],
    async (states) => {
      const state = states.get(id);
      if (state === 'completed') {
        const job = (await queue.getJob(id)) as Job | undefined;
        return { ok: true, value: job!.returnvalue as T } as const;
      }
      if (state === 'failed') {
        // The other children go on: wait for them, so their files are written when this returns.
        await pollJobs(
          queue,
          () => children,
          async (settled) =>
            [...settled.values()].every((s) => s === 'completed' || s === 'failed' || s === 'unknown')
              ? true
              : undefined,
          poll,
        );
        const failed: FailedJob[] = [];
        for (const child of children) {
          const job = await queue.getJob(child);
          if (job && (await job.getState()) === 'failed')
            failed.push({ job: job.name, reason: job.failedReason ?? 'failed' });
        }
        if (failed.length === 0) {
          const job = await queue.getJob(id);
          failed.push({ job: job?.name ?? id, reason: job?.failedReason ?? 'failed' });
        }
        return { ok: false, failed } as const;
      }
      if (state === 'unknown') {
        options.onStage?.('the run’s jobs are missing from Redis (restarted without persistence?); enqueued again');
        await again();
      } else if (children.length > 0) {
        const done = children.filter((child) => states.get(child) === 'completed').length;
        if (done !== shown) {
          shown = done;
          options.onStage?.(`${done}/${children.length} jobs done`);
        }
      }
      return undefined;
    },
    poll,
  );
}
