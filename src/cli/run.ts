/**
 * `clipsift run`: score negCLIPLoss on every shard, cut the pool with the steps that need no NormSim
 * (the threshold step), score NormSim on the survivors only, and write the subset file: the subset of
 * `clipsift score --target …` + `clipsift select` with the same steps, for the NormSim work of the
 * survivors alone. A thin shell: scoring is `score`'s (runScore), the cut and the subset are
 * src/pipeline/recipe.ts over src/select's steps, NormSim on survivors is the task runner's
 * (src/pipeline/task.ts). With --queue every stage runs on
 * `clipsift worker`s as BullMQ flows (src/cluster/flow.ts, src/cli/run-queue.ts).
 */
import { join } from 'node:path';
import process from 'node:process';
import { chooseSimd } from '../engine/open.js';
import { normSimColumn } from '../io/score-file.js';
import { splitRecipeSteps, subsetStep, survivorDir, thresholdStep, type SubsetResult } from '../pipeline/recipe.js';
import { loadTarget } from '../pipeline/target.js';
import { ShardTaskRunner } from '../pipeline/task.js';
import type { SelectionStep } from '../select/steps.js';
import { threadsForWork, UsageError } from './args.js';
import type { Command } from './command.js';
import { formatCount, formatDuration } from './progress.js';
import { openShardsOf, parseScoreOptions, runScore, type ScoreOptions, withSignedUrls } from './score.js';
import { shardTaskOf } from './score-queue.js';
import { formatSelectSummary, parseSelectOptions, type SelectSummary } from './select.js';
import { removeStaleTemporaries, removeStaleTemporariesBeside } from './stale-temporaries.js';

const usage = `usage: clipsift run <dir or files...> --out <dir> --top negclip_loss:0.3 --top normsim_inf:0.2 --target <file|dir> [options]

The paper's recipe in one command, scoring NormSim only where it can still matter: negCLIPLoss (and
CLIPScore) on every shard, then the steps before the first NormSim step over the whole pool (the global
threshold), then NormSim only for the rows that survive them, then the remaining steps and the subset
file. The subset is byte for byte the one of \`clipsift score --target …\` followed by \`clipsift select\`
with the same steps (fractions of the whole pool, ties by uid); with --top negclip_loss:0.3 first,
NormSim is computed for 30 % of the pool instead of all of it.

Steps (in the order given, as in clipsift select):
  --top COLUMN:FRACTION   keep the top ⌊N·FRACTION⌋ surviving rows (FRACTION 0.3 or 30%)
  --min COLUMN:VALUE      keep the rows whose COLUMN is ≥ VALUE
  --rounding floor|datacomp, --preset NAME   as in clipsift select
  Columns: clip_score and negclip_loss (scored on every row), and the NormSim column of --target and
  --p (normsim_inf, normsim_2, normsim_p<p>), which the first step must not use.

options:
  --out <dir>             the run's directory: <shard>.scores.parquet (negCLIPLoss, as clipsift score
                          writes them), <normsim column>/<shard>.scores.parquet (NormSim of the
                          survivors), and subset.npy                                    [required]
  --subset FILE           the subset file to write (rewritten by every run)   [<out>/subset.npy]
  --queue redis://HOST:PORT[/DB]   run every stage on \`clipsift worker\`s: flow 1 = negCLIPLoss jobs
                          then the threshold job, flow 2 = NormSim-on-survivors jobs then the subset
                          job; --simd auto means baseline here, so every worker writes the same bytes
  --detach                with --queue: enqueue flow 1 and return; its threshold job enqueues flow 2,
                          so the workers finish the run alone (follow it with clipsift status)
  --attempts <n>          with --queue: tries per job before it counts as failed          [3]
  every option of clipsift score (--target, --target-key, --p, --arch, --batch-size, --seed,
  --threads, --simd, --precision, --skip-invalid, --normalize, --force, --quiet, ...) except --shard

A re-run resumes: score files and survivor files computed with the same parameters are kept.`;

/** Options that belong to the steps (passed to select's parser); the rest are score's. */
const STEP_OPTIONS = new Set(['--top', '--min', '--rounding', '--preset']);

/** What the command line of `run` says. */
export interface RunOptions {
  score: ScoreOptions;
  steps: SelectionStep[];
  subset: string;
}

