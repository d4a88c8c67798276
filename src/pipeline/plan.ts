/**
 * The parameters of one shard's score file, and whether a file already on disk was computed with them.
 * Shared by the local CLI and `run --queue` (which plan a whole run before scoring: planShards) and
 * cluster workers (which check again when they take a shard's job, because another worker may have
 * finished it meanwhile).
 */
import { resolve } from 'node:path';
import { chooseSimd } from '../engine/open.js';
import { deriveSeed, type SimdVariant } from '../index.js';
import { InputError, OutputError } from '../io/errors.js';
import { joinPath } from '../io/file-system.js';
import { type FileSource, openExistingFile } from '../io/node-files.js';
import { isRemotePath } from '../io/remote.js';
import {
  canonicalJson,
  DATA_PARAMETERS,
  METADATA_KEYS,
  openScoreFile,
  parameterDifferences,
  scoreFileName,
  type ScoreFile,
  type ScoreParameters,
  type TargetIdentity,
} from '../io/score-file.js';
import type { ScoreShard } from './score-shard.js';

/** The run-wide settings that change the numbers of every score file. */
export interface ScoringSettings {
  batchSize: number;
  temperature: number;
  repeats: number;
  seed: number;
  /** NormSim's p; only meaningful with a target. */
  p: number;
  normalize: boolean;
  skipInvalid: boolean;
  /** The engine's precision ('f32' or 'i16'). */
  precision: 'f32' | 'i16';
}

/** The shard as the parameters see it: its name, its input files with their sizes, its DataComp arch. */
export interface ShardInputs {
  name: string;
  files: { path: string; bytes: number; fingerprint: string }[];
  arch: string | null;
}

/** The parameters `shard`'s score file is written with. */
export function shardParameters(
  shard: ShardInputs,
  settings: ScoringSettings,
  target: TargetIdentity | null,
): ScoreParameters {
  return {
    format: 1,
    shard: shard.name,
    inputs: shard.files.map((f) => ({
      name: f.path.split(/[\\/]/).pop()!,
      bytes: f.bytes,
      fingerprint: f.fingerprint,
    })),
    arch: shard.arch ?? null,
    batchSize: settings.batchSize,
    temperature: settings.temperature,
    repeats: settings.repeats,
    seed: settings.seed,
    shardSeed: deriveSeed(settings.seed, shard.name),
    target,
    p: target ? (settings.p === Infinity ? 'inf' : String(settings.p)) : null,
    normalize: settings.normalize,
    skipInvalid: settings.skipInvalid,
    precision: settings.precision,
  };
}

/**
 * What is at a score file's path: nothing; a file with these parameters and kernel variant; one whose
 * inputs or target changed since it was written (DATA_PARAMETERS only: score it again, no --force
 * needed); or one computed with other parameters or another kernel variant (refused without --force).
 * A finished file comes with its footer, already read: `file` reads the rest through `source`, which is
 * closed and reopens on read (close it again after reading).
 */
export type ScoreFileState =
  | { kind: 'missing' }
  | { kind: 'done'; file: ScoreFile; source: FileSource }
  | { kind: 'changed'; changes: string[] }
  | { kind: 'different'; differences: string[] };

/**
 * Compares the score file at `path` (if any) with `parameters` and, when given, the kernel variant
 * ('baseline' or 'relaxed') this run computes with. Opens it once and reads its footer once.
 */
export async function scoreFileState(
  path: string,
  parameters: ScoreParameters,
  variant?: string,
): Promise<ScoreFileState> {
  // Local or s3://: resuming against an object store works as against a directory.
  const source = await openExistingFile(path);
  if (!source) return { kind: 'missing' };
  const file = await openStored(source);
  const stored = { parameters: file?.parameters, variant: file?.metadata[METADATA_KEYS.engine] };
  const differences = parameterDifferences(stored.parameters, parameters, (key) => !DATA_PARAMETERS.includes(key));
  if (stored.parameters !== undefined && variant !== undefined && stored.variant !== variant) {
    differences.push(
      `kernel variant ${stored.variant ?? 'unknown'} ≠ ${variant} (pass --simd ${stored.variant ?? 'baseline'} to resume with the same kernels)`,
    );
  }
  if (differences.length > 0) return { kind: 'different', differences };
  const changes = dataChanges(stored.parameters, parameters);
  // No differences means the parameters were read, so the file is there.
  return changes.length > 0 ? { kind: 'changed', changes } : { kind: 'done', file: file!, source };
}

/** What changed in the data (DATA_PARAMETERS) between a stored parameter JSON and the wanted parameters. */
function dataChanges(stored: string | undefined, wanted: ScoreParameters): string[] {
  let have: Partial<ScoreParameters>;
  try {
    have = (JSON.parse(stored ?? 'null') as Partial<ScoreParameters> | null) ?? {};
  } catch {
    return [];
  }
  const changes: string[] = [];
  const before = new Map((Array.isArray(have.inputs) ? have.inputs : []).map((f) => [f.name, f]));
  for (const file of wanted.inputs) {
    const old = before.get(file.name);
    if (!old) changes.push(`${file.name} is a new input`);
    else if (old.bytes !== file.bytes) changes.push(`${file.name} changed size (${old.bytes} → ${file.bytes} bytes)`);
    else if (old.fingerprint === undefined)
      changes.push(`${file.name} has no content fingerprint recorded (written by an older clipsift)`);
    else if (old.fingerprint !== file.fingerprint) changes.push(`${file.name} changed content`);
  }
  if (canonicalJson(have.target ?? null) !== canonicalJson(wanted.target)) {
    const name = wanted.target?.name ?? have.target?.name ?? 'the target';
    changes.push(
      have.target?.sha256 && wanted.target?.sha256 && have.target.sha256 !== wanted.target.sha256
        ? `the target ${name} changed content`
        : `the target changed (${name})`,
    );
  }
  return changes;
}

