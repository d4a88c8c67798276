/**
 * `clipsift score`: one score file per input shard, resumable.
 *
 * The run is planned before anything heavy happens: every shard is opened (headers only), every
 * existing score file is compared with the parameters it would be written with, and a mismatch stops
 * the run before hours of work rather than after. Then shards are scored in order, each written
 * atomically, so an interrupted run loses at most the shard in progress.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import process from 'node:process';
import { createEngine, NEGCLIP_LOSS_DEFAULTS, type Precision, type Target, temperatureProblem } from '../index.js';
import { InputError, OutputError } from '../io/errors.js';
import { joinPath } from '../io/file-system.js';
import type { FileSystem } from '../io/file-system.js';
import { nodeFileSystem, writeErrorProblem } from '../io/node-files.js';
import { isRemotePath, signedInputs } from '../io/remote.js';
import { isS3Url } from '../io/s3.js';
import { normSimColumn } from '../io/score-file.js';
import { numberOption, parseCommandArgs, threadsForWork, threadsOption, UsageError } from './args.js';
import type { Command } from './command.js';
import { checkShardDuplicates, IdentitySet } from '../pipeline/duplicates.js';
import { describeEngine, formatCount, formatDuration, Progress } from './progress.js';
import { identityWordsOf, openScoreShards, type Arch } from '../pipeline/shards.js';
import { scoreShard, type ScoreShard, type ShardRunSettings } from '../pipeline/score-shard.js';
import { loadTarget, type LoadedTarget } from '../pipeline/target.js';
import { clipsiftVersion } from '../pipeline/version.js';
import { removeStaleTemporaries } from './stale-temporaries.js';
import { finishedScoreFile, location, planShards, runVariant, type PlannedShard } from '../pipeline/plan.js';
import { assignShards, parseShardSlice, type ShardSlice } from '../cluster/shard-array.js';
import { RUN_STATS_FILE } from '../io/run-stats.js';
import { readShardStats, shardStatsRecord, writeRunStats, writeShardStats } from '../pipeline/stats.js';
import { oneLine, ScoreReportBuilder } from './score-report.js';

const { batchSize: BATCH, temperature: TEMPERATURE, repeats: REPEATS, seed: SEED } = NEGCLIP_LOSS_DEFAULTS;

const usage = `usage: clipsift score <dir or files...> --out <dir> [options]

Scores every image-text pair of the input shards with CLIPScore and negCLIPLoss (and NormSim
against a target) and writes one <out>/<shard>.scores.parquet per shard. Re-running the same
command skips shards whose score file is complete and was computed with the same parameters.
Inputs, targets and --out may be s3://bucket/prefix URLs (inputs and targets also https://), read
by ranged GETs; credentials and endpoint come from AWS_* variables (see README).

inputs (the same the browser demo takes; files given together are resolved together):
  DataComp         a metadata directory of <name>.parquet + <name>.npz, or those files
  clip-retrieval   a folder with img_emb/ text_emb/ metadata/, or img_emb_N.npy text_emb_N.npy
                   (+ metadata_N.parquet) flat, in a directory or given as files (shard_N)
  a plain pair     an image and a text .npy (img/image and txt/text in their names), + at most
                   one metadata .parquet; the shard is named after the image file

options:
  --out <dir>            where score files go (created if missing)              [required]
  --arch NAME            which DataComp embedding pair to read: NAME_img / NAME_txt
                         (l14, b32, or any pair you added, e.g. dfn_p)          [l14]
                         Repeat it to score several pairs in one run: every score column
                         then carries its arch (clip_score_l14, negclip_loss_b32, normsim_inf_l14)
  --target-arch NAME     with several --arch, the pair NormSim uses           [the first --arch]
  --img-key <key>        image embeddings from this npz array, or else this metadata
                         parquet column (e.g. dfn-p-clip-vit-b32-image)         [<arch>_img]
  --txt-key <key>        text embeddings likewise                                [<arch>_txt]
  --target <file|dir>    target image embeddings for NormSim (.npy, .npz, .parquet, .pt/.pth
                         as torch.save writes them, .safetensors, or a directory of such files);
                         repeat it to concatenate several targets (e.g. ImageNet + downstream sets)
  --target-key <key>     array of an .npz, tensor of a .pt dict / .safetensors, or column of a
                         parquet target (e.g. image_features); files holding one array use it
  --p inf|2|<number>     NormSim's p (>= 1)                                     [inf]
  --batch-size <n>       negCLIPLoss batch size (batches form within each shard) [${BATCH}]
  --temperature <t>      negCLIPLoss temperature, in [2^-120, 2^100]            [${TEMPERATURE}]
  --repeats <n>          negCLIPLoss shuffles averaged                          [${REPEATS}]
  --seed <n>             run seed; each shard's seed derives from it and the shard name [${SEED}]
  --threads auto|<n>     threads that run the kernels: at most 4 × cores, and   [auto]
                         one per 1024 rows to score (auto: all cores)
  --simd auto|baseline|relaxed  kernel variant; score files record it. Pin it to get
                         byte-identical files across runtimes. Node 20 has relaxed SIMD only
                         as node --experimental-wasm-relaxed-simd $(npm root)/.bin/clipsift  [auto]
  --precision f32|i16    similarity GEMM: float32, or int16 with exact int32 sums (~2x faster,
                         scores within 5e-5 of float64 on unit-norm rows; see README) [f32]
  --key-column <name>    clip-retrieval metadata column identifying rows (default: file and row)
  --skip-invalid         drop rows with NaN/Inf or all-zero embeddings instead of failing
  --normalize            L2-normalise embeddings that are not unit-norm before scoring
  --force                overwrite score files computed with other parameters
  --queue redis://HOST:PORT[/DB]  score on a cluster: enqueue one BullMQ job per shard still to
                         score for \`clipsift worker\`s, and show the cluster's progress; --simd auto
                         means baseline here, so every worker writes the same bytes
  --detach               with --queue: enqueue and return (see clipsift status)
  --attempts <n>         with --queue: tries per shard before it counts as failed   [3]
  --shard I/N            score only part I of N (0 <= I < N) of the sorted shard list, balanced by
                         rows: one task of a Slurm array or Kubernetes Indexed Job; all N parts
                         together write exactly the files of one run without --shard
  --dry-run              print what the run would cost and write nothing: shards and rows (from
                         the files' headers), the flops of each score, an estimate of the time on
                         this machine (from a short calibration run) and of the peak memory
  --json                 print the run as one JSON document on stdout (per shard: status, rows,
                         dropped rows with reasons, seconds; the engine); messages go to stderr
  --quiet                no progress output
  -h, --help             this help

Rows are identified by uid (DataComp), else by --key-column, else by file and row.
Beside the score files: <shard>.stats.json per shard (rows, dropped rows, seconds, engine) and
_stats.json, their summary. Exit status: 0 done, 1 bad input or a shard failed (the shards finished
before it keep their files; re-run to resume; with --queue also a Redis that does not answer within
5 s), 2 usage error.`;

/** Norms further than this from 1 are reported as not unit-norm (float16 rounding alone stays ~1e-3). */
const NORM_TOLERANCE = 1e-2;

