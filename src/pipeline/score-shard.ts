/**
 * One shard of `clipsift score`: read its identities and embeddings, check them, score them, and write
 * `<out>/<shard>.scores.parquet` atomically.
 *
 * Memory: the shard's image and text matrices are gathered once, in their file element type (float16
 * stays float16), and handed to the engine, which stages its batches into wasm memory itself; rows
 * dropped for --skip-invalid or duplicate uids are squeezed out in place. So a shard costs about its
 * embedding bytes plus the engine's batch buffers (--normalize of float16 input adds a float32 copy).
 */
import { maxFiniteNorm, type Embeddings, type Engine, type Target } from '../index.js';
import { InputError } from '../io/errors.js';
import type { ShardRef } from '../io/layouts.js';
import { writeFileAtomic } from '../io/node-files.js';
import type { EmbeddingReader, RowData } from '../io/reader.js';
import {
  archColumn,
  CLIP_SCORE_COLUMN,
  encodeScoreFile,
  NEGCLIP_LOSS_COLUMN,
  scoreMetadata,
  type KeyColumn,
  type ScoreParameters,
  type ScoreProvenance,
} from '../io/score-file.js';
import type { DroppedReason } from '../io/run-stats.js';
import { UID_WORDS } from '../io/uid.js';
import { checkShardDuplicates, type IdentitySet } from './duplicates.js';
import { normalizeRows } from '../numeric/normalize.js';
import { dropRows, gatherRows, listRows, type GatheredRows } from './rows.js';
import { gatherUids } from '../select/table.js';

/** What the map step reports progress to (the CLI's progress bar, or a cluster job's progress). */
export interface ShardProgress {
  /** Counts rows of work done: half a row per row read, half per row scored. */
  add(rows: number): void;
  /** The phase shown beside the figures ('reading', 'scoring'). */
  phase: string | undefined;
  redraw(): void;
}

/** The part of the engine `score` uses. */
export type ScoringEngine = Pick<Engine, 'clipScore' | 'negClipLoss' | 'normSim'>;

/** How rows of a shard are identified in its score file. */
export interface ShardIdentities {
  /** Output columns naming each row (uid; or key columns; or file and row), one value per row. */
  columns: Record<string, KeyColumn>;
  /** 128-bit identities, 4 u32 words per row, for duplicate detection. */
  words: Uint32Array;
  /** Human-readable identity of a row, for messages. */
  describe(row: number): string;
}

/** A shard as `score` sees it, whatever the directory layout it came from. */
export interface ScoreShard {
  name: string;
  /** Where it was listed from: enough to open it again elsewhere (a cluster job carries it). */
  ref: ShardRef;
  /** Input files, for the parameters and for messages. */
  files: { path: string; bytes: number; fingerprint: string }[];
  img: EmbeddingReader;
  txt: EmbeddingReader;
  /** The embedding pair read (DataComp l14 or b32), or null where the layout has only one. */
  arch: string | null;
  /**
   * Several pairs scored in one run (`--arch l14 --arch b32`): the arch of img/txt (the pair NormSim
   * uses), and the other pairs. Every score column then carries its arch (negclip_loss_b32).
   */
  pairArch?: string;
  extraPairs?: { arch: string; img: EmbeddingReader; txt: EmbeddingReader }[];
  /** The metadata table's row count, when there is one, to check alignment with the embeddings. */
  metadataRows: number | undefined;
  /** The file that holds the identities (metadata parquet, or the image embedding file). */
  metadataName: string;
  readIdentities(): Promise<ShardIdentities>;
  close(): Promise<void>;
}

/** Settings shared by every shard of a run. */
export interface ShardRunSettings {
  engine: ScoringEngine;
  batchSize: number;
  temperature: number;
  repeats: number;
  /** Prepared target and the score column it fills, when NormSim is wanted. */
  target: { prepared: Target; dim: number; column: string } | undefined;
  skipInvalid: boolean;
  normalize: boolean;
  /** Replace score files that exist with other parameters. */
  force: boolean;
  /** Norms outside [1 − tolerance, 1 + tolerance] count as not unit-norm. */
  normTolerance: number;
  provenance: ScoreProvenance;
  warn(message: string): void;
  progress: ShardProgress;
}

