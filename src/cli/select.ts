/**
 * `clipsift select`: score files in, a DataComp subset file out.
 *
 * Reads the uid and the needed score columns of every `<shard>.scores.parquet`, runs the --top/--min
 * steps in the order given (src/select/steps.ts has the semantics), optionally NormSim_2-D over the
 * survivors' image embeddings, and writes the kept uids atomically as a DataComp subset .npy.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { createEngine } from '../index.js';
import { InputError, OutputError } from '../io/errors.js';
import { ARCH_DIMS, listShards, openShard, type Arch } from '../io/layouts.js';
import { listDirectory, nodeFileSystem, openFileSource, writeFileAtomic } from '../io/node-files.js';
import type { RowData } from '../io/reader.js';
import { concatScoreTables, readScoreTable, SCORE_FILE_SUFFIX, type ScoreTable } from '../io/score-file.js';
import { encodeSubsetFile, readSubsetFile } from '../io/subset-file.js';
import { compareUids, formatUid, parseUids, UID_WORDS, uidCount } from '../io/uid.js';
import { normSim2D } from '../select/normsim-d.js';
import type { SelectionStep, StepOutcome } from '../select/steps.js';
import { selectFromTable } from '../select/table.js';
import { numberOption, threadsOption, UsageError, usageErrorOf } from './args.js';
import type { Command } from './command.js';
import { Progress } from './progress.js';
import { counted, formatCount } from './words.js';

const USAGE = `usage: clipsift select <score dirs or files...> --out subset.npy [options]

Selects rows from score files (<shard>.scores.parquet, written by clipsift score) and writes their
uids as a DataComp subset file (.npy of (u64, u64) uid halves, sorted, as numpy.save writes it).

Steps run in the order given. Fractions are of the pool N (all rows, or the --given-uids rows), not
of the rows left by earlier steps: --top negclip_loss:0.3 --top normsim_inf:0.2 keeps 20 % of the pool.
Equal scores are ordered by uid, so the result does not depend on file order. A NaN score in a
column a step uses is an error naming the rows.

options:
  --out FILE                  the subset file to write (refuses to overwrite without --force)
  --given-uids FILE           restrict the pool to the uids of this subset file first (e.g. a DFN subset)
  --top COLUMN:FRACTION       keep the top ⌊N·FRACTION⌋ surviving rows by COLUMN (FRACTION 0.3 or 30%)
  --min COLUMN:VALUE          keep the rows whose COLUMN is ≥ VALUE
  --normsim-d                 after the steps, NormSim_2-D: drop the rows least like the selection
                              itself until --normsim-d-final is reached (needs --embeddings)
  --normsim-d-final FRACTION  final size as a fraction of the pool (default 0.2)
  --normsim-d-iterations T    removal rounds (default 500)
  --normsim-d-sample F        re-estimate the target from a random F of the selection each round,
                              as the reference code does, instead of the exact update (e.g. 0.1)
  --normsim-d-seed N          seed of those samples (default 0)
  --embeddings DIR            a DataComp metadata dir or clip-retrieval folder holding the image
                              embeddings of the scored rows (repeatable)
  --arch l14|b32              which DataComp embeddings to read (default l14)
  --threads N|auto            engine threads for --normsim-d (default auto)
  --json                      print the summary as JSON instead of text
  --force                     overwrite --out if it exists
  -h, --help                  show this help

Score columns: clip_score, negclip_loss, normsim_inf, normsim_2, normsim_p<p>, as clipsift score
writes them. Score files must have a uid column: subset files name rows by DataComp uid.`;

const OPTIONS = {
  out: { type: 'string' },
  'given-uids': { type: 'string' },
  top: { type: 'string', multiple: true },
  min: { type: 'string', multiple: true },
  'normsim-d': { type: 'boolean' },
  'normsim-d-final': { type: 'string' },
  'normsim-d-iterations': { type: 'string' },
  'normsim-d-sample': { type: 'string' },
  'normsim-d-seed': { type: 'string' },
  embeddings: { type: 'string', multiple: true },
  arch: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** NormSim_2-D settings from the command line. */
export interface NormSimDSettings {
  final: number;
  iterations: number;
  sample?: number;
  seed: number;
  embeddings: string[];
  arch: Arch;
  threads: number | 'auto';
}

/** Everything `select` was asked to do. */
export interface SelectOptions {
  inputs: string[];
  out: string;
  givenUids?: string;
  steps: SelectionStep[];
  normSimD?: NormSimDSettings;
  json: boolean;
  force: boolean;
}

