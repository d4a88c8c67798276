/**
 * Small things that looked broken (issue 14): a closed pipe, --out naming a file, URL arguments, the same
 * input given twice, and the library's 'clipsift:' prefix doubled in the command's error line.
 */
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { supportsRelaxedSimd } from '../../src/engine/features.js';
import { encodeNpy } from '../../src/io/npy.js';
import { BIN, makeDataCompDir, readScoreFile, runChild, runInProcess, tempDir } from './helpers.js';

/** Runs the CLI with stdout read until the first chunk arrives, then closed, as `| head -1` does. */
function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('a closed stdout', () => {
  it('ends `clipsift inspect … | head` quietly, without a stack trace', async () => {
    // Many small files: inspect writes a line per file, so writes keep coming after the reader left.
    const dir = tempDir();
    for (let i = 0; i < 300; i++)
      writeFileSync(
        join(dir, `e${String(i).padStart(3, '0')}.npy`),
        encodeNpy(new Float32Array(4 * 8).fill(i), [4, 8]),
      );
    const result = await runIntoClosedPipe(['inspect', dir, '--quiet']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('--out naming an existing file', () => {
  it('says it must be a directory instead of a raw EEXIST', async () => {
    const { dir } = makeDataCompDir([{ name: 's0', rows: 8, seed: 1 }]);
    const file = join(tempDir(), 'taken');
    writeFileSync(file, 'x');
    const result = await runInProcess(['score', dir, '--out', file, '--quiet', '--threads', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`clipsift score: ${file}: is a file; --out names the directory the score files go to\n`);
  });
});

describe('URL arguments', () => {
  // s3://, https:// and http:// are read (test/cli/remote.test.ts, against local servers); other schemes are refused.
  it.each([
    ['score', 'gs://bucket/shards/', '--out', 'x'],
    ['score', 'some/dir', '--target=ftp://example.com/target.npy', '--out', 'x'],
    ['select', 'file:///tmp/scores/', '--top', 'clip_score:0.5', '--out', 'x.npy'],
    ['inspect', 'GS://bucket/file.npy'],
  ])('%s %s … names the schemes that are read', async (...argv) => {
    const result = await runInProcess(argv);
    const url = argv.find((a) => a.includes('://'))!.replace(/^--target=/, '');
    const scheme = url.slice(0, url.indexOf(':'));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `clipsift ${argv[0]}: ${url}: ${scheme}:// URLs are not read; give an s3://, https:// or http:// URL or a local path\n`,
    );
  });
});

describe('the same input twice in score', () => {
  it('scores each shard once and says which argument repeated another', async () => {
    const { dir } = makeDataCompDir([
      { name: 's0', rows: 8, seed: 1 },
      { name: 's1', rows: 8, seed: 2 },
    ]);
    const out = tempDir();
    const result = await runInProcess(['score', dir, `${dir}/`, join(dir, 's0.npz'), '--out', out, '--quiet']);
    expect(result.stderr).toBe(
      `clipsift score: warning: ${dir}/ names shards s0, s1 again (already in ${dir}); each shard is scored once\n` +
        `clipsift score: warning: ${join(dir, 's0.npz')} names shard s0 again (already in ${dir}); each shard is scored once\n`,
    );
    expect(result.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      '_stats.json',
      's0.scores.parquet',
      's0.stats.json',
      's1.scores.parquet',
      's1.stats.json',
    ]);
    expect((await readScoreFile(join(out, 's0.scores.parquet'))).rows).toHaveLength(8);
  });

  it('also through another spelling of the same directory', async () => {
    const { dir } = makeDataCompDir([{ name: 's0', rows: 8, seed: 1 }]);
    const out = tempDir();
    const result = await runChild(process.execPath, [BIN, 'score', dir, '.', '--out', out, '--quiet'], { cwd: dir });
    expect(result.stderr).toBe(
      `clipsift score: warning: . names shard s0 again (already in ${dir}); each shard is scored once\n`,
    );
    expect(result.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['_stats.json', 's0.scores.parquet', 's0.stats.json']);
  });
});

describe("the engine's errors", () => {
  it.skipIf(supportsRelaxedSimd())(
    "are printed once prefixed: 'clipsift score: simd …', not 'clipsift score: clipsift: …'",
    async () => {
      const { dir } = makeDataCompDir([{ name: 's0', rows: 8, seed: 1 }]);
      // Node 20 without --experimental-wasm-relaxed-simd cannot compile relaxed SIMD.
      const result = await runChild(process.execPath, [BIN, 'score', dir, '--out', tempDir(), '--simd', 'relaxed']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^clipsift score: simd 'relaxed' was asked for, but this runtime \(node\)/);
      expect(result.stderr).not.toContain('clipsift: ');
    },
  );
});
