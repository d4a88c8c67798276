/**
 * The parameters of one shard's score file, and whether a file already on disk was computed with them.
 * Shared by the local CLI (which plans a whole run before scoring) and cluster workers (which check
 * again when they take a shard's job, because another worker may have finished it meanwhile).
 */
import { existsSync } from 'node:fs';
import { deriveSeed } from '../index.js';
import { InputError } from '../io/errors.js';
import { openFileSource } from '../io/node-files.js';
import { openScoreFile, parameterDifferences, type ScoreParameters, type TargetIdentity } from '../io/score-file.js';

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
  files: { path: string; bytes: number }[];
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
    inputs: shard.files.map((f) => ({ name: f.path.split(/[\\/]/).pop()!, bytes: f.bytes })),
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

/** What is at a score file's path: nothing, a file with these parameters, or one with others. */
export type ScoreFileState = { kind: 'missing' } | { kind: 'done' } | { kind: 'different'; differences: string[] };

/** Compares the score file at `path` (if any) with `parameters`. */
export async function scoreFileState(path: string, parameters: ScoreParameters): Promise<ScoreFileState> {
  if (!existsSync(path)) return { kind: 'missing' };
  const differences = parameterDifferences(await storedParameters(path), parameters);
  return differences.length === 0 ? { kind: 'done' } : { kind: 'different', differences };
}

/** The parameters stored in a score file, or undefined when it has none or cannot be read. */
async function storedParameters(path: string): Promise<string | undefined> {
  const source = await openFileSource(path);
  try {
    return (await openScoreFile(source)).parameters;
  } catch (error) {
    if (error instanceof InputError) return undefined;
    throw error;
  } finally {
    await source.close?.();
  }
}
