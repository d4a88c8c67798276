// Temporaries of atomic writes never outlive their process: SIGINT/SIGTERM remove them on the spot, and a
// SIGKILL's leftovers are removed by the next command writing into that directory, whatever file they were for.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeUids, readSubsetUids, runCli, writeScoreFile } from '../select/cli-fixtures.js';
import { removeStaleTemporariesBeside } from '../../src/cli/stale-temporaries.js';
import { ROOT, tempDir } from './helpers.js';

const NODE_FILES = join(ROOT, 'dist/lib/io/node-files.js');

/** Starts a process writing `megabytes` through writeFileAtomic, signals it once its temporary exists. */
async function signalDuringWrite(
  signal: 'SIGINT' | 'SIGTERM',
  megabytes: number,
): Promise<{ seen: boolean; exit: string | number | null; left: string[] }> {
  const dir = tempDir('clipsift-tmp-');
  const script = `import { writeFileAtomic } from ${JSON.stringify(NODE_FILES)};
    const bytes = new Uint8Array(${megabytes} << 20).fill(7);
    for (let i = 0; i < 50; i++) await writeFileAtomic(${JSON.stringify(join(dir, 'subset.npy'))}, bytes, { force: true });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const exited = new Promise<string | number | null>((resolve) =>
    child.once('exit', (code, sig) => resolve(sig ?? code)),
  );
  let seen = false;
  // Bounded: at most ~20 s of polling.
  for (let i = 0; i < 4000 && child.exitCode === null && child.signalCode === null; i++) {
    if (readdirSync(dir).some((name) => name.endsWith('.tmp'))) {
      seen = true;
      child.kill(signal);
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  if (!seen) child.kill('SIGKILL');
  const exit = await exited;
  return { seen, exit, left: readdirSync(dir).filter((name) => name.endsWith('.tmp')) };
}

describe('temporaries', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s during a write removes the temporary and still ends the process',
    async (signal) => {
      const outcome = await signalDuringWrite(signal, 64);
      expect(outcome.seen).toBe(true);
      expect(outcome.exit).toBe(signal);
      expect(outcome.left).toEqual([]);
    },
  );

  it("select and subset remove a killed writer's leftovers in their output directory, of any file", async () => {
    const dir = tempDir('clipsift-stale-');
    const uids = makeUids(10, 4);
    writeScoreFile(join(dir, 'a.scores.parquet'), uids, { clip_score: Float32Array.from(uids, (_, i) => i) });
    const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const stale = [`.subset.npy.${deadPid}.0badf00d.tmp`, `.other.npy.${deadPid}.12345678.tmp`];
    // A temporary of a process that still runs (this one) is someone's write in progress: left alone.
    const live = `.busy.npy.${process.pid}.aaaaaaaa.tmp`;
    for (const name of [...stale, live]) writeFileSync(join(dir, name), 'half a file');

    const out = join(dir, 'subset.npy');
    const selected = await runCli(['select', dir, '--out', out, '--top', 'clip_score:0.5']);
    expect(selected.code, selected.stderr).toBe(0);
    expect(readSubsetUids(out)).toHaveLength(5);
    for (const name of stale) expect(existsSync(join(dir, name)), name).toBe(false);
    expect(existsSync(join(dir, live))).toBe(true);

    const again = `.combined.npy.${deadPid}.deadbeef.tmp`;
    writeFileSync(join(dir, again), 'half a file');
    const combined = await runCli(['subset', 'union', out, out, '--out', join(dir, 'combined.npy')]);
    expect(combined.code, combined.stderr).toBe(0);
    expect(existsSync(join(dir, again))).toBe(false);

    // What both (and run, and select's kept-key lists) call: the directory of the file to write, not for URLs.
    const third = `.keys.txt.${deadPid}.0000beef.tmp`;
    writeFileSync(join(dir, third), 'half a file');
    expect(await removeStaleTemporariesBeside('s3://bucket/keys.txt')).toEqual([]);
    expect(existsSync(join(dir, third))).toBe(true);
    expect(await removeStaleTemporariesBeside(join(dir, 'keys.txt'))).toEqual([third]);
    expect(existsSync(join(dir, live))).toBe(true);
  });
});
