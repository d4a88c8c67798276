/**
 * The parameters a score file was computed with, as stored in its parquet key-value metadata.
 *
 * A re-run of `clipsift score` compares them with its own to decide whether an existing score file can
 * be kept (resume) or would be silently wrong (refuse without --force). Only what determines the
 * numbers is compared; the clipsift version and engine variant are recorded for the reader's benefit
 * but do not invalidate a file, so resuming after an upgrade or on another CPU keeps finished shards.
 */

/** The identity of a target file: enough to tell whether the same target was used. */
export interface TargetIdentity {
  /** File name without directories, so the same target under another path still matches. */
  name: string;
  /** Array key inside an .npz or column of a parquet, when one was picked. */
  key: string | null;
  rows: number;
  dim: number;
  bytes: number;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
}

/** Everything that determines the numbers in one shard's score file. */
export interface ScoreParameters {
  /** Score-file format version, bumped when columns or their meaning change. */
  format: 1;
  /** Shard name (the score file is <shard>.scores.parquet). */
  shard: string;
  /** Input files of the shard: base names and sizes, to notice a shard whose data changed. */
  inputs: { name: string; bytes: number }[];
  arch: string | null;
  batchSize: number;
  temperature: number;
  repeats: number;
  /** The run's --seed; the shard's shuffle seed is derived from it and the shard name. */
  seed: number;
  /** The seed the shard's negCLIPLoss shuffles used. */
  shardSeed: number;
  target: TargetIdentity | null;
  /** NormSim's p as written on the command line's canonical form: 'inf' or a number; null without a target. */
  p: string | null;
  normalize: boolean;
  skipInvalid: boolean;
}

/** Recorded beside the parameters, not compared. */
export interface ScoreProvenance {
  clipsiftVersion: string;
  engineVariant: string;
}

/** Parquet key-value metadata keys used by score files. */
export const METADATA_KEYS = {
  parameters: 'clipsift.parameters',
  version: 'clipsift.version',
  engine: 'clipsift.engine',
} as const;

/**
 * The key-value metadata for a score file. Parameters are JSON with a fixed key order, so equal
 * parameters give equal bytes and two runs of the same job write identical files.
 */
export function scoreMetadata(parameters: ScoreParameters, provenance: ScoreProvenance): Record<string, string> {
  return {
    [METADATA_KEYS.parameters]: canonicalJson(parameters),
    [METADATA_KEYS.version]: provenance.clipsiftVersion,
    [METADATA_KEYS.engine]: provenance.engineVariant,
  };
}

/**
 * Compares the parameters stored in an existing score file with the wanted ones.
 * @returns a description of each difference (empty when the file can be kept), or one entry saying
 *   the metadata is missing or unreadable
 */
export function parameterDifferences(stored: string | undefined, wanted: ScoreParameters): string[] {
  if (stored === undefined) return ['it has no clipsift parameters (not written by clipsift score?)'];
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return ['its clipsift parameters are not valid JSON'];
  }
  if (typeof parsed !== 'object' || parsed === null) return ['its clipsift parameters are not an object'];
  const differences: string[] = [];
  const have = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(wanted)) {
    const a = canonicalJson(have[key] ?? null);
    const b = canonicalJson(value);
    if (a !== b) differences.push(`${key} ${shorten(a)} ≠ ${shorten(b)}`);
  }
  return differences;
}

/** JSON with object keys sorted at every level, for byte-stable output and comparison. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