/** Most identities remembered for the cross-shard duplicate report (bounds its memory). */
const CROSS_SHARD_IDENTITIES = 1 << 23;

/** Everything the command line says, checked. */
export interface ScoreOptions {
  inputs: string[];
  out: string;
  arch: Arch;
  /** Further pairs scored in the same run; then every score column carries its arch. */
  extraArchs: Arch[];
  /** Embedding arrays / columns instead of <arch>_img and <arch>_txt. */
  imageKey?: string;
  textKey?: string;
  /** Target files or directories, concatenated in order; empty without NormSim. */
  target: string[];
  targetKey: string | undefined;
  p: number;
  batchSize: number;
  temperature: number;
  repeats: number;
  seed: number;
  threads: number | 'auto';
  simd: 'auto' | 'baseline' | 'relaxed';
  precision: Precision;
  keyColumn: string | undefined;
  skipInvalid: boolean;
  normalize: boolean;
  force: boolean;
  quiet: boolean;
  /** Only this part of the shard list (a shard-array task), or undefined for all of it. */
  shard: ShardSlice | undefined;
  /** Score through this BullMQ queue (redis:// URL) instead of here. */
  queue: string | undefined;
  detach: boolean;
  attempts: number;
  /** Print the run as one JSON document on stdout (human lines go to stderr). */
  json: boolean;
  /** Size the run instead of running it; write nothing. */
  dryRun: boolean;
  /** What inputs and targets are read through when some are signed URLs (set by runScore). */
  files?: FileSystem;
}

