/**
 * `clipsift select`: score files in, a DataComp subset file out.
 *
 * Reads the uid and the needed score columns of every `<shard>.scores.parquet` (several score
 * directories joined by uid with --join, DataComp metadata columns joined with --metadata), runs the
 * --top/--min/--normsim-d steps in the order given with pool-relative fractions (src/select/steps.ts
 * has the semantics; NormSim_2-D runs over the survivors' image embeddings), and writes the kept uids
 * atomically as a DataComp subset .npy.
 */
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { createEngine } from '../index.js';
import { InputError, OutputError } from '../io/errors.js';
import type { Arch } from '../io/layouts.js';
import { type FileSystem, joinPath, pathKindIn } from '../io/file-system.js';
import {
  nodeFileSystem,
  outputExists,
  readSubsetFileAt,
  writeChunksAtomic,
  writeFileAtomic,
} from '../io/node-files.js';
import { readMetadataColumns } from '../io/metadata.js';
import {
  checkScoreFileSet,
  concatScoreTables,
  SCORE_FILE_SUFFIX,
  type ScoreFileMetadata,
  type ScoreTable,
} from '../io/score-file.js';
import { isRemotePath, signedInputs } from '../io/remote.js';
import { encodeSubsetFile, encodeSubsetHeader, encodeSubsetRecords } from '../io/subset-file.js';
import { findUid, sortUids, uidCount } from '../io/uid.js';
import { joinByUid, type JoinInput } from '../select/join.js';
import { floorTimes, parseDecimalRatio } from '../select/fraction.js';
import { normSim2D } from '../select/normsim-d.js';
import { mergeUidRunChunks, streamSelect } from '../select/streaming.js';
import {
  openScoreFileAt,
  type ScoreFileOpener,
  scoreFileCache,
  scoreFilePasses,
  withScoreFile,
} from '../pipeline/score-passes.js';
import { parseRedisUrl } from '../cluster/queue.js';
import type { Rounding, SelectionStep, StepOutcome } from '../select/steps.js';
import { gatherUids, runTableSteps, type SelectTable, tablePool } from '../select/table.js';
import {
  joinNegativeValues,
  numberOption,
  parseDecimalNumber,
  threadsForWork,
  threadsOption,
  UsageError,
  usageErrorOf,
} from './args.js';
import type { Command } from './command.js';
import { type ImageGatherer, imageEmbeddingGatherer } from './image-embeddings.js';
import { Progress } from './progress.js';
import { runKeySelect, uidlessKeyColumns } from './select-keys.js';
import {
  IMAGE_BASED_HELP,
  IMAGE_BASED_OPTIONS,
  type ImageBasedSettings,
  parseImageBased,
  runImageBased,
} from './select-image-based.js';
import { expandPresets, presetHelp } from './select-presets.js';
import { removeStaleTemporariesBeside } from './stale-temporaries.js';
import { SpillingRunStore } from './uid-runs.js';
import { counted, formatCount } from './words.js';

