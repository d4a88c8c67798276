/**
 * Score files as `select` reads them: opened once each (scoreFileCache), and the passes over them for the
 * streaming select (src/select/streaming.ts), what `select` reads locally and what a `select --queue` job
 * reads of its one file.
 */
import type { FileSystem } from '../io/file-system.js';
import { nodeFileSystem } from '../io/node-files.js';
import { openScoreFile, type ScoreFile } from '../io/score-file.js';
import type { ScoreBlock, ScorePasses } from '../select/streaming.js';

/** A score file with its footer read, and how to let go of its descriptor (reading again reopens it). */
export interface OpenedScoreFile {
  scores: ScoreFile;
  release(): Promise<void>;
}

/** Opens a score file (its footer read) for one use. */
export type ScoreFileOpener = (file: string) => Promise<OpenedScoreFile>;

/**
 * Opens the score file at a path or URL, reading its footer, in `fs` (default: the local disk and URLs;
 * io/remote.ts signedInputs for signed URLs).
 * @throws {InputError} naming the file when it is missing or not a readable parquet file
 */
export async function openScoreFileAt(file: string, fs: FileSystem = nodeFileSystem): Promise<OpenedScoreFile> {
  const source = await fs.open(file);
  try {
    return { scores: await openScoreFile(source), release: async () => source.close?.() };
  } catch (error) {
    await source.close?.();
    throw error;
  }
}

/** How many opened score files scoreFileCache keeps: ~11 KiB each for 10k-row shards, ~41 KiB at 1M rows. */
export const CACHED_SCORE_FILES = 2048;

/**
 * An opener that opens each file once (a HEAD and the footer's GET for a URL) and hands out that opening
 * again on every later use, however many checks and passes read the file. No descriptor is held between
 * uses: each use ends with release(), and the next read reopens the file. The first `limit` files opened
 * are kept for the opener's life; past them (a pool of more files) a file is opened again at every use,
 * so the footers held stay bounded (tens of MiB) however many files the pool has.
 */
export function scoreFileCache(
  limit = CACHED_SCORE_FILES,
  openAt: ScoreFileOpener = (file) => openScoreFileAt(file),
): ScoreFileOpener {
  const opened = new Map<string, Promise<OpenedScoreFile>>();
  return (file) => {
    let found = opened.get(file);
    if (found) return found;
    if (opened.size >= limit) return openAt(file);
    found = openAt(file).then(async (first) => {
      await first.release();
      return first;
    });
    opened.set(file, found);
    return found;
  };
}

/** Rows per block a pass hands to the selection: whole row groups, coalesced up to about this many. */
const BLOCK_ROWS = 1 << 16;

/** Runs `use` on the score file `open` gives for `file`, then releases it. */
export async function withScoreFile<T>(
  open: ScoreFileOpener,
  file: string,
  use: (scores: ScoreFile) => T | Promise<T>,
): Promise<T> {
  const { scores, release } = await open(file);
  try {
    return await use(scores);
  } finally {
    await release();
  }
}

/**
 * Passes over score files for the streaming select: each pass opens the files in order and yields
 * their row groups (coalesced into blocks) with the asked-for score columns and, when asked, uids.
 * The next block is read while the current one is processed. Rows are numbered from `firstRow` (a file
 * of a larger pool: the rows before it). `open` opens each file for a pass (default: afresh every pass;
 * scoreFileCache reads each footer once for all of them).
 * @throws {InputError} naming the file when the uid or a score column is missing or a score is not a number
 */
export function scoreFilePasses(
  files: string[],
  stepColumns: string[],
  firstRow = 0,
  open: ScoreFileOpener = openScoreFileAt,
): ScorePasses {
  async function* blocks(columns: readonly string[], withUids: boolean): AsyncGenerator<ScoreBlock> {
    let start = firstRow;
    let next: Promise<ScoreBlock> | undefined;
    for (const file of files) {
      const { scores, release } = await open(file);
      try {
        const ranges: [number, number][] = [];
        let rowStart = 0;
        let rowEnd = 0;
        for (const group of scores.rowGroups) {
          rowEnd += group;
          if (rowEnd - rowStart >= BLOCK_ROWS) {
            ranges.push([rowStart, rowEnd]);
            rowStart = rowEnd;
          }
        }
        if (rowEnd > rowStart) ranges.push([rowStart, rowEnd]);
        // Check the uid and every step's column (reading no rows), so a bad file fails the first pass.
        await scores.readRows(stepColumns, { rowStart: 0, rowEnd: 0, withUids: true });
        const load = async ([from, to]: [number, number]): Promise<ScoreBlock> => {
          const read = await scores.readRows(columns, { rowStart: from, rowEnd: to, withUids });
          const block: ScoreBlock = { start: start + from, rows: to - from, columns: read.columns };
          if (read.uids) block.uids = read.uids;
          return block;
        };
        next = ranges.length > 0 ? load(ranges[0]!) : undefined;
        for (let k = 0; k < ranges.length; k++) {
          const current = await next!;
          next = k + 1 < ranges.length ? load(ranges[k + 1]!) : undefined;
          next?.catch(() => undefined); // awaited on the next round; not an unhandled rejection meanwhile
          yield current;
        }
        start += scores.rows;
      } finally {
        // A pass left early (an error, or describeRows done) may have a read ahead in flight: let it end
        // before closing, or it would reopen the file after the close and leave the descriptor to the GC.
        await next?.catch(() => undefined);
        next = undefined;
        await release();
      }
    }
  }
  return blocks;
}
