/**
 * A select ended by SIGINT or SIGTERM while its kept uids are spilled removes its spill directory; one
 * killed with SIGKILL leaves it in $TMPDIR (nothing runs to remove it). The next select that spills removes it, because the process its name
 * carries is gone, and leaves alone a directory of a process that still runs, one without a pid (older
 * clipsift) and anything else; its own directory is gone when it ends, and its subset is the one a
 * select without spilling writes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeUids, tempDir, writeScoreFile } from '../select/cli-fixtures.js';
import { BIN, ROOT, rng } from './helpers.js';

const children = new Set<ChildProcess>();
afterEach(async () => {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  children.clear();
});

/** Runs the built CLI with TMPDIR set; resolves to its exit code (or signal) and stderr. */
function select(args: string[], tmp: string) {
  const child = spawn(process.execPath, [BIN, 'select', ...args], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, ended };
}

/** Score files big enough that a select spilling every file's kept uids runs for a while. */
function writePool(files: number, rows: number): string {
  const next = rng(31);
  const dir = tempDir();
  for (let f = 0; f < files; f++) {
    const uids = makeUids(rows, 100 + f);
    writeScoreFile(join(dir, `${String(f).padStart(8, '0')}.scores.parquet`), uids, {
      negclip_loss: Float32Array.from(uids, () => next()),
    });
  }
  return dir;
}

async function until(what: string, predicate: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Starts a select that spills every kept uid (`--memory-budget 0`) into `tmp` and resolves once its
 * first sorted run is on disk; `mine` tells its spill directory's name from any other.
 */
async function spillingSelect(args: string[], tmp: string, out: string) {
  const victim = select([...args, '--memory-budget', '0', '--out', out], tmp);
  const pid = victim.child.pid!;
  const mine = (name: string) => name.startsWith(`clipsift-runs-${pid}-`);
  await until(
    'a spilled run',
    () => readdirSync(tmp).some((n) => mine(n) && readdirSync(join(tmp, n)).length > 0),
    60_000,
  );
  return { victim, mine };
}

describe('select spill directories of killed selects', { timeout: 120_000 }, () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`a select ended by ${signal} while spilled removes its spill directory and ends by the signal`, async () => {
      const pool = writePool(24, 20_000);
      const tmp = tempDir();
      const { victim, mine } = await spillingSelect([pool, '--top', 'negclip_loss:0.9'], tmp, join(tmp, 'x.npy'));
      victim.child.kill(signal);
      const ended = await victim.ended;
      expect(ended.signal, ended.stderr).toBe(signal);
      expect(readdirSync(tmp).filter(mine)).toEqual([]);
    });
  }

  it('the next spilling select removes the one a SIGKILLed select left, and only that', async () => {
    const pool = writePool(24, 20_000);
    const steps = ['--top', 'negclip_loss:0.9'];
    const tmp = tempDir();
    const out = tempDir();

    // Killed as soon as its first run is on disk: the merge and the subset are still to come.
    const { victim, mine } = await spillingSelect([pool, ...steps], tmp, join(out, 'killed.npy'));
    victim.child.kill('SIGKILL');
    const killed = await victim.ended;
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const left = readdirSync(tmp).filter(mine);
    expect(left).toHaveLength(1);

    // A directory of a process that runs (this test's), one without a pid, and an unrelated one.
    const alive = `clipsift-runs-${process.pid}-a1B2c3`;
    const older = 'clipsift-runs-Xy12zW';
    for (const name of [alive, older, 'unrelated']) mkdirSync(join(tmp, name));

    const reference = select([pool, ...steps, '--out', join(out, 'reference.npy')], tempDir());
    const next = select([pool, ...steps, '--memory-budget', '0', '--out', join(out, 'next.npy')], tmp);
    const [a, b] = await Promise.all([reference.ended, next.ended]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/sorted runs spilled to disk/);
    expect(existsSync(join(tmp, left[0]!))).toBe(false);
    expect(readdirSync(tmp).sort()).toEqual([alive, older, 'unrelated'].sort());
    expect(readFileSync(join(out, 'next.npy')).equals(readFileSync(join(out, 'reference.npy')))).toBe(true);
  });
});
