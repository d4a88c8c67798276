/**
 * Sorted runs of kept uids for the streaming select, held in memory up to a budget and spilled to
 * temporary files past it (Node only: the select layer sees only the UidRunStore interface). Spilled
 * runs are read back in chunks for the merge, so the memory of the merge is one chunk per run.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { OutputError } from '../io/errors.js';
import { trackTemporary, untrackTemporary, writeErrorProblem } from '../io/node-files.js';
import { UID_WORDS } from '../io/uid.js';
import type { UidRunStore } from '../select/streaming.js';
import { isRunning } from './stale-temporaries.js';

/** Uids per chunk when a spilled run is read back (256 KiB: one per run is held during the merge). */
const READ_UIDS = 16384;

/** The spill directory of process <pid>: `clipsift-runs-<pid>-<6 random characters>` (mkdtemp's suffix). */
const RUN_DIR = /^clipsift-runs-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Removes the spill directories in `parent` whose select is gone (killed with SIGKILL, or a lost
 * machine: nothing else leaves one behind). A directory is removed only when the process its name
 * carries no longer runs; names without a pid (older clipsift) and anything else are left alone.
 * @returns the names removed
 */
export function removeStaleRunDirs(parent: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = RUN_DIR.exec(name);
    if (!match || isRunning(Number(match[1]))) continue;
    try {
      rmSync(join(parent, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Someone else's, or already gone: not ours to insist on.
    }
  }
  return removed;
}

/**
 * A UidRunStore that keeps runs in memory up to `budgetBytes`, then writes each further run to a file
 * in its own directory of `parent`, named by this process's id. Making that directory first removes
 * those of selects that were killed (removeStaleRunDirs).
 */
export class SpillingRunStore implements UidRunStore {
  private readonly memory: Uint32Array[] = [];
  private readonly files: { path: string; uids: number }[] = [];
  private memoryBytes = 0;
  private dir: string | undefined;

  /** `parent`: where the temporary directory of spilled runs is made (default: the OS temporary directory). */
  constructor(
    private readonly budgetBytes: number,
    private readonly parent: string = tmpdir(),
  ) {}

  /** Runs written to disk so far. */
  get spilled(): number {
    return this.files.length;
  }

  async add(run: Uint32Array): Promise<void> {
    if (this.memoryBytes + run.byteLength <= this.budgetBytes) {
      this.memory.push(run);
      this.memoryBytes += run.byteLength;
      return;
    }
    if (this.dir === undefined) {
      removeStaleRunDirs(this.parent);
      this.dir = mkdtempSync(join(this.parent, `clipsift-runs-${process.pid}-`));
      trackTemporary(this.dir);
    }
    const path = join(this.dir, `run-${this.files.length}.u32`);
    try {
      await writeFile(path, new Uint8Array(run.buffer, run.byteOffset, run.byteLength));
    } catch (error) {
      const problem = writeErrorProblem(error);
      if (problem) throw new OutputError(path, `cannot be written (a sorted run of kept uids): ${problem}`);
      throw error;
    }
    this.files.push({ path, uids: run.length / UID_WORDS });
  }

  /** Every run, as chunks in order: the ones in memory whole, the spilled ones read back piece by piece. */
  runs(): (Iterable<Uint32Array> | AsyncIterable<Uint32Array>)[] {
    return [...this.memory.map((run) => [run]), ...this.files.map((file) => readRun(file.path, file.uids))];
  }

  /** Removes the spilled runs. */
  close(): void {
    if (this.dir) {
      rmSync(this.dir, { recursive: true, force: true });
      untrackTemporary(this.dir);
    }
    this.dir = undefined;
  }
}

async function* readRun(path: string, uids: number): AsyncGenerator<Uint32Array> {
  const handle = await open(path, 'r');
  try {
    for (let at = 0; at < uids; at += READ_UIDS) {
      const count = Math.min(READ_UIDS, uids - at);
      const chunk = new Uint32Array(count * UID_WORDS);
      const bytes = new Uint8Array(chunk.buffer);
      for (let filled = 0; filled < bytes.length; ) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, at * UID_WORDS * 4 + filled);
        if (bytesRead === 0) throw new Error(`${path}: a spilled run ended early`);
        filled += bytesRead;
      }
      yield chunk;
    }
  } finally {
    await handle.close();
  }
}