const USAGE = `usage: clipsift select <score dirs or files...> --out subset.npy [options]
       clipsift select --metadata <DataComp metadata dir> --top clip_l14_similarity_score:0.3 --out subset.npy

Selects rows from score files (<shard>.scores.parquet, written by clipsift score) and writes their
uids as a DataComp subset file (.npy of (u64, u64) uid halves, sorted, as numpy.save writes it).
Score files without uids (clip-retrieval: rows named by --key-column, or by file and row) write the
kept keys instead, in score-file order: --out kept.parquet writes the key columns and kept.txt beside
it (one row per line, columns separated by tabs); --out kept.txt writes the list alone.

Steps (--top, --min, --normsim-d, --image-based) run in the order given. Fractions are of the pool N (all rows, or
the --given-uids rows), not of the rows left by earlier steps: --top negclip_loss:0.3 --top
normsim_inf:0.2 keeps 20 % of the pool. Equal scores are ordered by uid, so the result does not
depend on file order (without uids: by key). A NaN score in a column a step uses is an error naming the rows. Score files computed with different parameters
(batch size, temperature, seed, target, ...) are refused, naming the files and the parameter; so is
an unfinished run (fewer files than its shards, see --partial). A file given twice counts once.
--top/--min steps (either --rounding) over one set of score files run exactly in passes over the
files, memory following the kept uids, not the pool. Paths may be s3://bucket/prefix or https:// URLs
(--out: s3:// only; AWS_* as in the README); signed https:// URLs (a query string) are read as such and
named without the query, each file's own (e.g. --embeddings x.parquet?... --embeddings x.npz?...).

options:
  --out FILE                  the subset file to write, or the .parquet/.txt of kept keys for score
                              files without uids (refuses to overwrite without --force)
  --given-uids FILE           restrict the pool to the uids of this subset file first (e.g. a DFN subset)
  --top COLUMN:FRACTION       keep the top ⌊N·FRACTION⌋ surviving rows by COLUMN (FRACTION 0.3 or 30%)
  --min COLUMN:VALUE          keep the rows whose COLUMN is ≥ VALUE
  --rounding floor|datacomp   how --top turns a fraction into rows: floor keeps ⌊N·f⌋ (default, as the
                              official negCLIPLoss code); datacomp is DataComp's baselines.py --fraction:
                              threshold at index int(N·f) of the descending scores, keep every row ≥ it
                              (⌊N·f⌋ + 1 rows plus ties), to reproduce DataComp's subset files exactly
  --join                      the inputs (directories or files) score the same rows with different
                              columns (e.g. one run per --arch): join them by uid instead of
                              concatenating; a uid in one input and missing in another is an error
  --metadata DIR              DataComp metadata directory (<shard>.parquet): its numeric columns
                              (clip_l14_similarity_score, clip_b32_similarity_score, …) can be step
                              columns, joined by uid (repeatable; alone, it is the pool)
  --normsim-d                 NormSim_2-D, at its place among the steps: drop the rows least like the
                              selection itself until --normsim-d-final of the pool is left (needs --embeddings)
  --normsim-d-final FRACTION  final size as a fraction of the pool (default 0.2)
  --normsim-d-iterations T    removal rounds (default 500)
  --normsim-d-schedule even|official
                              rows removed per round: even spreads them evenly (default); official
                              removes ⌈(n − final)/T⌉ per round and cuts the rest in the last round, as
                              the official vas_d code does
  --normsim-d-sample F        re-estimate the target from a random F of the selection each round,
                              as the reference code does, instead of the exact update (e.g. 0.1)
  --normsim-d-seed N          seed of those samples (default 0)
${IMAGE_BASED_HELP}
  --embeddings DIR            a DataComp metadata dir or clip-retrieval folder holding the image
                              embeddings of the scored rows, or their shard files (repeatable; all
                              given are resolved together, as score's inputs)
  --arch NAME                 which DataComp embeddings to read: <NAME>_img (default l14)
  --img-key KEY               read the image embeddings from npz array / parquet column KEY instead
  --threads N|auto            engine threads for --normsim-d and --image-based (default auto: all cores; at most
                              4 × cores, and one per 1024 rows)
  --json                      print the summary as JSON instead of text
  --force                     overwrite --out if it exists
  --preset NAME               the steps of a named recipe, inserted where --preset stands (below)
  --dry-run                   print the steps (presets expanded) and stop, reading nothing
  --partial                   select from fewer score files than their run has (otherwise refused:
                              the run is unfinished or files are missing)
  --memory-budget MIB         memory for the kept uids of a streaming select (default 1024); past it
                              their sorted runs spill to temporary files in $TMPDIR and are merged
  --queue redis://HOST:PORT[/DB]
                              run the passes that find the thresholds as jobs on \`clipsift worker\`s,
                              one job per score file per pass; the kept uids are then collected here
                              (--top/--min only; every worker must read the same paths)
  -h, --help                  show this help

Score columns: clip_score, negclip_loss, normsim_inf, normsim_2, normsim_p<p>, as clipsift score
writes them (with an _<arch> suffix when several archs were scored in one run). --given-uids,
--join, --metadata and --normsim-d match rows by uid, so they need score files with a uid column.

presets (N: a percentage of the pool; --dry-run prints the exact options):
${presetHelp()}`;

