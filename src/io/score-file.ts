/**
 * THE score-file format: `<shard>.scores.parquet`, written by `clipsift score` (and the demo page's
 * download), read by `clipsift select` and by `score` itself when it resumes.
 *
 * A score file is a parquet table with
 * - key columns first, naming each row: `uid` (DataComp: 32 hex characters), or the clip-retrieval
 *   `--key-column`, or `file` and `row`;
 * - then float32 score columns: `clip_score`, `negclip_loss` and `normsim_<p>` (see normSimColumn);
 * - and the parameters the scores were computed with in the parquet key-value metadata
 *   (METADATA_KEYS), as canonical JSON, so a re-run can tell whether the file is still valid.
 *
 * This module is the only place that knows these names; everything else imports them from here.
 */
import { InputError } from './errors.js';
import { openParquet, writeParquetTable, type ParquetColumn, type ParquetInput } from './parquet.js';
import type { ByteSource } from './source.js';
import { isScoreColumn, UID_COLUMN } from './score-columns.js';
import { parseUids, UID_WORDS, uidCount } from './uid.js';

// ---- column names (kept in score-columns.ts, free of the parquet codec, so the edge bundle can use them) ----

export {
  archColumn,
  CLIP_SCORE_COLUMN,
  isScoreColumn,
  NEGCLIP_LOSS_COLUMN,
  NORMSIM_COLUMN_PREFIX,
  normSimColumn,
  SCORE_FILE_SUFFIX,
  scoreFileName,
  UID_COLUMN,
} from './score-columns.js';

// ---- parameters in the key-value metadata ----

/** Parquet key-value metadata keys used by score files. */
export const METADATA_KEYS = {
  /** Canonical JSON of ScoreParameters: what determines the numbers (compared on resume). */
  parameters: 'clipsift.parameters',
  /** The clipsift version that wrote the file (recorded, not compared). */
  version: 'clipsift.version',
  /** The kernel variant that computed the scores ('baseline' or 'relaxed'; compared on resume by score). */
  engine: 'clipsift.engine',
  /** Where the demo page's pool came from (its downloads only). */
  source: 'clipsift.source',
  /** JSON {"shards": N}: how many shards the score run that wrote the file had (recorded, not compared). */
  run: 'clipsift.run',
} as const;

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

/**
 * Everything that determines the numbers in one shard's score file. A re-run of `clipsift score`
 * compares them with its own to decide whether an existing score file can be kept (resume) or would
 * be silently wrong (refuse without --force). The clipsift version and kernel variant are recorded
 * beside them (ScoreProvenance) but do not invalidate a file, so resuming after an upgrade or on
 * another CPU keeps finished shards.
 */
export interface ScoreParameters {
  /** Score-file format version, bumped when columns or their meaning change. */
  format: 1;
  /** Shard name (the score file is <shard>.scores.parquet). */
  shard: string;
  /**
   * Input files of the shard: base names, sizes and content fingerprints (io/fingerprint.ts), to notice a
   * shard whose data changed since its score file was written, even at the same size.
   */
  inputs: { name: string; bytes: number; fingerprint: string }[];
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
  /** The engine's precision ('f32' or 'i16'): it changes the numbers, so a resume compares it. */
  precision: 'f32' | 'i16';
}

/**
 * Values of parameters added after files were first written, as those older files computed them:
 * a file from before `precision` existed was scored in f32, so it resumes under --precision f32.
 */
const PARAMETERS_BEFORE_THEY_WERE_RECORDED: Partial<Record<keyof ScoreParameters, unknown>> = { precision: 'f32' };

/** Recorded beside the parameters, not compared. */
export interface ScoreProvenance {
  clipsiftVersion: string;
  engineVariant: string;
  /**
   * Shards in the whole score run (all parts of a --shard I/N run), so select can tell a finished
   * run from one still being written.
   */
  runShards?: number;
}

/**
 * The key-value metadata for a score file. Parameters are JSON with a fixed key order, so equal
 * parameters give equal bytes and two runs of the same job write identical files.
 */
