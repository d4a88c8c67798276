/**
 * Issue 6 item 3: `clipsift score` killed with SIGKILL part way through a multi-shard run loses
 * nothing. The re-run keeps the finished score files, scores the rest, removes the temporaries a kill
 * can leave, and ends with files byte-identical to an uninterrupted run. Runs bin/clipsift.js as a
 * child process (dist/ must be built).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, makeDataCompDir, runChild, tempDir } from './helpers.js';

const SHARDS = ['s0', 's1', 's2', 's3'];
/** Enough work per shard (about a second on one thread) that the kill lands between the first and last shard. */
const WORK = ['--threads', '1', '--batch-size', '400', '--repeats', '4'];

function scoreFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.scores.parquet'))
    .sort();
}

/** Starts the CLI and SIGKILLs it as soon as the first score file exists; resolves to the files then present. */
function killAfterFirstScoreFile(args: string[], out: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: 'ignore' });
    let present: string[] = [];
    const poll = setInterval(() => {
      try {
        present = scoreFiles(out);
      } catch {
        return; // --out not created yet
      }
      if (present.length > 0) {
        child.kill('SIGKILL');
        clearInterval(poll);
      }
    }, 5);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      if (signal !== 'SIGKILL') reject(new Error(`the run ended by itself (code ${code}) before it could be killed`));
      else resolve(present);
    });
  });
}

describe('clipsift score after SIGKILL', () => {
  it('resumes to files byte-identical to an uninterrupted run, with no temporaries left', async () => {
    const { dir } = makeDataCompDir(
      SHARDS.map((name, i) => ({ name, rows: 1000, seed: 100 + i, compressed: i % 2 === 1 })),
    );
    const full = join(tempDir(), 'full');
    const uninterrupted = await runChild(process.execPath, [BIN, 'score', dir, '--out', full, ...WORK, '--quiet']);
    expect(uninterrupted.stderr).toBe('');
    expect(uninterrupted.code).toBe(0);
    expect(scoreFiles(full)).toEqual(SHARDS.map((s) => `${s}.scores.parquet`));

    const out = join(tempDir(), 'killed');
    const args = ['score', dir, '--out', out, ...WORK, '--quiet'];
    const atKill = await killAfterFirstScoreFile(args, out);
    expect(atKill.length).toBeGreaterThan(0);
    const afterKill = scoreFiles(out);
    expect(afterKill.length, 'the kill should land before the last shard').toBeLessThan(SHARDS.length);
    // Every file present after the kill is already whole: identical to the uninterrupted run's.
    for (const name of afterKill)
      expect(readFileSync(join(out, name)).equals(readFileSync(join(full, name))), name).toBe(true);

    // What a kill between write and rename leaves: a temporary of a process that no longer exists.
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const stale = `.s3.scores.parquet.${deadPid}.0badf00d.tmp`;
    writeFileSync(join(out, stale), 'half a parquet file');

    const resumed = await runChild(process.execPath, [BIN, ...args]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      new RegExp(`in ${SHARDS.length - afterKill.length} shards?.*; ${afterKill.length} already up to date`),
    );
    expect(scoreFiles(out)).toEqual(SHARDS.map((s) => `${s}.scores.parquet`));
    expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    for (const shard of SHARDS) {
      const name = `${shard}.scores.parquet`;
      expect(readFileSync(join(out, name)).equals(readFileSync(join(full, name))), name).toBe(true);
    }
  }, 120_000);
});
