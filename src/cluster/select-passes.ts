/**
 * `clipsift select --queue`: the streaming select's passes before the last (src/select/streaming.ts),
 * one BullMQ job per score file on the score queue, run by the existing `clipsift worker`s through the
 * same sandboxed processor. Each job runs runFilePass over its one file (rows numbered as in the whole
 * pool) and returns the plain result; the submitter merges the results exactly as the local select does.
 * Node-only adapter.
 */
import { randomUUID } from 'node:crypto';
import { openScoreFileAt, type ScoreFileOpener, scoreFilePasses, withScoreFile } from '../pipeline/score-passes.js';
import { clipsiftVersion } from '../pipeline/version.js';
import { decodePass, encodePass, type FilePassResult, type PassRunner, runFilePass } from '../select/streaming.js';
import { scoreJobOptions, type RedisLocation } from './queue.js';
import { pollJobs } from './poll.js';
import { connectScoreQueue } from './submit.js';

/** A select pass over one score file. */
export interface SelectPassJobData {
  kind: 'select-pass';
  file: string;
  /** The pool row of the file's first row. */
  firstRow: number;
  /** The pass, as encodePass wrote it. */
  pass: string;
  clipsiftVersion: string;
}

/** True for the jobs of `select --queue`. */
export function isSelectPassJob(data: unknown): data is SelectPassJobData {
  return typeof data === 'object' && data !== null && (data as { kind?: unknown }).kind === 'select-pass';
}

/** Runs one select pass job in a worker (src/cluster/processor.ts dispatches here). */
export async function runSelectPassJob(data: SelectPassJobData): Promise<FilePassResult> {
  if (data.clipsiftVersion !== clipsiftVersion())
    throw new Error(
      `this worker runs clipsift ${clipsiftVersion()} but the select was submitted with clipsift ${data.clipsiftVersion}`,
    );
  const pass = decodePass(data.pass);
  return runFilePass(pass, scoreFilePasses([data.file], pass.columns, data.firstRow));
}

/** A pass runner that sends every pass to the workers, and closes its queue connection. */
export interface QueuedPasses {
  runPass: PassRunner;
  close(): Promise<void>;
}

/**
 * Opens the queue for the passes over `files` (rows counted from their footers). A job that fails ends
 * the select with the job's error as the local select would have thrown it (one try: an unreadable file
 * stays unreadable; a worker that dies mid-job has its job taken over by BullMQ's stall check).
 */
export async function queueSelectPasses(
  location: RedisLocation,
  files: string[],
  options: { pollMs?: number; open?: ScoreFileOpener } = {},
): Promise<QueuedPasses> {
  const firstRows: number[] = [];
  let rows = 0;
  for (const file of files) {
    firstRows.push(rows);
    rows += await withScoreFile(options.open ?? openScoreFileAt, file, (scores) => scores.rows);
  }
  const queue = await connectScoreQueue(location);
  const id = randomUUID();
  let passes = 0;
  const pollMs = options.pollMs ?? 100;
  const runPass: PassRunner = async (pass) => {
    const number = passes++;
    const ids = files.map((_, k) => `select-${id}-${number}-${k}`);
    const text = encodePass(pass);
    const jobOf = (k: number) => ({
      name: `select ${pass.kind} ${files[k]}`,
      data: {
        kind: 'select-pass',
        file: files[k]!,
        firstRow: firstRows[k]!,
        pass: text,
        clipsiftVersion: clipsiftVersion(),
      } satisfies SelectPassJobData as never,
      opts: { ...scoreJobOptions(ids[k]!, 1), removeOnFail: { age: 24 * 3600 } },
    });
    await queue.addBulk(files.map((_, k) => jobOf(k)));
    const verdict = await pollJobs(
      queue,
      () => ids,
      async (states) => {
        const each = ids.map((job) => states.get(job));
        // Jobs gone from Redis (restarted without its data): the same ids again.
        const lost = each.flatMap((state, k) => (state === 'unknown' ? [jobOf(k)] : []));
        if (lost.length > 0) await queue.addBulk(lost);
        const failed = each.indexOf('failed');
        if (failed >= 0) return { failed };
        return each.every((state) => state === 'completed') ? { failed: -1 } : undefined;
      },
      { pollMs },
    );
    if (verdict.failed >= 0) {
      const job = await queue.getJob(ids[verdict.failed]!);
      throw new Error(job?.failedReason ?? `the select job of ${files[verdict.failed]} failed`);
    }
    const results: FilePassResult[] = [];
    for (const job of ids) results.push((await queue.getJob(job))!.returnvalue as unknown as FilePassResult);
    await Promise.all(ids.map((job) => queue.remove(job)));
    return results;
  };
  return { runPass, close: () => queue.close().catch(() => undefined) };
}