export function scoreMetadata(parameters: ScoreParameters, provenance: ScoreProvenance): Record<string, string> {
  return {
    [METADATA_KEYS.parameters]: canonicalJson(parameters),
    [METADATA_KEYS.version]: provenance.clipsiftVersion,
    [METADATA_KEYS.engine]: provenance.engineVariant,
    ...(provenance.runShards !== undefined
      ? { [METADATA_KEYS.run]: canonicalJson({ shards: provenance.runShards }) }
      : {}),
  };
}

/**
 * Parameters that describe the data rather than a choice of the user: when only these differ, the
 * inputs or the target changed since the file was written and the shard is simply scored again.
 */
export const DATA_PARAMETERS: readonly (keyof ScoreParameters)[] = ['inputs', 'target'];

/**
 * ScoreParameters that differ from shard to shard of one run; every other parameter must agree
 * between score files whose scores are pooled.
 */
const PER_SHARD_PARAMETERS = new Set(['shard', 'inputs', 'shardSeed']);

/** A score file's name and key-value metadata, as select checks them. */
export interface ScoreFileMetadata {
  name: string;
  metadata: Record<string, string>;
}

/**
 * Checks that score files can be pooled: every run-level parameter (batch size, temperature, repeats,
 * seed, target, p, ...) agrees between the files that record them, and no file comes from a run with
 * more shards than are given (a run still being written, or files left out), unless `partial`.
 * @throws {InputError} naming two files and the parameter they differ in, or the incomplete run
 */
export function checkScoreFileSet(files: readonly ScoreFileMetadata[], options: { partial?: boolean } = {}): void {
  let first: { name: string; parameters: Record<string, unknown> } | undefined;
  for (const file of files) {
    const raw = file.metadata[METADATA_KEYS.parameters];
    if (raw === undefined) continue; // not written by clipsift score: nothing to compare
    let parameters: Record<string, unknown>;
    try {
      parameters = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new InputError(file.name, 'its clipsift parameters are not valid JSON', {
        field: METADATA_KEYS.parameters,
      });
    }
    if (!first) {
      first = { name: file.name, parameters };
      continue;
    }
    for (const key of new Set([...Object.keys(first.parameters), ...Object.keys(parameters)])) {
      if (PER_SHARD_PARAMETERS.has(key)) continue;
      const a = canonicalJson(first.parameters[key] ?? null);
      const b = canonicalJson(parameters[key] ?? null);
      if (a !== b) {
        throw new InputError(
          file.name,
          `was scored with ${key} ${shorten(b)} but ${first.name} with ${shorten(a)}; scores of different runs do not mix, select them separately`,
          { field: key },
        );
      }
    }
  }
  if (options.partial) return;
  let widest: { name: string; shards: number } | undefined;
  for (const file of files) {
    const raw = file.metadata[METADATA_KEYS.run];
    if (raw === undefined) continue;
    let shards: unknown;
    try {
      shards = (JSON.parse(raw) as { shards?: unknown }).shards;
    } catch {
      shards = undefined;
    }
    if (!Number.isSafeInteger(shards)) continue;
    if (!widest || (shards as number) > widest.shards) widest = { name: file.name, shards: shards as number };
  }
  if (widest && files.length < widest.shards) {
    throw new InputError(
      widest.name,
      `comes from a score run of ${widest.shards} shards but ${files.length} score file${files.length === 1 ? ' is' : 's are'} given: the run is unfinished or files are missing; wait for clipsift score to finish, or pass --partial to select from these alone`,
    );
  }
}

/**
 * Compares the parameters stored in an existing score file (the raw metadata value) with the wanted ones.
 * @param only compare just these keys (default: all)
 * @returns a description of each difference (empty when the file can be kept), or one entry saying
 *   the metadata is missing or unreadable
 */