/** The score file over `source` (footer read, source closed), or undefined when it cannot be read as one. */
async function openStored(source: FileSource): Promise<ScoreFile | undefined> {
  try {
    return await openScoreFile(source);
  } catch (error) {
    if (error instanceof InputError) return undefined;
    throw error;
  } finally {
    await source.close();
  }
}

/**
 * The kernel variant a run's score files are written with. A queued run's workers, on other machines and
 * runtimes, all use the variant the submitter pins: relaxed only when asked for, else baseline (so
 * `--simd auto` means baseline there, whatever this machine could run). A local run uses the variant its
 * engine will choose (createEngine makes the same choice).
 */
export function runVariant(simd: SimdVariant | 'auto', queued: boolean): SimdVariant {
  if (queued) return simd === 'relaxed' ? 'relaxed' : 'baseline';
  return chooseSimd(simd);
}

/** A shard with its output path and the parameters its file must carry. */
export interface PlannedShard {
  shard: ScoreShard;
  outPath: string;
  parameters: ScoreParameters;
  /** True when a score file with these parameters already exists. */
  done: boolean;
  /** True when a score file exists and is to be replaced (its inputs changed, or --force). */
  replace: boolean;
  /**
   * The finished file (when done): its rows, and its footer as the plan read it (see ScoreFileState) for
   * the first KEPT_FOOTERS finished files only; finishedScoreFile reads the others' again.
   */
  existing?: { rows: number; file?: ScoreFile; source?: FileSource };
}

/**
 * Footers of finished score files a plan keeps, so that a resumed run reads each once: ~10 KiB each at
 * 10k rows, so ~20 MiB at most. Past them (a resumed DataComp-large pool has ~128k finished shards, which
 * would hold ~1.3 GB) a footer is read again when the run needs it.
 */
export const KEPT_FOOTERS = 2048;

/** The finished score file of a done shard, through the plan's footer when it kept one; close `source` after use. */
export async function finishedScoreFile(planned: PlannedShard): Promise<{ file: ScoreFile; source: FileSource }> {
  const kept = planned.existing;
  if (kept?.file && kept.source) return { file: kept.file, source: kept.source };
  const source = await openExistingFile(planned.outPath);
  if (!source) throw new OutputError(planned.outPath, 'was removed while the run was using it');
  try {
    return { file: await openScoreFile(source), source };
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** What planShards needs to know about the run. */
export interface PlanOptions {
  /** Where the score files go (a directory or an s3:// prefix). */
  out: string;
  settings: ScoringSettings;
  target: TargetIdentity | null;
  /** The kernel variant the files are written with (runVariant). */
  variant: SimdVariant;
  /** Files computed with other parameters are to be overwritten (score --force) instead of refused. */
  force: boolean;
  /** What the refusal of such files tells the user to do. */
  remedy: string;
  warn: (message: string) => void;
}

/**
 * Decides, for every shard, whether its score file is already done. A file whose inputs or target changed
 * since it was written is scored again, with a warning. A file computed with other parameters or the other
 * kernel variant stops the run before any work, unless `force`.
 * @param keptFooters how many finished files' footers the plan keeps (KEPT_FOOTERS; tests lower it)
 * @throws {OutputError} naming the first such file (and how many more), or a score file that is an input
 */
export async function planShards(
  shards: ScoreShard[],
  options: PlanOptions,
  keptFooters = KEPT_FOOTERS,
): Promise<PlannedShard[]> {
  let kept = 0;
  const inputPaths = new Set(shards.flatMap((s) => s.files.map((f) => location(f.path))));
  const plan: PlannedShard[] = [];
  const conflicts: { path: string; differences: string[] }[] = [];
  for (const shard of shards) {
    const outPath = joinPath(options.out, scoreFileName(shard.name));
    if (inputPaths.has(location(outPath))) throw new OutputError(outPath, 'is one of the inputs; choose another --out');
    const parameters = shardParameters(shard, options.settings, options.target);
    const state = await scoreFileState(outPath, parameters, options.variant);
    if (state.kind === 'different' && !options.force) conflicts.push({ path: outPath, differences: state.differences });
    if (state.kind === 'changed')
      options.warn(`${outPath}: ${state.changes.join('; ')} since it was written; scoring ${shard.name} again`);
    const replace = state.kind === 'changed' || state.kind === 'different';
    if (state.kind === 'done')
      plan.push({
        shard,
        outPath,
        parameters,
        done: true,
        replace,
        existing:
          kept++ < keptFooters
            ? { rows: state.file.rows, file: state.file, source: state.source }
            : { rows: state.file.rows },
      });
    else plan.push({ shard, outPath, parameters, done: false, replace });
  }
  if (conflicts.length > 0) {
    const [first] = conflicts;
    const more =
      conflicts.length > 1 ? ` (and ${conflicts.length - 1} more score file${conflicts.length > 2 ? 's' : ''})` : '';
    throw new OutputError(
      first!.path,
      `exists with other parameters: ${first!.differences.join(', ')}${more}; ${options.remedy}`,
    );
  }
  return plan;
}

/** A path compared as a location: URLs as written, local paths resolved. */
export function location(path: string): string {
  return isRemotePath(path) ? path.replace(/\/+$/, '') : resolve(path);
}
