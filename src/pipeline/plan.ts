/**
 * The parameters of one shard's score file, and whether a file already on disk was computed with them.
 * Shared by the local CLI (which plans a whole run before scoring) and cluster workers (which check
 * again when they take a shard's job, because another worker may have finished it meanwhile).
 */
import { deriveSeed } from '../index.js';
import { InputError } from '../io/errors.js';
import { openFileSource, outputExists } from '../io/node-files.js';
import {
  canonicalJson,
  DATA_PARAMETERS,
  METADATA_KEYS,
  openScoreFile,
  parameterDifferences,
  type ScoreParameters,
  type TargetIdentity,
} from '../io/score-file.js';

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
 */
export type ScoreFileState =
  | { kind: 'missing' }
  | { kind: 'done' }
  | { kind: 'changed'; changes: string[] }
  | { kind: 'different'; differences: string[] };

/**
 * Compares the score file at `path` (if any) with `parameters` and, when given, the kernel variant
 * ('baseline' or 'relaxed') this run computes with.
 */
export async function scoreFileState(
  path: string,
  parameters: ScoreParameters,
  variant?: string,
): Promise<ScoreFileState> {
  // Local or s3://: resuming against an object store works as against a directory.
  if (!(await outputExists(path))) return { kind: 'missing' };
  const stored = await storedMetadata(path);
  const differences = parameterDifferences(stored.parameters, parameters, (key) => !DATA_PARAMETERS.includes(key));
  if (stored.parameters !== undefined && variant !== undefined && stored.variant !== variant) {
    differences.push(
      `kernel variant ${stored.variant ?? 'unknown'} ≠ ${variant} (pass --simd ${stored.variant ?? 'baseline'} to resume with the same kernels)`,
    );
  }
  if (differences.length > 0) return { kind: 'different', differences };
  const changes = dataChanges(stored.parameters, parameters);
  return changes.length > 0 ? { kind: 'changed', changes } : { kind: 'done' };
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

/** The parameters and kernel variant stored in a score file; undefined when it has none or cannot be read. */
async function storedMetadata(path: string): Promise<{ parameters: string | undefined; variant: string | undefined }> {
  const source = await openFileSource(path);
  try {
    const file = await openScoreFile(source);
    return { parameters: file.parameters, variant: file.metadata[METADATA_KEYS.engine] };
  } catch (error) {
    if (error instanceof InputError) return { parameters: undefined, variant: undefined };
    throw error;
  } finally {
    await source.close?.();
  }
}