/** Parses the command line; --top and --min keep their relative order. */
export function parseSelectOptions(argv: string[]): SelectOptions {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw usageErrorOf(error, OPTIONS);
  }
  const { values, positionals, tokens } = parsed;
  if (positionals.length === 0) throw new UsageError('no score files or directories given');
  if (values.out === undefined) throw new UsageError('--out FILE is required');
  const steps: SelectionStep[] = [];
  for (const token of tokens) {
    if (token.kind !== 'option' || (token.name !== 'top' && token.name !== 'min')) continue;
    steps.push(token.name === 'top' ? parseTop(token.value ?? '') : parseMin(token.value ?? ''));
  }
  const normSimFlags = [
    'normsim-d-final',
    'normsim-d-iterations',
    'normsim-d-sample',
    'normsim-d-seed',
    'embeddings',
  ] as const;
  if (!values['normsim-d']) {
    const stray = normSimFlags.find((name) => values[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --normsim-d`);
  }
  if (steps.length === 0 && !values['normsim-d'])
    throw new UsageError('nothing to select: give at least one --top, --min or --normsim-d');

  const options: SelectOptions = {
    inputs: positionals,
    out: values.out,
    steps,
    json: values.json ?? false,
    force: values.force ?? false,
  };
  if (values['given-uids'] !== undefined) options.givenUids = values['given-uids'];
  if (values['normsim-d']) {
    if (!values.embeddings?.length) throw new UsageError('--normsim-d needs the image embeddings: --embeddings DIR');
    const arch = values.arch ?? 'l14';
    if (arch !== 'l14' && arch !== 'b32') throw new UsageError(`--arch must be l14 or b32, got '${arch}'`);
    const final = parseFraction('--normsim-d-final', values['normsim-d-final'] ?? '0.2');
    const sampleText = values['normsim-d-sample'];
    options.normSimD = {
      final,
      iterations: numberOption('normsim-d-iterations', values['normsim-d-iterations'], 500, {
        integer: true,
        positive: true,
      }),
      seed: numberOption('normsim-d-seed', values['normsim-d-seed'], 0, { integer: true, min: 0 }),
      embeddings: values.embeddings,
      arch,
      threads: threadsOption(values.threads),
    };
    if (sampleText !== undefined) {
      const sample = parseFraction('--normsim-d-sample', sampleText);
      if (sample === 0) throw new UsageError('--normsim-d-sample must be greater than 0');
      options.normSimD.sample = sample;
    }
  }
  return options;
}

function splitColumnValue(option: string, text: string): [string, string] {
  const at = text.lastIndexOf(':');
  if (at <= 0 || at === text.length - 1) throw new UsageError(`${option} expects COLUMN:VALUE, got '${text}'`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** '0.3' or '30%' → 0.3; must be in [0, 1]. */
function parseFraction(option: string, text: string): number {
  const percent = text.endsWith('%');
  const value = Number(percent ? text.slice(0, -1) : text) / (percent ? 100 : 1);
  if (text.trim() === '' || !(value >= 0 && value <= 1))
    throw new UsageError(`${option}: fraction must be in [0, 1] (or 0%–100%), got '${text}'`);
  return value;
}

function parseTop(text: string): SelectionStep {
  const [column, fraction] = splitColumnValue('--top', text);
  return { kind: 'top', column, fraction: parseFraction(`--top ${column}`, fraction) };
}

function parseMin(text: string): SelectionStep {
  const [column, valueText] = splitColumnValue('--min', text);
  const value = Number(valueText);
  if (valueText.trim() === '' || Number.isNaN(value))
    throw new UsageError(`--min ${column}: value must be a number, got '${valueText}'`);
  return { kind: 'min', column, value };
}

/** The score files named by the arguments: files as given, directories' `*.scores.parquet`, sorted. */
export async function resolveScoreFiles(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (!info) throw new InputError(input, 'no such file or directory');
    if (info.isDirectory()) {
      const found = (await listDirectory(input)).filter((name) => name.endsWith(SCORE_FILE_SUFFIX));
      if (found.length === 0)
        throw new InputError(input, 'holds no *.scores.parquet files (write them with clipsift score)');
      files.push(...found.map((name) => join(input, name)));
    } else {
      files.push(input);
    }
  }
  return files;
}

/**
 * Reads the uid column and `columns` of every score file into one table, rows in file order.
 * @throws {InputError} naming the file when the uid or a score column is missing or a score is not a number
 */
export async function readScoreFiles(files: string[], columns: string[]): Promise<ScoreTable> {
  const parts: ScoreTable[] = [];
  for (const file of files) {
    const source = await openFileSource(file);
    try {
      parts.push(await readScoreTable(source, columns));
    } finally {
      await source.close();
    }
  }
  return concatScoreTables(parts, columns);
}

/**
 * The image embeddings of `uids` (sorted, unique), gathered from the shards under `dirs`, in the
 * order of `uids`. The first occurrence of a uid wins.
 * @throws {InputError} when some uid has no embedding, or shards disagree on dim or dtype
 */
export async function gatherImageEmbeddings(
  dirs: string[],
  uids: Uint32Array,
  arch: Arch,
): Promise<{ data: RowData; rows: number; dim: number }> {
  const count = uidCount(uids);
  const found = new Uint8Array(count);
  let data: RowData | undefined;
  let dim = 0;
  let foundCount = 0;
  for (const dir of dirs) {
    for (const ref of await listShards(nodeFileSystem, dir)) {
      const shard = await openShard(nodeFileSystem, ref, { arch });
      try {
        if (!shard.keyColumns.includes('uid'))
          throw new InputError(dir, 'has no uid column; NormSim_2-D matches embeddings to score rows by uid');
        const shardUids = parseUids((await shard.readKeys()).uid as string[], ref.files.metadata ?? ref.name);
        const targetIndex = new Int32Array(shard.rows).fill(-1);
        let wanted = 0;
        for (let row = 0; row < shard.rows; row++) {
          const at = findUid(uids, shardUids, row);
          if (at >= 0 && !found[at]) {
            targetIndex[row] = at;
            found[at] = 1;
            wanted++;
          }
        }
        if (wanted === 0) continue;
        if (!data) {
          dim = shard.dim;
          data = shard.image.dtype === 'f2' ? new Uint16Array(count * dim) : new Float32Array(count * dim);
        } else if (shard.dim !== dim) {
          throw new InputError(shard.image.name, `has dimension ${shard.dim} but earlier shards have ${dim}`);
        } else if ((shard.image.dtype === 'f2') !== data instanceof Uint16Array) {
          throw new InputError(shard.image.name, 'mixes float16 and float32 embeddings with earlier shards');
        }
        for await (const chunk of shard.image.readRowChunks(4096)) {
          for (let k = 0; k < chunk.rows; k++) {
            const at = targetIndex[chunk.start + k]!;
            if (at >= 0) data.set(chunk.data.subarray(k * dim, (k + 1) * dim), at * dim);
          }
        }
        foundCount += wanted;
      } finally {
        await shard.close();
      }
    }
  }
  if (foundCount < count) {
    const missing = found.indexOf(0);
    throw new InputError(
      dirs.join(', '),
      `${count - foundCount} selected uids have no image embeddings here (first: ${formatUid(uids, missing)})`,
    );
  }
  if (data) {
    // The engine would reject a NaN/Inf row by its position in this gathered matrix; name the uid instead.
    const bad = firstNonFiniteRow(data, dim);
    if (bad >= 0)
      throw new InputError(
        dirs.join(', '),
        `image embedding of uid ${formatUid(uids, bad)} has a non-finite value (NaN or Infinity)`,
      );
  }
  return { data: data ?? new Float32Array(0), rows: count, dim: dim || ARCH_DIMS[arch] };
}

/** Index of the first row holding NaN or ±Infinity (float16 bits: exponent all ones), or -1. */
function firstNonFiniteRow(data: RowData, dim: number): number {
  for (let i = 0; i < data.length; i++) {
    const bad = data instanceof Uint16Array ? (data[i]! & 0x7c00) === 0x7c00 : !Number.isFinite(data[i]!);
    if (bad) return Math.floor(i / dim);
  }
  return -1;
}

/** Index of uid `row` of `table` in the sorted unique uid array `sorted`, or -1. */
function findUid(sorted: Uint32Array, table: Uint32Array, row: number): number {
  let lo = 0;
  let hi = uidCount(sorted);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUids(sorted, mid, table, row) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < uidCount(sorted) && compareUids(sorted, lo, table, row) === 0 ? lo : -1;
}

/** One line of the summary: a step and its outcome, or the NormSim_2-D pass. */
type SummaryStep =
  | (StepOutcome['step'] & { kept: number; threshold: number | null })
  | {
      kind: 'normsim-d';
      final: number;
      iterations: number;
      sample: number | null;
      kept: number;
      threshold: number | null;
    };

/** What `select` did, as printed (and emitted with --json). */
export interface SelectSummary {
  scoreFiles: number;
  pool: number;
  given: { uids: number; matchedRows: number } | null;
  steps: SummaryStep[];
  /** Rows kept (a uid in two shards counts twice). */
  keptRows: number;
  /** Distinct uids written. */
  uids: number;
  out: string;
}

/** Runs `select` as parsed; returns the summary after writing the subset file. */
export async function runSelect(options: SelectOptions): Promise<SelectSummary> {
  if (
    !options.force &&
    (await stat(options.out).then(
      () => true,
      () => false,
    ))
  ) {
    throw new OutputError(options.out, 'already exists; refusing to overwrite it without --force');
  }
  const files = await resolveScoreFiles(options.inputs);
  const columns = [...new Set(options.steps.map((s) => s.column))];
  const table = await readScoreFiles(files, columns);
  let given: Uint32Array | undefined;
  if (options.givenUids !== undefined) {
    const source = await openFileSource(options.givenUids);
    try {
      given = await readSubsetFile(source);
    } finally {
      await source.close();
    }
  }
  const selection = selectFromTable(table, options.steps, given);
  const steps: SummaryStep[] = selection.summary.steps.map((s) => ({
    ...s.step,
    kept: s.kept,
    threshold: s.threshold,
  }));
  let uids = selection.uids;
  let keptRows = selection.rows.length;

  if (options.normSimD) {
    const settings = options.normSimD;
    const finalSize = Math.min(uidCount(uids), Math.floor(selection.summary.poolSize * settings.final));
    const images = await gatherImageEmbeddings(settings.embeddings, uids, settings.arch);
    let rows: Uint32Array = new Uint32Array(0);
    let outcome = { iterations: 0, threshold: null as number | null };
    if (images.rows > 0) {
      const engine = await createEngine({ threads: settings.threads });
      const progress = new Progress({
        label: 'NormSim_2-D',
        total: settings.iterations,
        unit: 'rounds',
        quiet: options.json,
      });
      try {
        // Rows are in uid order, so NormSim_2-D's default tie-break (row index) is the uid order.
        const result = await normSim2D(engine, images, {
          finalSize,
          iterations: settings.iterations,
          seed: settings.seed,
          ...(settings.sample !== undefined ? { sampleFraction: settings.sample } : {}),
          onIteration: (t) => progress.set(t),
        });
        rows = result.rows;
        outcome = result;
      } finally {
        progress.finish();
        await engine.close();
      }
    }
    const kept = new Uint32Array(rows.length * UID_WORDS);
    rows.forEach((row, k) => kept.set(uids.subarray(row * UID_WORDS, (row + 1) * UID_WORDS), k * UID_WORDS));
    uids = kept;
    keptRows = rows.length;
    steps.push({
      kind: 'normsim-d',
      final: settings.final,
      iterations: settings.iterations,
      sample: settings.sample ?? null,
      kept: keptRows,
      threshold: outcome.threshold,
    });
  }

  const inputs = [...files, ...(options.givenUids !== undefined ? [options.givenUids] : [])];
  await writeFileAtomic(options.out, encodeSubsetFile(uids), { force: options.force, inputs });
  return {
    scoreFiles: files.length,
    pool: selection.summary.poolSize,
    given: selection.summary.given ?? null,
    steps,
    keptRows,
    uids: uidCount(uids),
    out: options.out,
  };
}

/** The summary as a few aligned lines. */
export function formatSelectSummary(summary: SelectSummary): string {
  const pct = (f: number) => `${+(f * 100).toFixed(4)}%`;
  const givenNote = summary.given
    ? ` (--given-uids: ${counted(summary.given.uids, 'uid')}, ${counted(summary.given.matchedRows, 'row')} matched)`
    : '';
  const lines = [`pool: ${counted(summary.pool, 'row')} from ${counted(summary.scoreFiles, 'score file')}${givenNote}`];
  const labels = summary.steps.map((s) =>
    s.kind === 'top'
      ? `top ${s.column} ${pct(s.fraction)}`
      : s.kind === 'min'
        ? `min ${s.column} ≥ ${s.value}`
        : `NormSim_2-D to ${pct(s.final)} (${s.iterations} rounds, ${s.sample === null ? 'exact' : `sampled ${pct(s.sample)}`})`,
  );
  const width = Math.max(0, ...labels.map((l) => l.length));
  summary.steps.forEach((s, k) => {
    const threshold = s.threshold === null ? '' : `   threshold ${Number(s.threshold.toPrecision(6))}`;
    lines.push(
      `  ${k + 1}. ${labels[k]!.padEnd(width)}  ${formatCount(s.kept).padStart(11)} ${s.kept === 1 ? 'row ' : 'rows'} kept${threshold}`,
    );
  });
  lines.push(`wrote ${summary.out}: ${counted(summary.uids, 'uid')}`);
  return lines.join('\n');
}

async function run(argv: string[]): Promise<number> {
  const options = parseSelectOptions(argv);
  const summary = await runSelect(options);
  process.stdout.write(`${options.json ? JSON.stringify(summary, null, 2) : formatSelectSummary(summary)}\n`);
  return 0;
}

export const command: Command = {
  name: 'select',
  summary: 'select rows from score files by --top/--min steps (and NormSim_2-D) into a DataComp subset file',
  usage: USAGE,
  run,
};
