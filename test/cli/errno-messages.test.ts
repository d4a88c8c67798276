// File-system errors come out as one line naming the file asked for (not raw errno text, not the temporary),
// and a binary uid is shown as hex, not as a list of byte values.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/io/errors.js';
import { parseUids } from '../../src/io/uid.js';
import { makeUids, runCli, writeScoreFile } from '../select/cli-fixtures.js';
import { makeDataCompDir, tempDir } from './helpers.js';

/** A 64 KiB tmpfs, where the machine lets us mount one (root in CI); undefined elsewhere. */
function tinyDisk(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = join(tempDir('clipsift-disk-'), 'mnt');
  mkdirSync(dir);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  return mounted.status === 0 ? dir : undefined;
}
const disk = tinyDisk();
afterAll(() => {
  if (disk) spawnSync('umount', [disk]);
});

describe('file-system errors as one line naming the file', () => {
  it('score --out naming an existing file: one line naming --out', async () => {
    const { dir } = makeDataCompDir([{ name: '00000000', rows: 4, seed: 1 }]);
    const out = join(tempDir(), 'taken');
    writeFileSync(out, 'a file, not a directory');
    const result = await runCli(['score', dir, '--out', out, '--threads', '1', '--quiet']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`clipsift score: ${out}: is a file; --out names the directory the score files go to\n`);
  });

  it.skipIf(!disk)('select onto a full disk: ENOSPC naming the subset file, no temporary left', async () => {
    const scores = tempDir();
    const uids = makeUids(20_000, 5);
    writeScoreFile(join(scores, 'a.scores.parquet'), uids, { clip_score: Float32Array.from(uids, (_, i) => i) });
    const out = join(disk!, 'subset.npy');
    const result = await runCli(['select', scores, '--out', out, '--top', 'clip_score:1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`clipsift select: ${out}: cannot be written: no space left on the device (ENOSPC)\n`);
    expect(readdirSync(disk!)).toEqual([]);
  });

  it.skipIf(!disk)('select onto a read-only file system: EROFS naming the subset file', async () => {
    const scores = tempDir();
    const uids = makeUids(10, 6);
    writeScoreFile(join(scores, 'a.scores.parquet'), uids, { clip_score: Float32Array.from(uids, (_, i) => i) });
    expect(spawnSync('mount', ['-o', 'remount,ro', disk!]).status).toBe(0);
    try {
      const out = join(disk!, 'subset.npy');
      const result = await runCli(['select', scores, '--out', out, '--top', 'clip_score:1']);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`clipsift select: ${out}: cannot be written: the file system is read-only (EROFS)\n`);
    } finally {
      spawnSync('mount', ['-o', 'remount,rw', disk!]);
    }
  });
});

describe('binary uids', () => {
  it('a 16-byte binary uid is shown as 32 hex characters', () => {
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    let caught: unknown;
    try {
      parseUids([bytes], 'meta.parquet');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message).toBe(
      'meta.parquet row 0 field uid: uid is 16 bytes of binary (00112233445566778899aabbccddeeff), not 32 hex characters; store uids as strings',
    );
  });
});