/** What happened to one shard. */
export interface ShardOutcome {
  rows: number;
  written: number;
  droppedInvalid: number;
  droppedDuplicates: number;
  duplicatesInEarlierShards: number;
  /**
   * Every dropped row (its index among the shard's input rows), ascending, with one reason: the first
   * that applies of non-finite, all-zero, overlarge-norm (in either embedding), duplicate.
   */
  droppedRows: { row: number; reason: DroppedReason }[];
}

/**
 * Scores `shard` and writes its score file to `outPath`. `seen` collects identities across the run's
 * shards (for the cross-shard duplicate report); `index` is the shard's position in the run.
 */
export async function scoreShard(
  shard: ScoreShard,
  index: number,
  outPath: string,
  parameters: ScoreParameters,
  seen: IdentitySet,
  run: ShardRunSettings,
): Promise<ShardOutcome> {
  const prepared = await prepareShardRows(shard, index, seen, run);
  const { identities, img, txt, extras, drop, duplicates, invalid, keys, rows, imgData, txtData } = prepared;
  const scores: Record<string, Float32Array> = {};

  const imgE: Embeddings = { data: imgData, rows, dim: img.dim };
  const txtE: Embeddings = { data: txtData, rows, dim: txt.dim };
  // The second half of a row's progress is its scoring.
  const scoredShare = img.rows / 2;
  let reported = 0;
  run.progress.phase = 'scoring';
  run.progress.redraw();
  if (rows === 0) {
    // Nothing left to score (an empty shard, or every row dropped): still write the file, so the run
    // records the shard as done and select sees the same columns everywhere.
    for (const column of scoreColumnNames(run, shard)) scores[column] = new Float32Array(0);
  } else {
    const named = (base: string) => (shard.pairArch === undefined ? base : archColumn(base, shard.pairArch));
    scores[named(CLIP_SCORE_COLUMN)] = await run.engine.clipScore(imgE, txtE);
    scores[named(NEGCLIP_LOSS_COLUMN)] = await run.engine.negClipLoss(imgE, txtE, {
      batchSize: run.batchSize,
      temperature: run.temperature,
      repeats: run.repeats,
      seed: parameters.shardSeed,
      // negCLIPLoss is nearly all of the scoring time: let the bar move batch by batch.
      onProgress: (done, total) => {
        const now = (scoredShare * done) / total;
        run.progress.add(now - reported);
        reported = now;
      },
    });
    if (run.target) scores[named(run.target.column)] = await run.engine.normSim(imgE, run.target.prepared);
    for (const extra of extras) {
      let a: RowData = dropRows(extra.img.data, extra.img.dim, drop);
      let b: RowData = dropRows(extra.txt.data, extra.txt.dim, drop);
      if (run.normalize) {
        a = normalizeRows(a, extra.img.dim);
        b = normalizeRows(b, extra.txt.dim);
      }
      const e1: Embeddings = { data: a, rows, dim: extra.img.dim };
      const e2: Embeddings = { data: b, rows, dim: extra.txt.dim };
      scores[archColumn(CLIP_SCORE_COLUMN, extra.arch)] = await run.engine.clipScore(e1, e2);
      scores[archColumn(NEGCLIP_LOSS_COLUMN, extra.arch)] = await run.engine.negClipLoss(e1, e2, {
        batchSize: run.batchSize,
        temperature: run.temperature,
        repeats: run.repeats,
        seed: parameters.shardSeed,
      });
    }
  }

  // Never written: a score that is NaN or infinite (the engine refuses them too; this is the last guard).
  for (const [column, values] of Object.entries(scores)) {
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new InputError(shard.name, `${column} of ${identities.describe(bad)} is ${values[bad]}, not finite`);
  }
  const bytes = encodeScoreFile({ keys, scores, metadata: scoreMetadata(parameters, run.provenance) });
  // Without --force an existing file is never replaced (planning already refused mismatching ones).
  await writeFileAtomic(outPath, bytes, { force: run.force, inputs: shard.files.map((f) => f.path) });
  run.progress.add(scoredShare - reported);
  return {
    rows: img.rows,
    written: rows,
    droppedInvalid: invalid.length,
    droppedDuplicates: duplicates.withinShard.length,
    duplicatesInEarlierShards: duplicates.acrossShards.length,
    droppedRows: dropReasons(drop, [img, txt, ...extras.flatMap((e) => [e.img, e.txt])]),
  };
}