const OPTIONS = {
  out: { type: 'string' },
  'given-uids': { type: 'string' },
  top: { type: 'string', multiple: true },
  min: { type: 'string', multiple: true },
  rounding: { type: 'string' },
  join: { type: 'boolean' },
  metadata: { type: 'string', multiple: true },
  'normsim-d': { type: 'boolean' },
  ...IMAGE_BASED_OPTIONS,
  'normsim-d-schedule': { type: 'string' },
  'img-key': { type: 'string' },
  'normsim-d-final': { type: 'string' },
  'normsim-d-iterations': { type: 'string' },
  'normsim-d-sample': { type: 'string' },
  'normsim-d-seed': { type: 'string' },
  embeddings: { type: 'string', multiple: true },
  arch: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  force: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  partial: { type: 'boolean' },
  'memory-budget': { type: 'string' },
  queue: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Where --normsim-d and --image-based read the pool's image embeddings. */
export interface ImageEmbeddings {
  dirs: string[];
  arch: Arch;
  imageKey?: string;
  threads: number | 'auto';
}

/** NormSim_2-D settings from the command line. */
export interface NormSimDSettings {
  final: number;
  /** `final` as written, for an exact ⌊N·final⌋. */
  finalDecimal?: string;
  iterations: number;
  schedule: 'even' | 'official';
  sample?: number;
  seed: number;
}

/** A step of the plan: a score step, or NormSim_2-D at its place in the order. */
export type PlanStep = SelectionStep | { kind: 'normsim-d' } | { kind: 'image-based' };

/** Everything `select` was asked to do. */
export interface SelectOptions {
  inputs: string[];
  out: string;
  givenUids?: string;
  /** In the order given; NormSim_2-D appears once at most. */
  steps: PlanStep[];
  /** Join the inputs by uid instead of concatenating them. */
  join: boolean;
  /** DataComp metadata directories whose columns can be step columns. */
  metadata: string[];
  normSimD?: NormSimDSettings;
  imageBased?: ImageBasedSettings;
  /** Where --normsim-d and --image-based read the pool's image embeddings. */
  embeddings?: ImageEmbeddings;
  json: boolean;
  force: boolean;
  /** Print the plan and stop. */
  dryRun: boolean;
  /** The options after preset expansion, as parsed. */
  expanded: string[];
  /** Select from some of a run's score files (otherwise an unfinished run is refused). */
  partial: boolean;
  /** MiB of kept uids a streaming select holds before its sorted runs spill to temporary files. */
  memoryBudgetMiB: number;
  /**
   * Read the whole table even when the steps could stream (no command-line flag: for callers that
   * compare the two paths, which must give the same bytes).
   */
  inMemory?: boolean;
  /** redis:// URL: the threshold passes run as jobs on the workers (--top/--min steps only). */
  queue?: string;
}

function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({
      args: joinNegativeValues(argv, OPTIONS),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw usageErrorOf(error, OPTIONS);
  }
}

/** Parses the command line; --top and --min keep their relative order. */
export function parseSelectOptions(argv: string[]): SelectOptions {
  const expanded = expandPresets(argv).argv;
  const { values, positionals, tokens } = parseCommandLine(expanded);
  const metadata = values.metadata ?? [];
  if (positionals.length === 0 && metadata.length === 0)
    throw new UsageError('no score files or directories given (or a --metadata directory)');
  if (values.out === undefined) throw new UsageError('--out FILE is required');
  const rounding = values.rounding ?? 'floor';
  if (rounding !== 'floor' && rounding !== 'datacomp')
    throw new UsageError(`--rounding must be floor or datacomp, got '${rounding}'`);
  const steps: PlanStep[] = [];
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (token.name === 'top') steps.push(parseTop(token.value ?? '', rounding));
    else if (token.name === 'min') steps.push(parseMin(token.value ?? ''));
    else if (token.name === 'normsim-d' && !steps.some((s) => s.kind === 'normsim-d'))
      steps.push({ kind: 'normsim-d' });
    else if (token.name === 'image-based' && !steps.some((s) => s.kind === 'image-based'))
      steps.push({ kind: 'image-based' });
  }
  if (values.join && positionals.length < 2) throw new UsageError('--join needs at least two score inputs to join');
  const normSimFlags = [
    'normsim-d-final',
    'normsim-d-iterations',
    'normsim-d-schedule',
    'normsim-d-sample',
    'normsim-d-seed',
    'embeddings',
    'img-key',
  ] as const;
  if (!values['normsim-d']) {
    // --embeddings and --img-key serve --image-based too.
    const stray = normSimFlags.find(
      (name) => values[name] !== undefined && !(values['image-based'] && (name === 'embeddings' || name === 'img-key')),
    );
    if (stray)
      throw new UsageError(
        `--${stray} needs --normsim-d${stray === 'embeddings' || stray === 'img-key' ? ' or --image-based' : ''}`,
      );
  }
  const imageBased = parseImageBased(values);
  if (steps.length === 0)
    throw new UsageError('nothing to select: give at least one --top, --min, --normsim-d or --image-based');

  const options: SelectOptions = {
    inputs: positionals,
    out: values.out,
    steps,
    join: values.join ?? false,
    metadata,
    json: values.json ?? false,
    force: values.force ?? false,
    dryRun: values['dry-run'] ?? false,
    expanded,
    partial: values.partial ?? false,
    memoryBudgetMiB: numberOption('memory-budget', values['memory-budget'], 1024, { min: 0 }),
  };
  if (values['given-uids'] !== undefined) options.givenUids = values['given-uids'];
  if (values.queue !== undefined) {
    const other = values.join
      ? '--join'
      : metadata.length > 0
        ? '--metadata'
        : values['given-uids'] !== undefined
          ? '--given-uids'
          : values['normsim-d']
            ? '--normsim-d'
            : imageBased
              ? '--image-based'
              : undefined;
    if (other)
      throw new UsageError(`--queue runs only --top/--min steps over score files with uids; it does not take ${other}`);
    try {
      parseRedisUrl(values.queue);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    options.queue = values.queue;
  }
  if (values['normsim-d'] || imageBased) {
    const needs = values['normsim-d'] ? '--normsim-d' : '--image-based';
    if (!values.embeddings?.length) throw new UsageError(`${needs} needs the image embeddings: --embeddings DIR`);
    const arch = values.arch ?? 'l14';
    if (!/^[A-Za-z0-9_]+$/.test(arch))
      throw new UsageError(`--arch must be a name of letters, digits and _ (e.g. l14, b32, dfn_p), got '${arch}'`);
    options.embeddings = { dirs: values.embeddings, arch, threads: threadsOption(values.threads) };
    if (values['img-key'] !== undefined) options.embeddings.imageKey = values['img-key'];
  }
  if (imageBased) options.imageBased = imageBased;
  if (values['normsim-d']) {
    const schedule = values['normsim-d-schedule'] ?? 'even';
    if (schedule !== 'even' && schedule !== 'official')
      throw new UsageError(`--normsim-d-schedule must be even or official, got '${schedule}'`);
    const final = parseFraction('--normsim-d-final', values['normsim-d-final'] ?? '0.2');
    const sampleText = values['normsim-d-sample'];
    options.normSimD = {
      final: final.value,
      finalDecimal: final.decimal,
      iterations: numberOption('normsim-d-iterations', values['normsim-d-iterations'], 500, {
        integer: true,
        positive: true,
      }),
      schedule,
      seed: numberOption('normsim-d-seed', values['normsim-d-seed'], 0, { integer: true, min: 0 }),
    };
    if (sampleText !== undefined) {
      const sample = parseFraction('--normsim-d-sample', sampleText).value;
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

/**
 * '0.3' or '30%' → 0.3, a decimal in [0, 1] (no sign, hex or blanks). The text is kept as well, so
 * counts are computed exactly from the digits written (src/select/fraction.ts).
 */
function parseFraction(option: string, text: string): { value: number; decimal: string } {
  const ratio = parseDecimalRatio(text);
  if (!ratio || ratio.numerator > ratio.denominator)
    throw new UsageError(`${option}: fraction must be in [0, 1] (or 0%–100%), written in decimal, got '${text}'`);
  return { value: Number(ratio.numerator) / Number(ratio.denominator), decimal: text };
}

function parseTop(text: string, rounding: Rounding): SelectionStep {
  const [column, fraction] = splitColumnValue('--top', text);
  const { value, decimal } = parseFraction(`--top ${column}`, fraction);
  const step: SelectionStep = { kind: 'top', column, fraction: value, decimal };
  if (rounding === 'datacomp') step.rounding = 'datacomp';
  return step;
}

function parseMin(text: string): SelectionStep {
  const [column, valueText] = splitColumnValue('--min', text);
  const value = parseDecimalNumber(valueText);
  if (Number.isNaN(value)) throw new UsageError(`--min ${column}: value must be a number, got '${valueText}'`);
  return { kind: 'min', column, value };
}

/** A score file as listed: its path as named, and the real path it is counted once by. */
interface ListedFile {
  path: string;
  real: string;
}

/**
 * Each input's score files, listed once: a file as given, or a directory's `*.scores.parquet` (sorted
 * within it); countedOnce then counts a file named twice once.
 */
async function listScoreInputs(inputs: string[], fs: FileSystem): Promise<ListedFile[][]> {
  const listed: ListedFile[][] = [];
  for (const input of inputs) {
    const kind = await pathKindIn(fs, input);
    if (kind === 'missing') throw new InputError(input, 'no such file or directory');
    let paths = [input];
    if (kind === 'directory') {
      const found = (await fs.list(input)).filter((name) => name.endsWith(SCORE_FILE_SUFFIX));
      if (found.length === 0)
        throw new InputError(input, 'holds no *.scores.parquet files (write them with clipsift score)');
      paths = found.map((name) => joinPath(input, name));
    }
    const files: ListedFile[] = [];
    for (const path of paths)
      files.push({ path, real: isRemotePath(path) ? path : await realpath(path).catch(() => resolve(path)) });
    listed.push(files);
  }
  return listed;
}

/** The listed files in order, a file named twice counted once (`onNote` hears about it). */
function countedOnce(listed: readonly ListedFile[][], onNote?: (note: string) => void): string[] {
  const files: string[] = [];
  const seen = new Map<string, string>();
  for (const { path, real } of listed.flat()) {
    const earlier = seen.get(real);
    if (earlier !== undefined) {
      onNote?.(`${path} is also given as ${earlier}; its rows count once`);
      continue;
    }
    seen.set(real, path);
    files.push(path);
  }
  return files;
}

/**
 * The score inputs of one select: each listed once, and each score file's footer read once however many
 * checks and passes use it (the uid probe, the parameter check, the columns on offer, every read).
 */
interface ScoreInputs {
  listed: ListedFile[][];
  open: ScoreFileOpener;
  /** What every input is read through (signed URLs known by their paths): withSignedUrls. */
  fs: FileSystem;
}

/**
 * Refuses score files that must not be pooled: computed with different run parameters, or fewer than
 * the run they come from had (see checkScoreFileSet).
 */
export async function checkScoreFiles(
  files: string[],
  partial: boolean,
  open: ScoreFileOpener = openScoreFileAt,
): Promise<void> {
  const described: ScoreFileMetadata[] = [];
  for (const file of files) {
    described.push({ name: file, metadata: await withScoreFile(open, file, (scores) => scores.metadata) });
  }
  checkScoreFileSet(described, { partial });
}

/**
 * Reads the uid column and `columns` of every score file into one table, rows in file order.
 * @throws {InputError} naming the file when the uid or a score column is missing or a score is not a number
 */
export async function readScoreFiles(
  files: string[],
  columns: string[],
  open: ScoreFileOpener = openScoreFileAt,
): Promise<ScoreTable> {
  const parts: ScoreTable[] = [];
  for (const file of files) parts.push(await withScoreFile(open, file, (scores) => scores.readTable(columns)));
  return concatScoreTables(parts, columns);
}

/** One line of the summary: a step and its outcome, or the NormSim_2-D pass. */
type SummaryStep =
  | (StepOutcome['step'] & { kept: number; threshold: number | null })
  | {
      kind: 'normsim-d';
      final: number;
      iterations: number;
      schedule: 'even' | 'official';
      sample: number | null;
      kept: number;
      threshold: number | null;
    }
  | {
      kind: 'image-based';
      clusters: number;
      /** Lloyd rounds run (fewer than asked when the clusters stopped changing). */
      iterations: number;
      /** Clusters that are the nearest of some target image. */
      targetClusters: number;
      kept: number;
      threshold: null;
    };

/** What `select` did, as printed (and emitted with --json). */
export interface SelectSummary {
  scoreFiles: number;
  pool: number;
  given: { uids: number; matchedRows: number } | null;
  steps: SummaryStep[];
  /** Rows kept (a uid in two shards counts twice). */
  keptRows: number;
  /** Distinct uids written (0 for score files without uids). */
  uids: number;
  /** For score files without uids: the key columns, the rows kept, and the files their keys went to. */
  keys?: { columns: string[]; kept: number; files: string[] };
  out: string;
}

/** Runs `select` as parsed; returns the summary after writing the subset file. */
export async function runSelect(asGiven: SelectOptions): Promise<SelectSummary> {
  const { options, fs } = withSignedUrls(asGiven);
  if (!options.force && (await outputExists(options.out))) {
    throw new OutputError(options.out, 'already exists; refusing to overwrite it without --force');
  }
  const scoreInputs: ScoreInputs = {
    listed: await listScoreInputs(options.inputs, fs),
    open: scoreFileCache(undefined, (file) => openScoreFileAt(file, fs)),
    fs,
  };
  // --queue: score files with uids only (those without fail on their missing uid column).
  const keyed = options.queue === undefined ? await selectWithoutUids(options, scoreInputs) : undefined;
  if (keyed) return keyed;
  if (options.queue !== undefined || (!options.inMemory && streamable(options)))
    return runStreamingSelect(options, scoreInputs);
  const scoreSteps = options.steps.filter(
    (s): s is SelectionStep => s.kind !== 'normsim-d' && s.kind !== 'image-based',
  );
  const columns = [...new Set(scoreSteps.map((s) => s.column))];
  const { table, files } = await readSelectTable(options, columns, scoreInputs);
  if (!options.inMemory && !options.json) {
    const why = options.join
      ? '--join'
      : options.metadata.length > 0
        ? '--metadata'
        : options.steps.some((s) => s.kind === 'normsim-d')
          ? '--normsim-d'
          : '--image-based';
    process.stderr.write(
      `clipsift select: note: ${why} reads the whole table into memory (only --top/--min over one set of score files stream)\n`,
    );
  }
  const given = await readGivenUids(options, fs);
  const pool = tablePool(table, given);
  const poolSize = pool.length;
  let current = pool;
  const steps: SummaryStep[] = [];
  let segment: SelectionStep[] = [];
  // The --embeddings directories are listed, and their shards' uids read, once for both steps that gather.
  const gatherSteps = options.steps.filter((s) => s.kind === 'image-based' || s.kind === 'normsim-d').length;
  const gather = options.embeddings ? imageEmbeddingGatherer(options.embeddings, gatherSteps, fs) : undefined;
  const flush = () => {
    if (segment.length === 0) return;
    const result = runTableSteps(table, segment, current, poolSize);
    for (const s of result.summary.steps) {
      // The decimal the fraction was written as is an input detail, not part of the summary.
      const { decimal: _decimal, ...step } = s.step as SelectionStep & { decimal?: string };
      steps.push({ ...step, kept: s.kept, threshold: s.threshold });
    }
    current = result.rows;
    segment = [];
  };
  for (const step of options.steps) {
    if (step.kind === 'image-based') {
      flush();
      const settings = options.imageBased!;
      const outcome = await runImageBased(
        table,
        pool,
        current,
        settings,
        options.embeddings!,
        gather!,
        options.json,
        fs,
      );
      current = outcome.rows;
      steps.push({
        kind: 'image-based',
        clusters: outcome.clusters,
        iterations: outcome.iterations,
        targetClusters: outcome.targetClusters,
        kept: current.length,
        threshold: null,
      });
      continue;
    }
    if (step.kind !== 'normsim-d') {
      segment.push(step);
      continue;
    }
    flush();
    const settings = options.normSimD!;
    const outcome = await runNormSimD(table, current, poolSize, settings, options.embeddings!, gather!, options.json);
    current = outcome.rows;
    steps.push({
      kind: 'normsim-d',
      final: settings.final,
      iterations: settings.iterations,
      schedule: settings.schedule,
      sample: settings.sample ?? null,
      kept: current.length,
      threshold: outcome.threshold,
    });
  }
  flush();
  const uids = sortUids(gatherUids(table.uids, current), { unique: true });

  const inputs = [...files, ...(options.givenUids !== undefined ? [options.givenUids] : [])];
  // Left by a command killed mid-write (SIGKILL) into the same directory.
  await removeStaleTemporariesBeside(options.out);
  await writeFileAtomic(options.out, encodeSubsetFile(uids), { force: options.force, inputs });
  return {
    scoreFiles: files.length,
    pool: poolSize,
    given: given ? { uids: uidCount(sortUids(given, { unique: true })), matchedRows: pool.length } : null,
    steps,
    keptRows: current.length,
    uids: uidCount(uids),
    out: options.out,
  };
}

/**
 * Inputs given as signed URLs (a query string: presigned S3, CDN tokens): the score inputs, --given-uids,
 * --metadata, --embeddings, --image-based-target and --image-based-centroids, known by their paths and read at
 * their URLs (io/remote.ts signedInputs), so no name or message carries the query.
 * @throws {UsageError} with --queue: its workers on other hosts get the files' paths, not their signatures
 */
function withSignedUrls(options: SelectOptions): { options: SelectOptions; fs: FileSystem } {
  const groups = [
    options.inputs,
    options.givenUids === undefined ? [] : [options.givenUids],
    options.metadata,
    options.embeddings?.dirs ?? [],
    options.imageBased?.targets ?? [],
    options.imageBased?.centroids ?? [],
  ];
  const { fs, paths, signed } = signedInputs(nodeFileSystem, groups.flat());
  if (!signed) return { options, fs };
  if (options.queue !== undefined)
    throw new UsageError(
      '--queue takes no signed URLs (with a query string): its workers are given the paths without the signature; give s3:// URLs',
    );
  const starts = groups.map((_, k) => groups.slice(0, k).reduce((n, group) => n + group.length, 0));
  const [inputs, givenUids, metadata, dirs, targets, centroids] = groups.map((group, k) =>
    paths.slice(starts[k], starts[k]! + group.length),
  );
  const known: SelectOptions = { ...options, inputs: inputs!, metadata: metadata! };
  if (options.givenUids !== undefined) known.givenUids = givenUids![0]!;
  if (options.embeddings) known.embeddings = { ...options.embeddings, dirs: dirs! };
  if (options.imageBased) {
    known.imageBased = { ...options.imageBased, targets: targets! };
    if (options.imageBased.centroids) known.imageBased.centroids = centroids!;
  }
  return { options: known, fs };
}

/** The uids of --given-uids, when given. */
async function readGivenUids(options: SelectOptions, fs: FileSystem): Promise<Uint32Array | undefined> {
  return options.givenUids === undefined ? undefined : readSubsetFileAt(options.givenUids, fs);
}

/**
 * select over score files without uids (clip-retrieval keys: src/cli/select-keys.ts); undefined, having
 * written nothing, when the score files have uids.
 */
async function selectWithoutUids(options: SelectOptions, inputs: ScoreInputs): Promise<SelectSummary | undefined> {
  if (options.inputs.length === 0) return undefined;
  const keyNames = await uidlessKeyColumns(countedOnce(inputs.listed), inputs.open);
  if (!keyNames) return undefined;
  const files = countedOnce(inputs.listed, (text) => {
    if (!options.json) process.stderr.write(`clipsift select: note: ${text}\n`);
  });
  await checkScoreFiles(files, options.partial, inputs.open);
  return runKeySelect(options, files, keyNames, inputs.open);
}

/**
 * Whether the run needs only --top/--min steps over one set of score files: those run in bounded
 * memory (streamSelect), in passes over the files. --join, --metadata, --normsim-d and --image-based
 * read the whole table (the README says so).
 */
export function streamable(options: Pick<SelectOptions, 'join' | 'metadata' | 'steps'>): boolean {
  return (
    !options.join && options.metadata.length === 0 && options.steps.every((s) => s.kind === 'top' || s.kind === 'min')
  );
}

/** select by passes over the score files: exact, memory bounded by the kept uids (src/select/streaming.ts). */
async function runStreamingSelect(options: SelectOptions, scoreInputs: ScoreInputs): Promise<SelectSummary> {
  const steps = options.steps.filter((s): s is SelectionStep => s.kind === 'top' || s.kind === 'min');
  const columns = [...new Set(steps.map((s) => s.column))];
  const note = (text: string) => {
    if (!options.json) process.stderr.write(`clipsift select: note: ${text}\n`);
  };
  const { listed, open } = scoreInputs;
  const files = countedOnce(listed, note);
  await checkScoreFiles(files, options.partial, open);
  const given = await readGivenUids(options, scoreInputs.fs);
  // Kept uids in sorted runs: in memory up to --memory-budget, then spilled to temporary files.
  const store = new SpillingRunStore(options.memoryBudgetMiB * 1024 * 1024);
  let distinct = 0;
  let selection: Awaited<ReturnType<typeof streamSelect>>;
  // --queue: the passes before the last as jobs on the workers (src/cluster/select-passes.ts).
  let queued: Awaited<ReturnType<typeof import('../cluster/select-passes.js').queueSelectPasses>> | undefined;
  try {
    if (options.queue !== undefined) {
      const { queueSelectPasses } = await import('../cluster/select-passes.js');
      queued = await queueSelectPasses(parseRedisUrl(options.queue), files, { open });
    }
    selection = await streamSelect(scoreFilePasses(files, columns, 0, open), steps, {
      ...(given ? { givenUids: given } : {}),
      ...(queued ? { runPass: queued.runPass } : {}),
      runStore: store,
    });
    if (store.spilled > 0)
      note(
        `the kept uids passed --memory-budget ${options.memoryBudgetMiB} MiB: ${store.spilled} sorted runs spilled to disk`,
      );
    // Merge the sorted runs twice: once to count the distinct uids (the .npy header holds the count),
    // once to write them, so the subset streams out and is never held whole a second time.
    for await (const chunk of mergeUidRunChunks(store.runs())) distinct += uidCount(chunk);
    async function* subsetChunks(): AsyncGenerator<Uint8Array> {
      yield encodeSubsetHeader(distinct);
      for await (const chunk of mergeUidRunChunks(store.runs())) yield encodeSubsetRecords(chunk);
    }
    const inputs = [...files, ...(options.givenUids !== undefined ? [options.givenUids] : [])];
    // Left by a command killed mid-write (SIGKILL) into the same directory.
    await removeStaleTemporariesBeside(options.out);
    await writeChunksAtomic(options.out, subsetChunks(), { force: options.force, inputs });
  } finally {
    store.close();
    await queued?.close();
  }
  return {
    scoreFiles: files.length,
    pool: selection.summary.poolSize,
    given: selection.summary.given ?? null,
    steps: selection.summary.steps.map((s) => {
      // The decimal the fraction was written as is an input detail, not part of the summary.
      const { decimal: _decimal, ...step } = s.step as SelectionStep & { decimal?: string };
      return { ...step, kept: s.kept, threshold: s.threshold };
    }),
    keptRows: selection.keptRows,
    uids: distinct,
    out: options.out,
  };
}

/**
 * NormSim_2-D over the uids of `rows`: their image embeddings are gathered by uid, the final size is
 * ⌊poolSize·final⌋ (at most the distinct uids), and the rows whose uid survives are returned.
 */
async function runNormSimD(
  table: SelectTable,
  rows: Uint32Array,
  poolSize: number,
  settings: NormSimDSettings,
  embeddings: ImageEmbeddings,
  gather: ImageGatherer,
  quiet: boolean,
): Promise<{ rows: Uint32Array; threshold: number | null }> {
  const uids = sortUids(gatherUids(table.uids, rows), { unique: true });
  const finalSize = Math.min(uidCount(uids), floorTimes(poolSize, settings.finalDecimal ?? settings.final));
  const images = await gather(uids);
  if (images.rows === 0) return { rows: new Uint32Array(0), threshold: null };
  const engine = await createEngine({ threads: threadsForWork(embeddings.threads, images.rows) });
  const progress = new Progress({ label: 'NormSim_2-D', total: settings.iterations, unit: 'rounds', quiet });
  try {
    // Rows are in uid order, so NormSim_2-D's default tie-break (row index) is the uid order.
    const result = await normSim2D(engine, images, {
      finalSize,
      iterations: settings.iterations,
      schedule: settings.schedule,
      seed: settings.seed,
      ...(settings.sample !== undefined ? { sampleFraction: settings.sample } : {}),
      onIteration: (t) => progress.set(t),
    });
    const kept = gatherUids(uids, result.rows);
    // Rows of `rows` whose uid is kept (kept is sorted and unique, as uids was).
    return { rows: rows.filter((row) => findUid(kept, table.uids, row) >= 0), threshold: result.threshold };
  } finally {
    progress.finish();
    await engine.close();
  }
}

/**
 * The table the steps run over: the score files (concatenated, or joined by uid with --join), and
 * the --metadata columns the steps use that no score file has, joined by uid.
 */
async function readSelectTable(
  options: SelectOptions,
  columns: string[],
  scoreInputs: ScoreInputs,
): Promise<{ table: SelectTable; files: string[] }> {
  const { listed, open } = scoreInputs;
  const groups = options.inputs.length === 0 ? [] : options.join ? listed.map((files) => [files]) : [listed];
  const note = (text: string) => {
    if (!options.json) process.stderr.write(`clipsift select: note: ${text}\n`);
  };
  const groupFiles: string[][] = [];
  for (const group of groups) {
    const files = countedOnce(group, note);
    // One run's files pool together (joined inputs are separate runs, e.g. of two architectures).
    await checkScoreFiles(files, options.partial, open);
    groupFiles.push(files);
  }
  // Each column comes from the first input whose score files have it, else from the metadata.
  const available = await Promise.all(
    groupFiles.map((files) => withScoreFile(open, files[0]!, (scores) => scores.scoreColumns)),
  );
  const wanted: string[][] = groups.map(() => []);
  const fromMetadata: string[] = [];
  for (const column of columns) {
    const at = available.findIndex((names) => names.includes(column));
    if (at >= 0) wanted[at]!.push(column);
    else if (options.metadata.length > 0) fromMetadata.push(column);
    else wanted[0]!.push(column); // read to fail with the file's list of score columns
  }
  const inputs: JoinInput[] = [];
  for (const [k, files] of groupFiles.entries()) {
    const name = options.join ? options.inputs[k]! : options.inputs.join(', ');
    inputs.push({ name, table: await readScoreFiles(files, wanted[k]!, open) });
  }
  const metadataFiles: string[] = [];
  if (options.metadata.length > 0 && (fromMetadata.length > 0 || inputs.length === 0)) {
    for (const dir of options.metadata) metadataFiles.push(...(await metadataParquets(dir, scoreInputs.fs)));
    inputs.push({
      name: options.metadata.join(', '),
      table: await readMetadataColumns(metadataFiles, fromMetadata, (name) => scoreInputs.fs.open(name)),
      lenient: inputs.length > 0,
    });
  }
  const files = [...groupFiles.flat(), ...metadataFiles];
  if (inputs.length === 1) return { table: inputs[0]!.table, files };
  try {
    return { table: joinByUid(inputs), files };
  } catch (error) {
    throw new InputError(inputs.map((i) => i.name).join(' + '), (error as Error).message);
  }
}

/** The DataComp metadata parquets of a directory (`<shard>.parquet`), sorted; score files are not metadata. */
async function metadataParquets(dir: string, fs: FileSystem): Promise<string[]> {
  const kind = await pathKindIn(fs, dir);
  if (kind === 'missing') throw new InputError(dir, 'no such file or directory');
  if (kind === 'file') return [dir];
  const names = (await fs.list(dir))
    .filter((name) => name.endsWith('.parquet') && !name.endsWith(SCORE_FILE_SUFFIX) && !name.startsWith('.'))
    .sort();
  if (names.length === 0) throw new InputError(dir, 'holds no .parquet metadata files');
  return names.map((name) => joinPath(dir, name));
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
      ? `top ${s.column} ${pct(s.fraction)}${s.rounding === 'datacomp' ? ' (DataComp rounding)' : ''}`
      : s.kind === 'min'
        ? `min ${s.column} ≥ ${s.value}`
        : s.kind === 'image-based'
          ? `image-based: ${counted(s.targetClusters, 'cluster')} of ${formatCount(s.clusters)} nearest the target (${s.iterations ? counted(s.iterations, 'k-means round') : 'given centroids'})`
          : `NormSim_2-D to ${pct(s.final)} (${s.iterations} rounds${s.schedule === 'official' ? ' on the official schedule' : ''}, ${s.sample === null ? 'exact' : `sampled ${pct(s.sample)}`})`,
  );
  const width = Math.max(0, ...labels.map((l) => l.length));
  summary.steps.forEach((s, k) => {
    const threshold = s.threshold === null ? '' : `   threshold ${Number(s.threshold.toPrecision(6))}`;
    lines.push(
      `  ${k + 1}. ${labels[k]!.padEnd(width)}  ${formatCount(s.kept).padStart(11)} ${s.kept === 1 ? 'row ' : 'rows'} kept${threshold}`,
    );
  });
  if (summary.keys)
    lines.push(
      `wrote ${summary.keys.files.join(' and ')}: ${counted(summary.keys.kept, 'key')} (${summary.keys.columns.join(', ')})`,
    );
  else lines.push(`wrote ${summary.out}: ${counted(summary.uids, 'uid')}`);
  return lines.join('\n');
}

/**
 * What --dry-run prints: the command with presets expanded, and the steps in order. A signed URL is shown
 * by its path and `?…`: its query is a credential.
 */
export function formatPlan(options: SelectOptions): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
  // An argument (or an --option=value's value) that is a signed URL, as its path and `?…`.
  const unsigned = (arg: string) => {
    const at = arg.startsWith('--') ? arg.indexOf('=') + 1 : 0;
    const [path] = signedInputs(nodeFileSystem, [arg.slice(at)]).paths;
    return path === arg.slice(at) ? arg : `${arg.slice(0, at)}${path}?…`;
  };
  const lines = [
    `clipsift select ${options.expanded
      .filter((a) => a !== '--dry-run')
      .map((a) => quote(unsigned(a)))
      .join(' ')}`,
  ];
  const centroids = (options.imageBased?.centroids ?? []).map(unsigned);
  const targets = (options.imageBased?.targets ?? []).map(unsigned);
  options.steps.forEach((step, k) => {
    const text =
      step.kind === 'top'
        ? `keep the top ${step.rounding === 'datacomp' ? 'int(N·f)+1 rows and ties (DataComp rounding)' : '⌊N·f⌋ rows'} by ${step.column}, f = ${step.fraction}`
        : step.kind === 'min'
          ? `keep rows with ${step.column} ≥ ${step.value}`
          : step.kind === 'image-based'
            ? `keep rows whose ${options.imageBased!.centroids ? `centroid of ${centroids.join(', ')}` : `k-means cluster (${options.imageBased!.clusters} clusters of the pool's image embeddings, ${options.imageBased!.iterations} rounds, seed ${options.imageBased!.seed})`} is the nearest of some image of ${targets.join(', ')}`
            : `NormSim_2-D down to ⌊N·${options.normSimD!.final}⌋ rows (${options.normSimD!.iterations} rounds, ${options.normSimD!.schedule} schedule, ${options.normSimD!.sample === undefined ? 'exact' : `sampled ${options.normSimD!.sample}`})`;
    lines.push(`  ${k + 1}. ${text}`);
  });
  lines.push('  (N: the pool, all rows or the --given-uids rows)');
  return lines.join('\n');
}

async function run(argv: string[]): Promise<number> {
  const options = parseSelectOptions(argv);
  if (options.dryRun) {
    process.stdout.write(`${formatPlan(options)}\n`);
    return 0;
  }
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