/** Parses run's arguments. @throws {UsageError} */
export function parseRunOptions(argv: string[]): RunOptions {
  const stepArgs: string[] = [];
  const scoreArgs: string[] = [];
  let subset: string | undefined;
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k]!;
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    if (name === '--subset' || STEP_OPTIONS.has(name)) {
      const value = inline ?? argv[++k];
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      if (name === '--subset') subset = value;
      else stepArgs.push(name, value);
    } else {
      scoreArgs.push(arg);
    }
  }
  const score = parseScoreOptions(scoreArgs);
  if (score.extraArchs.length > 0)
    throw new UsageError('run scores one embedding pair: give one --arch (clipsift score scores several)');
  if (score.shard) throw new UsageError('--shard is not for run: the threshold is global, so run needs the whole pool');
  const planned = parseSelectOptions([score.out, '--out', subset ?? 'subset.npy', ...stepArgs]);
  const steps: SelectionStep[] = [];
  for (const step of planned.steps) {
    if (step.kind === 'normsim-d' || step.kind === 'image-based')
      throw new UsageError(`--${step.kind} is not for run: use clipsift score, then clipsift select`);
    steps.push(step);
  }
  try {
    splitRecipeSteps(steps, score.target.length > 0 ? normSimColumn(score.p) : null);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { score, steps, subset: subset ?? join(score.out, 'subset.npy') };
}

/** Runs `clipsift run` as parsed; resolves to the exit code. */
export async function runRun(options: RunOptions): Promise<number> {
  // Signed URLs known by their paths and read at their URLs, for every step (refused with --queue).
  const score = withSignedUrls(options.score);
  const normSim = score.target.length > 0 ? normSimColumn(score.p) : null;
  const steps = splitRecipeSteps(options.steps, normSim);
  const say = (line: string) => {
    if (!score.quiet) process.stderr.write(`run: ${line}\n`);
  };
  if (score.queue) {
    const { runThroughQueue } = await import('./run-queue.js');
    return runThroughQueue({ ...options, score }, steps, normSim);
  }
  const started = performance.now();
  // 1. negCLIPLoss on every shard: clipsift score without the target, into the run's directory.
  say('negCLIPLoss on every shard');
  // The shards are opened (and their files fingerprinted) once, for every step.
  const shards = await openShardsOf(score);
  const scored = await runScore(
    { ...score, target: [], targetKey: undefined, p: Infinity, queue: undefined },
    undefined,
    shards,
  );
  if (scored !== 0) return scored;
  const files = { shards: shards.map((s) => s.name), out: score.out };
  // 2. The global threshold: the cheap steps over the whole pool.
  const cut = await thresholdStep(files, steps);
  let normSimRows = 0;
  if (normSim) {
    say(
      `threshold: ${formatCount(cut.survivors)} of ${formatCount(cut.pool)} rows survive the steps before ${normSim}; NormSim on those only`,
    );
    // 3. NormSim on the survivors, shard by shard, with one engine and the target read once.
    const target = await loadTarget(score.target, score.targetKey, score.normalize, score.files);
    const simd = chooseSimd(score.simd);
    const runner = new ShardTaskRunner(
      threadsForWork(score.threads, cut.survivors + target.rows),
      (message) => process.stderr.write(`clipsift run: warning: ${message}\n`),
      score.files,
    );
    runner.useTarget(target, score.targetKey ?? null, score.normalize);
    await removeStaleTemporaries(survivorDir(score.out, normSim));
    try {
      let reused = 0;
      for (const shard of shards) {
        const survivors = cut.survivorsPerShard[shard.name] ?? 0;
        if (survivors === 0) continue;
        const task = shardTaskOf(shard, { ...score, queue: '', runShards: shards.length }, target, simd);
        const result = await runner.runSurvivors({ shard: task, cuts: cut.cuts[shard.name]! });
        if (result.alreadyDone) reused++;
        normSimRows += result.survivors;
      }
      say(
        `NormSim on ${formatCount(normSimRows)} survivors${reused ? ` (${reused} shard${reused === 1 ? '' : 's'} already done)` : ''}`,
      );
    } finally {
      await runner.close();
    }
  }
  // 4. The remaining steps over the survivors, and the subset file.
  await removeStaleTemporariesBeside(options.subset);
  const result = await subsetStep(files, steps, normSim, { path: options.subset, force: true });
  process.stdout.write(`${formatRunSummary(result)}\n`);
  say(`done in ${formatDuration((performance.now() - started) / 1000)}`);
  return 0;
}

/** select's summary, and how much NormSim work the cut saved. */
export function formatRunSummary(result: SubsetResult): string {
  const summary: SelectSummary = { ...result, given: null, steps: result.steps as SelectSummary['steps'] };
  const lines = [formatSelectSummary(summary)];
  if (result.normSimRows > 0 || result.steps.some((s) => s.column.startsWith('normsim_'))) {
    const share = result.pool > 0 ? (100 * result.normSimRows) / result.pool : 0;
    lines.push(
      `NormSim computed for ${counted(result.normSimRows)} of ${counted(result.pool)} (${+share.toFixed(2)}% of the pool)`,
    );
  }
  return lines.join('\n');
}

function counted(n: number): string {
  return `${formatCount(n)} ${n === 1 ? 'row' : 'rows'}`;
}

/** The `clipsift run` command. */
export const command: Command = {
  name: 'run',
  summary: 'the recipe in one command: negCLIPLoss everywhere, global threshold, NormSim on survivors, subset',
  usage,
  run: (argv) => runRun(parseRunOptions(argv)),
};