/** Each dropped row with the first reason that applies to it. */
function dropReasons(
  drop: readonly number[],
  matrices: readonly GatheredRows[],
): { row: number; reason: DroppedReason }[] {
  if (drop.length === 0) return [];
  const reasons = new Map<number, DroppedReason>();
  const mark = (rows: readonly number[], reason: DroppedReason) => {
    for (const row of rows) if (!reasons.has(row)) reasons.set(row, reason);
  };
  for (const m of matrices) mark(m.stats.nonFiniteRows, 'non-finite');
  for (const m of matrices) mark(m.stats.zeroRows, 'all-zero');
  for (const m of matrices) mark(m.stats.overlargeRows, 'overlarge-norm');
  return drop.map((row) => ({ row, reason: reasons.get(row) ?? 'duplicate' }));
}

/** A shard's rows as its score file holds them: read, checked, invalid and duplicate rows dropped. */
export interface PreparedShardRows {
  identities: ShardIdentities;
  img: GatheredRows;
  txt: GatheredRows;
  /** The further embedding pairs of a multi-arch run, gathered whole (rows not dropped yet). */
  extras: { arch: string; img: GatheredRows; txt: GatheredRows; readers: [EmbeddingReader, EmbeddingReader] }[];
  /** Rows of the shard left out of the score file (invalid, or repeating an identity), ascending. */
  drop: number[];
  /** Rows with NaN/Inf, all-zero or overlarge embeddings, ascending. */
  invalid: number[];
  duplicates: ReturnType<typeof checkShardDuplicates>;
  /** The identity columns of the kept rows. */
  keys: Record<string, KeyColumn>;
  /** Rows kept (the score file's rows). */
  rows: number;
  /** The kept rows' embeddings, L2-normalised when the run asks for it. */
  imgData: RowData;
  txtData: RowData;
}

/**
 * Reads and checks `shard`'s rows and decides which of them its score file holds, exactly as
 * scoreShard does (scoreShard calls it): the row order of every score file comes from here, so
 * work on a score file's rows later (NormSim on survivors, pipeline/task.ts) finds the same rows.
 */
