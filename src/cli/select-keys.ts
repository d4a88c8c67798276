/**
 * `clipsift select` over score files without uids: clip-retrieval folders scored with their rows named
 * by `--key-column`, or by file and row. The steps are the same (src/select/steps.ts), ties are ordered
 * by key, and the kept rows' keys are written as a parquet of the key columns and a plain text list
 * (src/io/key-file.ts), since there is no DataComp uid to put in a subset .npy.
 */
import { stat } from 'node:fs/promises';
import { InputError, OutputError } from '../io/errors.js';
import { concatKeyColumn, encodeKeyList, encodeKeyParquet, gatherKeyColumn } from '../io/key-file.js';
import type { KeyColumns } from '../io/layouts.js';
import { writeFileAtomic } from '../io/node-files.js';
import { UID_COLUMN } from '../io/score-file.js';
import { openScoreFileAt, type ScoreFileOpener, withScoreFile } from '../pipeline/score-passes.js';
import type { SelectionStep } from '../select/steps.js';
import { runKeyedSteps } from '../select/table.js';
import { UsageError } from './args.js';
import type { SelectOptions, SelectSummary } from './select.js';
import { removeStaleTemporariesBeside } from './stale-temporaries.js';

/**
 * The key columns of score files that have no uid column; undefined when the first file has uids.
 * @throws {InputError} naming the file when later files have uids or other key columns than the first
 */
export async function uidlessKeyColumns(
  files: readonly string[],
  open: ScoreFileOpener = openScoreFileAt,
): Promise<string[] | undefined> {
  let first: { file: string; keys: string[] | undefined } | undefined;
  for (const file of files) {
    const keys = await withScoreFile(open, file, (scores) =>
      scores.keyColumns.includes(UID_COLUMN) ? undefined : scores.keyColumns,
    );
    if (keys?.length === 0) throw new InputError(file, 'has no uid column and no other key column naming its rows');
    // Score files with uids: the uid path reads them (and names any file without a uid), so the rest
    // of the footers are not read here first (they may be many, or remote).
    if (!first && !keys) return undefined;
    if (!first) first = { file, keys };
    else if (String(keys) !== String(first.keys)) {
      const describe = (k: string[] | undefined) => (k ? `rows keyed by ${k.join(', ')}` : 'uids');
      throw new InputError(
        file,
        `has ${describe(keys)} but ${first.file} has ${describe(first.keys)}; select from score files of one kind`,
      );
    }
  }
  return first?.keys;
}

/** Where the kept keys go, from --out's extension: name.parquet (and name.txt beside it), or name.txt alone. */
export function keyOutputs(out: string, keyNames: readonly string[]): { parquet?: string; text: string } {
  if (out.endsWith('.parquet')) return { parquet: out, text: `${out.slice(0, -'.parquet'.length)}.txt` };
  if (out.endsWith('.txt')) return { text: out };
  throw new UsageError(
    `the score files have no uid column (rows are named by ${keyNames.join(', ')}), so there is no DataComp subset to write: give --out <name>.parquet (the kept keys, and the same list as <name>.txt) or --out <name>.txt`,
  );
}

/**
 * Runs the score steps over score files without uids and writes the kept keys, in score-file order.
 * --given-uids, --normsim-d, --join and --metadata match rows by uid and are refused, saying so.
 */
export async function runKeySelect(
  options: SelectOptions,
  files: readonly string[],
  keyNames: readonly string[],
  open: ScoreFileOpener = openScoreFileAt,
): Promise<SelectSummary> {
  const byUid =
    options.givenUids !== undefined
      ? '--given-uids'
      : options.steps.some((s) => s.kind === 'normsim-d')
        ? '--normsim-d'
        : options.steps.some((s) => s.kind === 'image-based')
          ? '--image-based'
          : options.join
            ? '--join'
            : options.metadata.length > 0
              ? '--metadata'
              : undefined;
  if (byUid)
    throw new UsageError(`${byUid} matches rows by uid, and these score files name rows by ${keyNames.join(', ')}`);
  const outputs = keyOutputs(options.out, keyNames);
  if (outputs.parquet && !options.force && (await exists(outputs.text)))
    throw new OutputError(outputs.text, 'already exists; refusing to overwrite it without --force');

  const steps = options.steps.filter((s): s is SelectionStep => s.kind !== 'normsim-d' && s.kind !== 'image-based');
  const columns = [...new Set(steps.map((s) => s.column))];
  const keyParts: KeyColumns[] = [];
  const scoreParts: Record<string, Float32Array>[] = [];
  for (const file of files) {
    await withScoreFile(open, file, async (scores) => {
      keyParts.push(await scores.readKeys());
      scoreParts.push(await scores.readScores(columns));
    });
  }
  const keys: KeyColumns = {};
  for (const name of keyNames) keys[name] = concatKeyColumn(keyParts.map((part) => part[name]!));
  const rowCount = keys[keyNames[0]!]!.length;
  const scores: Record<string, Float32Array> = {};
  for (const column of columns) {
    const joined = new Float32Array(rowCount);
    let at = 0;
    for (const part of scoreParts) {
      joined.set(part[column]!, at);
      at += part[column]!.length;
    }
    scores[column] = joined;
  }
  const { rows, summary } = runKeyedSteps(keys, scores, steps);
  const kept: KeyColumns = {};
  for (const name of keyNames) kept[name] = gatherKeyColumn(keys[name]!, rows);

  let list: Uint8Array;
  try {
    list = encodeKeyList(kept);
  } catch (error) {
    throw new InputError(files.join(', '), (error as Error).message);
  }
  const write = { force: options.force, inputs: [...files] };
  // Left by a command killed mid-write (SIGKILL) into the same directory.
  await removeStaleTemporariesBeside(options.out);
  if (outputs.parquet) await writeFileAtomic(outputs.parquet, encodeKeyParquet(kept), write);
  await writeFileAtomic(outputs.text, list, write);
  return {
    scoreFiles: files.length,
    pool: summary.poolSize,
    given: null,
    steps: summary.steps.map((s) => {
      // The decimal the fraction was written as is an input detail, not part of the summary.
      const { decimal: _decimal, ...step } = s.step as SelectionStep & { decimal?: string };
      return { ...step, kept: s.kept, threshold: s.threshold };
    }),
    keptRows: rows.length,
    uids: 0,
    keys: {
      columns: [...keyNames],
      kept: rows.length,
      files: outputs.parquet ? [outputs.parquet, outputs.text] : [outputs.text],
    },
    out: options.out,
  };
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
