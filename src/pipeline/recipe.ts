/**
 * `clipsift run`: the paper's recipe as one run that scores NormSim only where it can still matter.
 *
 * select runs its steps in order, each over the rows the earlier ones kept, with fractions of the whole
 * pool. So the steps before the first one that needs NormSim (the "cheap" steps, on the negCLIPLoss score
 * files' columns) fix a set of survivors, and every later step only ever looks at survivors: NormSim is
 * needed for them alone. This module splits the steps, runs the cheap ones over the score files (the
 * threshold step, src/select's own steps), and, once NormSim of the survivors is written, runs the rest
 * and writes the subset file as select writes it. Nothing here selects differently from select: both
 * call runTableSteps on the same table.
 *
 * Files, all under the run's --out:
 *   <out>/<shard>.scores.parquet           the negCLIPLoss score files (uid, clip_score, negclip_loss), exactly
 *                                          what `clipsift score` without --target writes, reused on a re-run
 *   <out>/<normsim column>/<shard>.scores.parquet
 *                                          NormSim of that shard's survivors only (uid, normsim_<p>), a score
 *                                          file with the run's parameters and the target's identity; a re-run
 *                                          whose survivors it covers does not compute it again
 */
import { join } from 'node:path';
import { InputError } from '../io/errors.js';
import { openFileSource, writeFileAtomic } from '../io/node-files.js';
import {
  CLIP_SCORE_COLUMN,
  checkScoreFileSet,
  concatScoreTables,
  NEGCLIP_LOSS_COLUMN,
  openScoreFile,
  readScoreTable,
  scoreFileName,
  type ScoreFileMetadata,
  type ScoreTable,
} from '../io/score-file.js';
import { encodeSubsetFile } from '../io/subset-file.js';
import { formatUid, sortUids, uidCount } from '../io/uid.js';
import { allRows, type SelectionStep, type StepOutcome } from '../select/steps.js';
import { gatherUids, runTableSteps } from '../select/table.js';
import { thresholdCuts, type ShardSpans, type StepCut } from './survivors.js';

/** The columns of the negCLIPLoss score files: what the cheap first steps may use. */
export const CHEAP_COLUMNS: readonly string[] = [CLIP_SCORE_COLUMN, NEGCLIP_LOSS_COLUMN];

/** The steps of a run, split where NormSim is first needed. */
export interface RecipeSteps {
  /** The steps before the first one on the NormSim column: they need the negCLIPLoss score files only. */
  cheap: SelectionStep[];
  /** The first step on the NormSim column and every step after it: they see the survivors only. */
  rest: SelectionStep[];
}

/**
 * Splits `steps` at the first step on `normSim` (the column the run's --target and --p give; null
 * without a target). Refuses, with the reason, what run cannot do exactly or should not do at all: a
 * column neither cheap nor `normSim`, a target no step uses, a NormSim step without a target, and a
 * first step on NormSim (every row would need it: that is score + select).
 */
export function splitRecipeSteps(steps: readonly SelectionStep[], normSim: string | null): RecipeSteps {
  if (steps.length === 0) throw new Error('nothing to select: give at least one --top or --min');
  for (const step of steps) {
    if (CHEAP_COLUMNS.includes(step.column) || step.column === normSim) continue;
    const known = [...CHEAP_COLUMNS, ...(normSim ? [normSim] : [])].join(', ');
    throw new Error(
      step.column.startsWith('normsim_')
        ? normSim
          ? `step column ${step.column} is not the NormSim this run computes (${normSim}, from --p); run scores one NormSim`
          : `step column ${step.column} needs NormSim: give --target`
        : `step column ${step.column} is not one run computes (${known}); for other columns use clipsift score, then clipsift select`,
    );
  }
  const first = steps.findIndex((s) => s.column === normSim);
  if (normSim && first < 0)
    throw new Error(
      `--target is given but no step uses ${normSim}; drop --target, or add a step such as --top ${normSim}:0.2`,
    );
  if (first === 0)
    throw new Error(
      `the first step is on ${normSim}, so every row would need NormSim and run saves nothing: put a negclip_loss or clip_score step first, or use clipsift score --target, then clipsift select`,
    );
  return first < 0 ? { cheap: [...steps], rest: [] } : { cheap: steps.slice(0, first), rest: steps.slice(first) };
}