export async function prepareShardRows(
  shard: ScoreShard,
  index: number,
  seen: IdentitySet,
  run: Pick<ShardRunSettings, 'temperature' | 'skipInvalid' | 'normalize' | 'normTolerance' | 'warn' | 'progress'> & {
    /** The NormSim target's dim, checked against the image embeddings. */
    target: { dim: number } | undefined;
  },
): Promise<PreparedShardRows> {
  const { img: imgReader, txt: txtReader } = shard;
  checkAlignment(shard);
  if (run.target && imgReader.dim !== run.target.dim) {
    throw new InputError(
      imgReader.name,
      `embeddings have dim ${imgReader.dim} but the target has dim ${run.target.dim}`,
    );
  }
  const identities = await shard.readIdentities();
  if (identities.words.length / UID_WORDS !== imgReader.rows) {
    throw new InputError(
      shard.metadataName,
      `has ${identities.words.length / UID_WORDS} identities for ${imgReader.rows} embedding rows`,
    );
  }

  // Progress counts a row half done once both of its embeddings are read, done once it is scored.
  const addRows = (rows: number) => run.progress.add(rows / 4);
  // Rows so long their scores would overflow float32 (not a problem once --normalize scales them).
  const normLimit = run.normalize ? Infinity : maxFiniteNorm(run.temperature);
  const img = await gatherRows(imgReader, addRows, normLimit);
  const txt = await gatherRows(txtReader, addRows, normLimit);
  const extras: { arch: string; img: GatheredRows; txt: GatheredRows; readers: [EmbeddingReader, EmbeddingReader] }[] =
    [];
  for (const pair of shard.extraPairs ?? []) {
    if (pair.img.rows !== img.rows || pair.txt.rows !== img.rows || pair.img.dim !== pair.txt.dim)
      throw new InputError(
        shard.name,
        `the ${pair.arch} pair (${pair.img.rows}×${pair.img.dim}, ${pair.txt.rows}×${pair.txt.dim}) does not align with ${imgReader.name} (${img.rows} rows)`,
      );
    extras.push({
      arch: pair.arch,
      img: await gatherRows(pair.img, undefined, normLimit),
      txt: await gatherRows(pair.txt, undefined, normLimit),
      readers: [pair.img, pair.txt],
    });
  }

  // Rows that cannot be scored: non-finite values, all zeros, or overlarge norms in any matrix.
  const invalid = sortedUnion(
    img.stats.nonFiniteRows,
    txt.stats.nonFiniteRows,
    img.stats.zeroRows,
    txt.stats.zeroRows,
    img.stats.overlargeRows,
    txt.stats.overlargeRows,
    ...extras.flatMap((e) => [
      e.img.stats.nonFiniteRows,
      e.txt.stats.nonFiniteRows,
      e.img.stats.zeroRows,
      e.txt.stats.zeroRows,
      e.img.stats.overlargeRows,
      e.txt.stats.overlargeRows,
    ]),
  );
  if (invalid.length > 0 && !run.skipInvalid) {
    const bad = (g: GatheredRows) =>
      g.stats.nonFiniteRows.length + g.stats.zeroRows.length + g.stats.overlargeRows.length > 0;
    const culprit = extras.find((e) => bad(e.img) || bad(e.txt));
    if (!bad(img) && !bad(txt) && culprit)
      throw invalidRowsError(culprit.img, culprit.txt, ...culprit.readers, normLimit);
    throw invalidRowsError(img, txt, imgReader, txtReader, normLimit);
  }

  // Duplicates are judged among the valid rows: a dropped invalid row must not shadow a good copy.
  const validRows = complement(invalid, img.rows);
  const validWords = gatherUids(identities.words, validRows);
  const duplicates = checkShardDuplicates(seen, validWords, index);
  const drop = sortedUnion(
    invalid,
    duplicates.withinShard.map((k) => validRows[k]!),
  );

  if (invalid.length > 0) {
    const overlarge = img.stats.overlargeRows.length + txt.stats.overlargeRows.length;
    run.warn(
      `${shard.name}: dropped ${invalid.length} row${invalid.length === 1 ? '' : 's'} with NaN/Inf or all-zero embeddings${overlarge ? ` or norms beyond ${normLimit.toPrecision(3)}` : ''} (rows ${listRows(invalid)})`,
    );
  }
  if (duplicates.withinShard.length > 0) {
    const rows = duplicates.withinShard.map((k) => validRows[k]!);
    run.warn(
      `${shard.name}: ${rows.length} duplicate identit${rows.length === 1 ? 'y' : 'ies'} within the shard, kept the first (dropped rows ${listRows(rows)}; first: ${identities.describe(rows[0]!)})`,
    );
  }
  if (duplicates.acrossShards.length > 0) {
    const row = validRows[duplicates.acrossShards[0]!]!;
    run.warn(
      `${shard.name}: ${duplicates.acrossShards.length} identit${duplicates.acrossShards.length === 1 ? 'y also appears' : 'ies also appear'} in earlier shards (first: ${identities.describe(row)}); kept in this score file, select keeps one`,
    );
  }

  const rows = img.rows - drop.length;
  let imgData: RowData = dropRows(img.data, img.dim, drop);
  let txtData: RowData = dropRows(txt.data, txt.dim, drop);
  const keys = keepRows(identities.columns, drop, img.rows);

  warnAboutNorms(shard.name, imgReader.name, img, run);
  warnAboutNorms(shard.name, txtReader.name, txt, run);
  if (run.normalize) {
    // In place for float32 (no second copy of the shard); float16 needs a float32 array anyway.
    imgData = normalizeRows(imgData, img.dim, imgData instanceof Float32Array ? imgData : undefined);
    txtData = normalizeRows(txtData, txt.dim, txtData instanceof Float32Array ? txtData : undefined);
  }
  return { identities, img, txt, extras, drop, invalid, duplicates, keys, rows, imgData, txtData };
}

function scoreColumnNames(run: ShardRunSettings, shard: ScoreShard): string[] {
  const base = [CLIP_SCORE_COLUMN, NEGCLIP_LOSS_COLUMN, ...(run.target ? [run.target.column] : [])];
  if (shard.pairArch === undefined) return base;
  return [
    ...base.map((c) => archColumn(c, shard.pairArch)),
    ...(shard.extraPairs ?? []).flatMap((p) => [
      archColumn(CLIP_SCORE_COLUMN, p.arch),
      archColumn(NEGCLIP_LOSS_COLUMN, p.arch),
    ]),
  ];
}