export function parameterDifferences(
  stored: string | undefined,
  wanted: ScoreParameters,
  only?: (key: keyof ScoreParameters) => boolean,
): string[] {
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
    if (only && !only(key as keyof ScoreParameters)) continue;
    const recorded = key in have ? have[key] : PARAMETERS_BEFORE_THEY_WERE_RECORDED[key as keyof ScoreParameters];
    const a = canonicalJson(recorded ?? null);
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

// ---- writing ----

/** A key column: uid strings, a clip-retrieval key column, or file names and row numbers. */
export type KeyColumn = string[] | Int32Array | BigInt64Array;

/** What a score file holds, as written. */
export interface ScoreFileContents {
  /** Key columns, in output order (written first); all of one length. */
  keys: Record<string, KeyColumn>;
  /** Score columns by name, in output order (written after the keys). */
  scores: Record<string, Float32Array>;
  /** Further columns after the scores (the demo page's download adds kept, caption, url). */
  extra?: Record<string, ParquetColumn>;
  /** Key-value metadata: scoreMetadata(…) for `clipsift score`. */
  metadata?: Record<string, string>;
}

/**
 * Encodes a score file: keys, then float32 scores (parquet FLOAT), then any extra columns, every
 * column REQUIRED, with the metadata as key-value pairs.
 * @returns the parquet file's bytes
 * @throws {TypeError} if a key column is named like a score column, a score column is not, or lengths differ
 */
export function encodeScoreFile(contents: ScoreFileContents): Uint8Array {
  for (const name of Object.keys(contents.keys)) {
    if (isScoreColumn(name)) throw new TypeError(`key column ${name} has a score column's name`);
  }
  for (const name of Object.keys(contents.scores)) {
    if (!isScoreColumn(name))
      throw new TypeError(`score column ${name} is not clip_score, negclip_loss or normsim_<p>`);
  }
  return writeParquetTable({
    columns: { ...contents.keys, ...contents.scores, ...contents.extra },
    ...(contents.metadata ? { metadata: contents.metadata } : {}),
  });
}

// ---- reading ----

/** Uids and float32 score columns of score files, one row per scored pair. */
export interface ScoreTable {
  /** uid i is words [4i, 4i+4) (see io/uid.ts). */
  uids: Uint32Array;
  /** Score columns by name (clip_score, negclip_loss, normsim_inf, …), one value per row. */
  columns: Record<string, Float32Array>;
}

/** An opened score file: its footer read, columns on request. */
export interface ScoreFile {
  readonly name: string;
  readonly rows: number;
  /** The columns naming rows (every column that is not a score column), in file order. */
  readonly keyColumns: string[];
  /** The score columns (clip_score, negclip_loss, normsim_*), in file order. */
  readonly scoreColumns: string[];
  /** The raw key-value metadata. */
  readonly metadata: Record<string, string>;
  /** The stored parameters' JSON (METADATA_KEYS.parameters), for parameterDifferences; undefined when absent. */
  readonly parameters: string | undefined;
  /**
   * The key columns: `uid` alone when there is one, else every key column.
   * @throws {InputError} if a key column holds mixed or null values
   */
  readKeys(): Promise<Record<string, KeyColumn>>;
  /**
   * The uid column, parsed (4 words per row).
   * @throws {InputError} if there is no uid column or a uid is not 32 hex characters
   */
  readUids(): Promise<Uint32Array>;
  /**
   * Score columns as float32.
   * @throws {InputError} naming the column when it is missing, or the row when a value is not a number
   */
  readScores(names: readonly string[]): Promise<Record<string, Float32Array>>;
  /**
   * The uids and the score columns `names`, read together.
   * @throws {InputError} naming the file when the uid or a score column is missing or a score is not a number
   */
  readTable(names: readonly string[]): Promise<ScoreTable>;
  /** Rows of each row group, in order: reading along these boundaries decodes every group once. */
  readonly rowGroups: number[];
  /**
   * Rows [rowStart, rowEnd) of the score columns `names`, and their uids when `withUids`: how a pass
   * over a large pool reads one block at a time. Errors name rows of the file.
   * @throws {InputError} as readTable
   */
  readRows(
    names: readonly string[],
    range: { rowStart: number; rowEnd: number; withUids: boolean },
  ): Promise<{ uids?: Uint32Array; columns: Record<string, Float32Array> }>;
}

/**
 * Opens a score file, reading only its footer.
 * @throws {InputError} if it is not a readable parquet file
 */
export async function openScoreFile(source: ByteSource): Promise<ScoreFile> {
  const parquet = await openParquet(source);
  const file = source.name;
  const keyColumns = parquet.columns.filter((c) => !isScoreColumn(c));
  const scoreColumns = parquet.columns.filter(isScoreColumn);
  const checkUid = () => {
    if (!parquet.columns.includes(UID_COLUMN)) {
      throw new InputError(
        file,
        `has no uid column (columns: ${parquet.columns.join(', ')}); subset files name rows by DataComp uid`,
        { field: UID_COLUMN },
      );
    }
  };
  const checkScores = (names: readonly string[]) => {
    for (const column of names) {
      if (!parquet.columns.includes(column)) {
        const scores = parquet.columns.filter((c) => c !== UID_COLUMN).join(', ');
        throw new InputError(file, `has no score column ${column} (score columns: ${scores || 'none'})`, {
          field: column,
        });
      }
    }
  };
  const floats = (read: Record<string, unknown[]>, names: readonly string[], first = 0) => {
    const out: Record<string, Float32Array> = {};
    for (const column of names) out[column] = toFloat32(file, column, read[column]!, first);
    return out;
  };
  return {
    name: file,
    rows: parquet.rows,
    keyColumns,
    scoreColumns,
    metadata: parquet.metadata,
    parameters: parquet.metadata[METADATA_KEYS.parameters],
    readKeys: () => readKeys(parquet, keyColumns.includes(UID_COLUMN) ? [UID_COLUMN] : keyColumns),
    async readUids() {
      checkUid();
      return parseUids((await parquet.readColumns([UID_COLUMN]))[UID_COLUMN]!, file);
    },
    async readScores(names) {
      checkScores(names);
      return floats(names.length > 0 ? await parquet.readColumns([...names]) : {}, names);
    },
    async readTable(names) {
      checkUid();
      checkScores(names);
      const read = await parquet.readColumns([UID_COLUMN, ...names]);
      return { uids: parseUids(read[UID_COLUMN]!, file), columns: floats(read, names) };
    },
    rowGroups: parquet.rowGroups,
    async readRows(names, { rowStart, rowEnd, withUids }) {
      if (withUids) checkUid();
      checkScores(names);
      const wanted = [...(withUids ? [UID_COLUMN] : []), ...names];
      const read = wanted.length > 0 ? await parquet.readColumns(wanted, { rowStart, rowEnd }) : {};
      const columns = floats(read, names, rowStart);
      if (!withUids) return { columns };
      return { uids: parseUids(read[UID_COLUMN]!, file, rowStart), columns };
    },
  };
}

/**
 * Reads the uids and the score columns `columns` of one score file.
 * @throws {InputError} naming the file when the uid or a score column is missing or a score is not a number
 */
export async function readScoreTable(source: ByteSource, columns: readonly string[]): Promise<ScoreTable> {
  return (await openScoreFile(source)).readTable(columns);
}

/** Score tables one after the other (rows in the order given), with the columns `columns`. */
export function concatScoreTables(parts: readonly ScoreTable[], columns: readonly string[]): ScoreTable {
  const rows = parts.reduce((sum, p) => sum + uidCount(p.uids), 0);
  const table: ScoreTable = { uids: new Uint32Array(rows * UID_WORDS), columns: {} };
  for (const column of columns) table.columns[column] = new Float32Array(rows);
  let offset = 0;
  for (const part of parts) {
    table.uids.set(part.uids, offset * UID_WORDS);
    for (const column of columns) table.columns[column]!.set(part.columns[column]!, offset);
    offset += uidCount(part.uids);
  }
  return table;
}

async function readKeys(parquet: ParquetInput, names: string[]): Promise<Record<string, KeyColumn>> {
  const values = await parquet.readColumns(names);
  const columns: Record<string, KeyColumn> = {};
  for (const name of names) {
    const column = values[name]!;
    if (column.every((v) => typeof v === 'string')) columns[name] = column as string[];
    else if (column.every((v) => typeof v === 'bigint')) columns[name] = BigInt64Array.from(column as bigint[]);
    else if (column.every((v) => typeof v === 'number')) columns[name] = Int32Array.from(column as number[]);
    else {
      const row = column.findIndex((v) => typeof v !== typeof column[0] || v === null);
      throw new InputError(parquet.name, 'key column holds mixed or null values', {
        row: Math.max(row, 0),
        field: name,
      });
    }
  }
  return columns;
}

function toFloat32(file: string, column: string, values: unknown[], first = 0): Float32Array {
  const out = new Float32Array(values.length);
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (typeof value !== 'number')
      throw new InputError(file, `score is ${value === null ? 'null' : typeof value}, not a number`, {
        row: row + first,
        field: column,
      });
    out[row] = value;
  }
  return out;
}