/** The directory of a run's NormSim-on-survivors files. */
export function survivorDir(out: string, column: string): string {
  return join(out, column);
}

/** The run's shards, as the threshold and subset steps see them: names and the score files' paths. */
export interface RunFiles {
  /** Shard names; the table's order is that of their score file names (as select lists a directory). */
  shards: string[];
  out: string;
}

/** Score files in the order select reads a directory: by file name. */
function orderedShards(files: RunFiles): string[] {
  return [...files.shards].sort((a, b) => {
    const x = scoreFileName(a);
    const y = scoreFileName(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The uids and `columns` of the run's negCLIPLoss score files, checked as select checks them. */
async function readRunTable(
  files: RunFiles,
  columns: readonly string[],
): Promise<{ table: ScoreTable; spans: ShardSpans; paths: string[] }> {
  const names = orderedShards(files);
  const paths = names.map((name) => join(files.out, scoreFileName(name)));
  const parts: ScoreTable[] = [];
  const described: ScoreFileMetadata[] = [];
  for (const path of paths) {
    const source = await openFileSource(path);
    try {
      const file = await openScoreFile(source);
      described.push({ name: path, metadata: file.metadata });
      parts.push(await file.readTable(columns));
    } finally {
      await source.close();
    }
  }
  checkScoreFileSet(described);
  return {
    table: concatScoreTables(parts, columns),
    spans: { names, rows: parts.map((p) => uidCount(p.uids)) },
    paths,
  };
}

/** What the threshold step found. */
export interface ThresholdResult {
  /** Rows in the pool (N). */
  pool: number;
  /** Rows that survive the cheap steps: NormSim is computed for these alone. */
  survivors: number;
  /** Per shard, the cuts that pick its survivors (pipeline/survivors.ts). */
  cuts: Record<string, StepCut[]>;
  /** Survivors per shard. */
  survivorsPerShard: Record<string, number>;
}

/**
 * The threshold step: the cheap steps over the whole pool of negCLIPLoss score files, as select runs them,
 * and the per-shard cuts that reproduce their survivors.
 */
export async function thresholdStep(files: RunFiles, steps: RecipeSteps): Promise<ThresholdResult> {
  const columns = [...new Set(steps.cheap.map((s) => s.column))];
  const { table, spans } = await readRunTable(files, columns);
  const pool = allRows(uidCount(table.uids));
  // The real run of the steps (its NaN checks, its result), then step by step for each step's cut.
  const survivors = runTableSteps(table, steps.cheap, pool, pool.length).rows;
  const stages = [pool];
  for (const step of steps.cheap)
    stages.push(runTableSteps(table, [step], stages[stages.length - 1]!, pool.length).rows);
  const last = stages[stages.length - 1]!;
  if (last.length !== survivors.length || last.some((row, k) => row !== survivors[k]))
    throw new Error('internal error: the steps one by one keep other rows than all at once');
  const cuts = thresholdCuts(
    table.uids,
    steps.cheap.map((s) => ({ name: s.column, values: table.columns[s.column]! })),
    stages,
    spans,
  );
  const survivorsPerShard: Record<string, number> = {};
  let start = 0;
  let at = 0;
  spans.names.forEach((name, s) => {
    const end = start + spans.rows[s]!;
    let count = 0;
    while (at < survivors.length && survivors[at]! < end) {
      at++;
      count++;
    }
    survivorsPerShard[name] = count;
    start = end;
  });
  return { pool: pool.length, survivors: survivors.length, cuts: Object.fromEntries(cuts), survivorsPerShard };
}

/** One line of the run's summary: a step and what it kept (select's summary lines). */
export type RunStepOutcome = Omit<SelectionStep, 'decimal'> & { kept: number; threshold: number | null };

/** What the subset step wrote. */
export interface SubsetResult {
  scoreFiles: number;
  pool: number;
  steps: RunStepOutcome[];
  keptRows: number;
  uids: number;
  out: string;
  /** Rows NormSim was computed for (the survivors of the cheap steps). */
  normSimRows: number;
}

/**
 * The subset step: the cheap steps again over the negCLIPLoss score files, the rest over their survivors
 * with NormSim read from the survivor files, and the kept uids written as a DataComp subset file, as
 * select writes it.
 * @throws {InputError} naming a survivor file that lacks a survivor's NormSim
 */
export async function subsetStep(
  files: RunFiles,
  steps: RecipeSteps,
  normSim: string | null,
  out: { path: string; force: boolean },
): Promise<SubsetResult> {
  const columns = [...new Set([...steps.cheap, ...steps.rest].map((s) => s.column))].filter((c) => c !== normSim);
  const { table, spans, paths } = await readRunTable(files, columns);
  const poolRows = allRows(uidCount(table.uids));
  const n = poolRows.length;
  const outcomes: StepOutcome[] = [];
  const first = runTableSteps(table, steps.cheap, poolRows, n);
  outcomes.push(...first.summary.steps);
  let current = first.rows;
  const survivorFiles: string[] = [];
  if (steps.rest.length > 0) {
    // NormSim of the survivors; NaN elsewhere, where no step looks (steps only see the rows kept so far).
    const values = new Float32Array(n).fill(Number.NaN);
    let start = 0;
    let at = 0;
    for (const [s, name] of spans.names.entries()) {
      const end = start + spans.rows[s]!;
      const rows: number[] = [];
      while (at < current.length && current[at]! < end) rows.push(current[at++]!);
      if (rows.length > 0) {
        const path = join(survivorDir(files.out, normSim!), scoreFileName(name));
        survivorFiles.push(path);
        const stored = await readSurvivorFile(path, normSim!);
        for (const row of rows) {
          const uid = formatUid(table.uids, row);
          const value = stored.get(uid);
          if (value === undefined)
            throw new InputError(
              path,
              `has no ${normSim} for uid ${uid}, a survivor of ${name}; run clipsift run again`,
            );
          values[row] = value;
        }
      }
      start = end;
    }
    const second = runTableSteps(
      { uids: table.uids, columns: { ...table.columns, [normSim!]: values } },
      steps.rest,
      current,
      n,
    );
    outcomes.push(...second.summary.steps);
    current = second.rows;
  }
  const uids = sortUids(gatherUids(table.uids, current), { unique: true });
  await writeFileAtomic(out.path, encodeSubsetFile(uids), { force: out.force, inputs: [...paths, ...survivorFiles] });
  return {
    scoreFiles: paths.length,
    pool: n,
    steps: outcomes.map(({ step, kept, threshold }) => {
      const { decimal: _decimal, ...rest } = step as SelectionStep & { decimal?: string };
      return { ...rest, kept, threshold };
    }),
    keptRows: current.length,
    uids: uidCount(uids),
    out: out.path,
    normSimRows: steps.rest.length > 0 ? first.rows.length : 0,
  };
}

/** uid → NormSim of a survivor file. */
async function readSurvivorFile(path: string, column: string): Promise<Map<string, number>> {
  const source = await openFileSource(path);
  try {
    const { uids, columns } = await readScoreTable(source, [column]);
    const values = columns[column]!;
    const map = new Map<string, number>();
    for (let row = 0; row < uidCount(uids); row++) map.set(formatUid(uids, row), values[row]!);
    return map;
  } finally {
    await source.close();
  }
}