/** Image, text and metadata must describe the same rows. */
function checkAlignment(shard: ScoreShard): void {
  const { img, txt, metadataRows } = shard;
  if (img.rows !== txt.rows || (metadataRows !== undefined && metadataRows !== img.rows)) {
    const metadata = metadataRows !== undefined ? `, ${shard.metadataName} ${metadataRows}` : '';
    throw new InputError(shard.name, `row counts differ: ${img.name} ${img.rows}, ${txt.name} ${txt.rows}${metadata}`);
  }
  if (img.dim !== txt.dim)
    throw new InputError(shard.name, `image embeddings have dim ${img.dim} but text embeddings have dim ${txt.dim}`);
}

function invalidRowsError(
  img: GatheredRows,
  txt: GatheredRows,
  imgReader: EmbeddingReader,
  txtReader: EmbeddingReader,
  normLimit: number,
): InputError {
  const overlarge = `norm beyond ${normLimit.toPrecision(3)}`;
  const parts: { file: string; what: string; rows: number[] }[] = [
    { file: imgReader.name, what: 'NaN or Inf', rows: img.stats.nonFiniteRows },
    { file: txtReader.name, what: 'NaN or Inf', rows: txt.stats.nonFiniteRows },
    { file: imgReader.name, what: 'all-zero', rows: img.stats.zeroRows },
    { file: txtReader.name, what: 'all-zero', rows: txt.stats.zeroRows },
    { file: imgReader.name, what: overlarge, rows: img.stats.overlargeRows },
    { file: txtReader.name, what: overlarge, rows: txt.stats.overlargeRows },
  ].filter((p) => p.rows.length > 0);
  const first = parts[0]!;
  const one = first.rows.length === 1;
  const more = parts
    .slice(1)
    .map((p) => `; ${p.file}: ${p.rows.length} ${p.what} row${p.rows.length === 1 ? '' : 's'}`)
    .join('');
  const problem =
    first.what === 'all-zero'
      ? one
        ? 'is all zeros'
        : 'are all zeros'
      : first.what === overlarge
        ? `${one ? 'has a norm' : 'have norms'} beyond ${normLimit.toPrecision(3)}, so ${one ? 'its' : 'their'} scores would not be finite in float32`
        : one
          ? 'holds NaN or Inf'
          : 'hold NaN or Inf';
  return new InputError(
    first.file,
    `${first.rows.length} row${one ? '' : 's'} ${problem} (rows ${listRows(first.rows)})${more}; pass --skip-invalid to drop them`,
  );
}

function warnAboutNorms(
  shardName: string,
  file: string,
  gathered: GatheredRows,
  run: Pick<ShardRunSettings, 'normTolerance' | 'normalize' | 'warn'>,
): void {
  const { minNorm, maxNorm } = gathered.stats;
  if (!(minNorm < 1 - run.normTolerance || maxNorm > 1 + run.normTolerance)) return;
  const range = `${minNorm.toPrecision(4)}..${maxNorm.toPrecision(4)}`;
  run.warn(
    run.normalize
      ? `${shardName}: ${file} norms range ${range}; L2-normalised before scoring (--normalize)`
      : `${shardName}: ${file} is not unit-norm (norms ${range}); CLIP scores assume unit vectors, pass --normalize to L2-normalise`,
  );
}

/** Ascending union of ascending lists. */
function sortedUnion(...lists: number[][]): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/** 0..n-1 without the ascending `drop`. */
function complement(drop: readonly number[], n: number): number[] {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    if (next < drop.length && drop[next] === i) next++;
    else out.push(i);
  }
  return out;
}

/** The identity columns without the dropped rows. */
function keepRows(
  columns: Record<string, KeyColumn>,
  drop: readonly number[],
  rows: number,
): Record<string, KeyColumn> {
  if (drop.length === 0) return { ...columns };
  const keep = complement(drop, rows);
  const out: Record<string, KeyColumn> = {};
  for (const [name, column] of Object.entries(columns)) {
    if (Array.isArray(column)) out[name] = keep.map((row) => column[row]!);
    else {
      const Kind = column.constructor as new (length: number) => typeof column;
      const kept = new Kind(keep.length);
      keep.forEach((row, k) => {
        (kept as { [i: number]: number | bigint })[k] = column[row]!;
      });
      out[name] = kept;
    }
  }
  return out;
}