/** Parses and checks score's arguments. @throws {UsageError} */
export function parseScoreOptions(argv: string[]): ScoreOptions {
  const { values, positionals } = parseCommandArgs(argv, {
    out: { type: 'string' },
    arch: { type: 'string', multiple: true },
    'target-arch': { type: 'string' },
    'img-key': { type: 'string' },
    'txt-key': { type: 'string' },
    target: { type: 'string', multiple: true },
    'target-key': { type: 'string' },
    p: { type: 'string' },
    'batch-size': { type: 'string' },
    temperature: { type: 'string' },
    repeats: { type: 'string' },
    seed: { type: 'string' },
    threads: { type: 'string' },
    simd: { type: 'string' },
    precision: { type: 'string' },
    'key-column': { type: 'string' },
    'skip-invalid': { type: 'boolean' },
    normalize: { type: 'boolean' },
    force: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
    shard: { type: 'string' },
    queue: { type: 'string' },
    detach: { type: 'boolean' },
    attempts: { type: 'string' },
    json: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (positionals.length === 0) throw new UsageError('no inputs: give a directory or shard files');
  if (values.detach && values.queue === undefined) throw new UsageError('--detach needs --queue');
  if (values.attempts !== undefined && values.queue === undefined) throw new UsageError('--attempts needs --queue');
  if (values['dry-run'] && values.queue !== undefined)
    throw new UsageError('--dry-run sizes a run on this machine; leave out --queue (the flops are the same)');
  if (values.json && values.detach)
    throw new UsageError('--json reports a finished run; with --detach nothing has run yet (see clipsift status)');
  if (values.queue !== undefined && values.shard !== undefined)
    throw new UsageError('--queue and --shard are two ways to use many machines; pick one');
  if (values.queue !== undefined && !/^redis:\/\//.test(values.queue))
    throw new UsageError(`--queue must be redis://HOST:PORT[/DB], got '${values.queue}'`);
  if (values.out === undefined) throw new UsageError('--out <dir> is required');
  const archs = [...new Set(values.arch ?? ['l14'])];
  for (const a of archs)
    if (!/^[A-Za-z0-9_]+$/.test(a))
      throw new UsageError(`--arch must be a name of letters, digits and _ (e.g. l14, b32, dfn_p), got '${a}'`);
  if (archs.length > 1 && values['img-key'] !== undefined)
    throw new UsageError('--img-key/--txt-key name one pair; with several --arch use <arch>_img/<arch>_txt arrays');
  const targetArch = values['target-arch'] ?? archs[0]!;
  if (!archs.includes(targetArch))
    throw new UsageError(`--target-arch ${targetArch} is not one of the --arch given (${archs.join(', ')})`);
  if (values['target-arch'] !== undefined && (values.target ?? []).length === 0)
    throw new UsageError('--target-arch needs --target');
  // The NormSim pair is opened first; the others follow in the order given.
  const arch = targetArch;
  const extraArchs = archs.filter((a) => a !== targetArch);
  if ((values['img-key'] === undefined) !== (values['txt-key'] === undefined))
    throw new UsageError('--img-key and --txt-key go together: name both embedding arrays');
  const simd = values.simd ?? 'auto';
  if (simd !== 'auto' && simd !== 'baseline' && simd !== 'relaxed')
    throw new UsageError(`--simd must be auto, baseline or relaxed, got '${simd}'`);
  const precision = values.precision ?? 'f32';
  if (precision !== 'f32' && precision !== 'i16')
    throw new UsageError(`--precision must be f32 or i16, got '${precision}'`);
  const target = values.target ?? [];
  if (values['target-key'] !== undefined && target.length === 0) throw new UsageError('--target-key needs --target');
  if (values.p !== undefined && target.length === 0) throw new UsageError('--p needs --target');
  return {
    inputs: positionals,
    out: values.out,
    arch,
    extraArchs,
    ...(values['img-key'] !== undefined ? { imageKey: values['img-key'], textKey: values['txt-key']! } : {}),
    target,
    targetKey: values['target-key'],
    p: parseP(values.p),
    batchSize: numberOption('batch-size', values['batch-size'], BATCH, { integer: true, positive: true }),
    temperature: parseTemperature(values.temperature),
    repeats: numberOption('repeats', values.repeats, REPEATS, { integer: true, positive: true }),
    seed: parseSeed(values.seed),
    threads: threadsOption(values.threads),
    simd,
    precision,
    keyColumn: values['key-column'],
    skipInvalid: values['skip-invalid'] ?? false,
    normalize: values.normalize ?? false,
    force: values.force ?? false,
    quiet: values.quiet ?? false,
    shard: parseShardOption(values.shard),
    queue: values.queue,
    detach: values.detach ?? false,
    attempts: numberOption('attempts', values.attempts, 3, { integer: true, positive: true }),
    json: values.json ?? false,
    dryRun: values['dry-run'] ?? false,
  };
}

function parseShardOption(text: string | undefined): ShardSlice | undefined {
  if (text === undefined) return undefined;
  try {
    return parseShardSlice(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseP(text: string | undefined): number {
  if (text === undefined || text === 'inf' || text === 'Infinity') return Infinity;
  const p = numberOption('p', text, Infinity);
  if (!(p >= 1) || !Number.isFinite(p)) throw new UsageError(`--p must be inf or a number >= 1, got '${text}'`);
  return p;
}

function parseTemperature(text: string | undefined): number {
  const temperature = numberOption('temperature', text, TEMPERATURE, { positive: true });
  const problem = temperatureProblem(temperature);
  if (problem) throw new UsageError(`--${problem.replace(/, got .*$/, '')}, got '${text}'`);
  return temperature;
}

function parseSeed(text: string | undefined): number {
  const seed = numberOption('seed', text, SEED, { integer: true, min: 0 });
  if (seed > 0xffffffff) throw new UsageError(`--seed must fit in 32 bits (0..4294967295), got '${text}'`);
  return seed;
}

/**
 * Opens the shards of score's inputs (headers read, files fingerprinted, then closed: their sources reopen
 * on read); `warn` hears an input that names shards already named.
 */
export function openShardsOf(
  given: ScoreOptions,
  warn: (message: string) => void = makeWarner().message,
): Promise<ScoreShard[]> {
  const options = withSignedUrls(given);
  return openScoreShards(
    options.inputs,
    {
      arch: options.arch,
      extraArchs: options.extraArchs,
      keyColumn: options.keyColumn,
      ...(options.files ? { fs: options.files } : {}),
      ...(options.imageKey !== undefined ? { imageKey: options.imageKey, textKey: options.textKey! } : {}),
    },
    warn,
  );
}

/**
 * Runs `clipsift score` with parsed options; resolves to the exit code.
 * @param preopened the inputs' shards when the caller opened them already (openShardsOf; clipsift run keeps
 *   them for its later steps), so they are not opened and fingerprinted again
 */
export async function runScore(
  given: ScoreOptions,
  report?: ScoreReportBuilder,
  preopened?: ScoreShard[],
): Promise<number> {
  const options = withSignedUrls(given);
  const warn = makeWarner();
  // With --json, stdout carries the document alone.
  const say = (text: string) => (options.json ? process.stderr : process.stdout).write(text);
  const opened = preopened ?? (await openShardsOf(options, warn.message));
  try {
    checkShardNames(opened);
    // A shard-array task: every task splits the same sorted list the same way, so no coordinator is needed.
    const slice = options.shard;
    const assignment =
      slice &&
      assignShards(
        opened.map((s) => ({ name: s.name, rows: s.img.rows })),
        slice.count,
      );
    const shards = assignment ? opened.filter((s) => assignment.get(s.name) === slice.index) : opened;
    for (const input of options.inputs) {
      // <shard>.scores.parquet beside <shard>.parquet would be taken for a shard of its own next time.
      if (sameLocation(input, options.out) && (isRemotePath(input) || statSync(input).isDirectory())) {
        throw new OutputError(options.out, 'is an input directory; write score files to another --out');
      }
    }
    if (isRemotePath(options.out) && !isS3Url(options.out))
      throw new OutputError(options.out, 'cannot be written: only s3:// URLs take outputs, not http(s)://');
    if (!isRemotePath(options.out) && existsSync(options.out) && !statSync(options.out).isDirectory())
      throw new OutputError(options.out, 'is a file; --out names the directory the score files go to');
    if (options.dryRun) {
      // Before anything is made or cleaned in --out: a dry run writes nothing.
      const { dryRunScore } = await import('./score-dry-run.js');
      return await dryRunScore(shards, options, async (target) => await planRun(shards, options, target, warn.message));
    }
    if (!isRemotePath(options.out)) {
      try {
        mkdirSync(options.out, { recursive: true });
      } catch (error) {
        // A read-only disk, a full one...: one line naming --out.
        const problem = writeErrorProblem(error);
        if (problem) throw new OutputError(options.out, `cannot be made a directory: ${problem}`);
        throw error;
      }
      // Left by a run that was killed between writing and renaming; never a finished file. A shard-array
      // task touches only its own shards' temporaries: other tasks may be writing theirs from other hosts.
      // Workers of a queued run write from other hosts, whose process ids mean nothing here.
      // (An s3:// --out has none: every score file is one PUT of the whole object.)
      if (!options.queue)
        await removeStaleTemporaries(options.out, options.shard ? new Set(shards.map((s) => s.name)) : undefined);
    }
    const target =
      options.target.length > 0
        ? await loadTarget(options.target, options.targetKey, options.normalize, options.files)
        : undefined;
    const targetName = options.target.join(', ');
    if (target) {
      const dims = new Set(shards.map((s) => s.img.dim));
      for (const dim of dims) {
        if (dim !== target.dim) {
          const shard = shards.find((s) => s.img.dim === dim)!;
          throw new InputError(targetName, `target has dim ${target.dim} but ${shard.img.name} has dim ${dim}`);
        }
      }
      warnAboutTargetNorms(targetName, target, options.normalize, warn.message);
    }
    const plan = await planRun(shards, options, target, warn.message);
    const todo = plan.filter((p) => !p.done);
    report?.plan(plan.map((p) => ({ name: p.shard.name, rows: p.shard.img.rows, outPath: p.outPath })));
    if (report) await reportUpToDate(report, plan, options.out);
    if (options.shard && plan.length === 0) {
      say(
        `part ${options.shard.index}/${options.shard.count} has no shards (${opened.length} shard${opened.length === 1 ? '' : 's'} in ${options.shard.count} parts)\n`,
      );
      return 0;
    }
    if (todo.length === 0) {
      // A run killed after its last shard (or records written by other parts) leaves the summary behind.
      if (!options.queue) await refreshStats(options.out, report, warn.message);
      say(`all ${plan.length} score file${plan.length === 1 ? '' : 's'} in ${options.out} are up to date\n`);
      return 0;
    }
    if (options.queue) {
      const { scoreThroughQueue } = await import('./score-queue.js');
      return await scoreThroughQueue(
        todo,
        plan.length - todo.length,
        { ...options, queue: options.queue, runShards: opened.length },
        target,
        report,
      );
    }
    // The run's shard count (all parts of a --shard run), recorded in every score file for select.
    return await scorePlanned(plan, options, target, warn, opened.length, say, report);
  } finally {
    await Promise.all(opened.map((s) => s.close()));
  }
}

/**
 * Inputs and targets given as signed URLs (a query string: presigned S3, CDN tokens) known by their paths
 * and read at their URLs (io/remote.ts signedInputs), so every name and message leaves the query out.
 * @throws {UsageError} with --queue: its workers on other hosts get the shards' paths, not their signatures
 */
export function withSignedUrls(options: ScoreOptions): ScoreOptions {
  const { fs, paths, signed } = signedInputs(nodeFileSystem, [...options.inputs, ...options.target]);
  if (!signed) return options;
  if (options.queue)
    throw new UsageError(
      '--queue takes no signed URLs (with a query string): its workers are given the paths without the signature; give s3:// URLs',
    );
  const inputs = paths.slice(0, options.inputs.length);
  return { ...options, inputs, target: paths.slice(inputs.length), files: fs };
}

/** Opens the engine, scores the shards still to do in order, and prints a summary. */
async function scorePlanned(
  plan: PlannedShard[],
  options: ScoreOptions,
  target: LoadedTarget | undefined,
  warn: ReturnType<typeof makeWarner>,
  runShards: number,
  say: (text: string) => void,
  report: ScoreReportBuilder | undefined,
): Promise<number> {
  // Threads by work as well as by cores: a small pool does not start a worker per core.
  const work = plan.filter((p) => !p.done).reduce((n, p) => n + p.shard.img.rows, 0) + (target?.rows ?? 0);
  const engine = await createEngine({
    threads: threadsForWork(options.threads, work),
    simd: options.simd,
    precision: options.precision,
  });
  const started = performance.now();
  let stopKeepAlive = () => {};
  let progress: Progress | undefined;
  try {
    let prepared: Target | undefined;
    if (target)
      prepared = await engine.prepareTarget(
        { data: target.data, rows: target.rows, dim: target.dim },
        { p: options.p },
      );
    const info = engine.info();
    const engineStats = { runtime: info.runtime, threads: info.threads, simd: info.simd, precision: info.precision };
    if (report) report.engine = engineStats;
    const total = plan.filter((p) => !p.done).reduce((n, p) => n + p.shard.img.rows, 0);
    const todo = plan.filter((p) => !p.done).length;
    progress = new Progress({ label: 'score', total, quiet: options.quiet, engine: describeEngine(info) });
    if (!options.quiet) {
      process.stderr.write(
        `score: ${todo} shard${todo === 1 ? '' : 's'}, ${formatCount(total)} ${total === 1 ? 'row' : 'rows'} on ${info.runtime}, ${describeEngine(info)}\n`,
      );
    }
    warn.progress = progress;
    stopKeepAlive = progress.keepAlive();
    const settings: ShardRunSettings = {
      engine,
      batchSize: options.batchSize,
      temperature: options.temperature,
      repeats: options.repeats,
      target: prepared && target ? { prepared, dim: target.dim, column: normSimColumn(options.p) } : undefined,
      skipInvalid: options.skipInvalid,
      normalize: options.normalize,
      force: options.force,
      normTolerance: NORM_TOLERANCE,
      provenance: { clipsiftVersion: clipsiftVersion(), engineVariant: info.simd, runShards },
      warn: warn.message,
      progress,
    };
    // Bounded: 2^23 identities (~16 DataComp shards) cost ~320 MiB; past that, later shards are still
    // checked against those, and select handles repeats across the whole pool anyway.
    const seen = new IdentitySet(1 << 16, CROSS_SHARD_IDENTITIES);
    let written = 0;
    let rowsScored = 0;
    let position = 0;
    for (const [index, planned] of plan.entries()) {
      if (planned.done) {
        // Its identities still count for the cross-shard duplicate report of the shards after it.
        checkShardDuplicates(seen, await identitiesOfScoreFile(planned), index);
        // Its footer is no longer needed: a resumed pool of many shards does not hold them all.
        planned.existing = undefined;
        continue;
      }
      progress.stage(planned.shard.name, 'reading', `${++position}/${todo}`);
      let outcome: Awaited<ReturnType<typeof scoreShard>>;
      const shardStarted = performance.now();
      const record = { shard: planned.shard.name, rows: planned.shard.img.rows, engine: engineStats, runShards };
      try {
        outcome = await scoreShard(planned.shard, index, planned.outPath, planned.parameters, seen, {
          ...settings,
          force: settings.force || planned.replace,
        });
      } catch (error) {
        // The failed shard's record says why; the summary counts it. Best effort: the disk may be the problem.
        const seconds = (performance.now() - shardStarted) / 1000;
        report?.failed(planned.shard.name, error, seconds);
        await writeShardStats(options.out, shardStatsRecord({ ...record, seconds, error: oneLine(error) })).catch(
          () => undefined,
        );
        await refreshStats(options.out, report, () => {});
        throw error;
      } finally {
        // Its descriptors go as soon as it is scored, not at the end of the run: a pool of any
        // number of shards runs under a cluster's `ulimit -n`.
        await planned.shard.close();
      }
      const seconds = (performance.now() - shardStarted) / 1000;
      report?.scored(planned.shard.name, outcome, seconds);
      await writeShardStats(options.out, shardStatsRecord({ ...record, seconds, outcome }));
      written++;
      rowsScored += outcome.written;
    }
    await refreshStats(options.out, report, warn.message);
    if (seen.full) {
      warn.message(
        `the check for uids repeated across shards covered the first ${formatCount(CROSS_SHARD_IDENTITIES)} rows only`,
      );
    }
    const elapsed = (performance.now() - started) / 1000;
    stopKeepAlive();
    progress.finish(undefined, 'score');
    const skipped = plan.length - written;
    say(
      `scored ${formatCount(rowsScored)} ${rowsScored === 1 ? 'row' : 'rows'} in ${written} shard${written === 1 ? '' : 's'} in ${formatDuration(elapsed)}` +
        ` (${info.runtime}, ${describeEngine(info)})` +
        `${skipped ? `; ${skipped} already up to date` : ''}; score files in ${options.out}\n`,
    );
    return 0;
  } finally {
    stopKeepAlive();
    // On an error, take the bar off the line so the one-line reason stands alone.
    progress?.close();
    await engine.close();
  }
}

/** score's plan (planShards): the variant this run's files are written with, and --force. */
function planRun(
  shards: ScoreShard[],
  options: ScoreOptions,
  target: Pick<LoadedTarget, 'identity'> | undefined,
  warn: (message: string) => void,
): Promise<PlannedShard[]> {
  return planShards(shards, {
    out: options.out,
    settings: options,
    target: target?.identity ?? null,
    // Finished files computed with another variant would mix kernel variants in one pool. A queued run is
    // computed by the workers with the variant the submitter pins, which this runtime may not even compile.
    variant: runVariant(options.simd, options.queue !== undefined),
    force: options.force,
    remedy: 'pass --force to overwrite, or use another --out',
    warn,
  });
}

/** Fills in the shards whose score files are complete: their rows (from the plan's footers), and dropped rows as their record says. */
async function reportUpToDate(report: ScoreReportBuilder, plan: PlannedShard[], out: string): Promise<void> {
  for (const planned of plan) {
    if (!planned.existing) continue;
    const record = await readShardStats(out, planned.shard.name);
    report.upToDate(planned.shard.name, planned.existing.rows, record?.status === 'scored' ? record.dropped : null);
  }
}

/**
 * Rebuilds <out>/_stats.json from the shard records there. A summary that cannot be written is a
 * warning, not a failed run: the score files and records are what counts.
 */
async function refreshStats(
  out: string,
  report: ScoreReportBuilder | undefined,
  warn: (message: string) => void,
): Promise<void> {
  try {
    await writeRunStats(out);
    if (report) report.stats = joinPath(out, RUN_STATS_FILE);
  } catch (error) {
    warn(`${joinPath(out, RUN_STATS_FILE)} not written: ${oneLine(error)}`);
  }
}

function sameLocation(a: string, b: string): boolean {
  return location(a) === location(b);
}

/** Identities of the rows of a finished score file (for the duplicate report), through the plan's footer. */
async function identitiesOfScoreFile(planned: PlannedShard): Promise<Uint32Array> {
  const { file, source } = await finishedScoreFile(planned);
  try {
    return await identityWordsOf(planned.outPath, file);
  } finally {
    await source.close();
  }
}

/** Two shards with one name would write one score file. */
function checkShardNames(shards: ScoreShard[]): void {
  const seen = new Map<string, ScoreShard>();
  for (const shard of shards) {
    const other = seen.get(shard.name);
    if (other) {
      throw new InputError(
        shard.files[0]?.path ?? shard.name,
        `shard name '${shard.name}' is also the name of ${other.files[0]?.path ?? 'another shard'}; score them into different --out directories`,
      );
    }
    seen.set(shard.name, shard);
  }
}

function warnAboutTargetNorms(path: string, target: LoadedTarget, normalize: boolean, warn: (m: string) => void): void {
  const { minNorm, maxNorm } = target.stats;
  if (!(minNorm < 1 - NORM_TOLERANCE || maxNorm > 1 + NORM_TOLERANCE)) return;
  const range = `${minNorm.toPrecision(4)}..${maxNorm.toPrecision(4)}`;
  warn(
    normalize
      ? `${path}: target norms range ${range}; L2-normalised (--normalize)`
      : `${path}: target is not unit-norm (norms ${range}); pass --normalize to L2-normalise`,
  );
}

/** Warnings go to stderr, between progress redraws. */
function makeWarner(): { message: (text: string) => void; progress: Progress | undefined } {
  const warner = {
    progress: undefined as Progress | undefined,
    message(text: string) {
      warner.progress?.clear();
      process.stderr.write(`clipsift score: warning: ${text}\n`);
      warner.progress?.redraw();
    },
  };
  return warner;
}

/** The `clipsift score` command. */
export const command: Command = {
  name: 'score',
  summary: 'score image-text pairs (CLIPScore, negCLIPLoss, NormSim) into one score file per shard',
  usage,
  run: async (argv) => {
    const options = parseScoreOptions(argv);
    // A dry run prints its own document (--json) or lines.
    if (!options.json || options.dryRun) return runScore(options);
    const report = new ScoreReportBuilder(options.out, options.shard ?? null);
    try {
      const code = await runScore(options, report);
      report.print(code);
      return code;
    } catch (error) {
      // The document says what was done before the error; the one-line reason still goes to stderr.
      report.print(error instanceof Error && error.name === 'UsageError' ? 2 : 1, error);
      throw error;
    }
  },
};
