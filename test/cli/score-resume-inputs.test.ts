/**
 * Resume notices changed data (issue 14): a shard rewritten with its rows shuffled (same size), or a target
 * swapped for another of the same size, is scored again without --force, giving exactly the files a fresh
 * run gives; and a resume with another kernel variant than the finished files stops, naming it.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  makeDataCompDir,
  readScoreFile,
  runChild,
  runInProcess,
  tempDir,
  writeDataCompShard,
  writeTarget,
} from './helpers.js';

const BASE = ['--batch-size', '16', '--repeats', '2', '--simd', 'baseline', '--quiet', '--threads', '1'];

function sameBytes(a: string, b: string): boolean {
  return readFileSync(a).equals(readFileSync(b));
}

describe('score resumes only over unchanged data', () => {
  it('re-scores a shard rewritten with its rows shuffled at the same size, without --force', async () => {
    const { dir, shards } = makeDataCompDir([
      { name: 's0', rows: 40, seed: 1 },
      { name: 's1', rows: 40, seed: 2 },
    ]);
    const out = tempDir();
    expect((await runInProcess(['score', dir, '--out', out, ...BASE])).code).toBe(0);
    const before = readFileSync(join(out, 's1.scores.parquet'));
    const size = statSync(join(dir, 's0.npz')).size;

    // Same rows, other order: every byte count stays, the uids and embeddings move together.
    const order = Array.from({ length: 40 }, (_, i) => (i * 7) % 40);
    const m = shards[0]!.matrices;
    const shuffle = (bits: Uint16Array, dim: number) => {
      const out = new Uint16Array(bits.length);
      order.forEach((from, to) => {
        out.set(bits.subarray(from * dim, (from + 1) * dim), to * dim);
      });
      return out;
    };
    writeDataCompShard(dir, {
      name: 's0',
      rows: 40,
      seed: 1,
      uids: order.map((i) => shards[0]!.uids[i]!),
      edit: (x) => {
        x.l14_img.set(shuffle(m.l14_img, 768));
        x.l14_txt.set(shuffle(m.l14_txt, 768));
        x.b32_img.set(shuffle(m.b32_img, 512));
        x.b32_txt.set(shuffle(m.b32_txt, 512));
      },
    });
    expect(statSync(join(dir, 's0.npz')).size).toBe(size);

    const again = await runInProcess(['score', dir, '--out', out, ...BASE]);
    expect(again.code).toBe(0);
    // The npz kept its size; its content fingerprint (the zip's CRC-32s) is what changed.
    expect(again.stderr).toMatch(
      new RegExp(
        `^clipsift score: warning: ${join(out, 's0.scores.parquet')}: s0\\.npz changed content; s0\\.parquet changed (size|content).* since it was written; scoring s0 again\n$`,
      ),
    );
    expect(again.stdout).toMatch(/scored 40 rows in 1 shard .*; 1 already up to date/);
    expect(readFileSync(join(out, 's1.scores.parquet')).equals(before)).toBe(true);
    // Exactly what a fresh run over the rewritten shard writes.
    const fresh = tempDir();
    expect((await runInProcess(['score', dir, '--out', fresh, ...BASE])).code).toBe(0);
    expect(sameBytes(join(out, 's0.scores.parquet'), join(fresh, 's0.scores.parquet'))).toBe(true);
    const file = await readScoreFile(join(out, 's0.scores.parquet'));
    expect(file.rows.map((r) => r.uid)).toEqual(order.map((i) => shards[0]!.uids[i]));
    const parameters = JSON.parse(file.metadata['clipsift.parameters']!);
    expect(parameters.inputs.map((f: { fingerprint: string }) => f.fingerprint)).toEqual([
      expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
    ]);

    const third = await runInProcess(['score', dir, '--out', out, ...BASE]);
    expect(third.stdout).toMatch(/all 2 score files .* are up to date/);
  });

  it('re-scores when the target is swapped for another file of the same size', async () => {
    const { dir } = makeDataCompDir([{ name: 's0', rows: 24, seed: 3 }]);
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 10, 768, 4);
    const out = tempDir();
    const args = ['score', dir, '--out', out, '--target', target, ...BASE];
    expect((await runInProcess(args)).code).toBe(0);
    const size = statSync(target).size;
    writeTarget(target, 10, 768, 5);
    expect(statSync(target).size).toBe(size);

    const again = await runInProcess(args);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe(
      `clipsift score: warning: ${join(out, 's0.scores.parquet')}: the target target.npy changed content since it was written; scoring s0 again\n`,
    );
    const fresh = tempDir();
    expect((await runInProcess(['score', dir, '--out', fresh, '--target', target, ...BASE])).code).toBe(0);
    expect(sameBytes(join(out, 's0.scores.parquet'), join(fresh, 's0.scores.parquet'))).toBe(true);
  });

  it('stops a resume that would mix kernel variants, naming the variant to pass', async () => {
    const { dir } = makeDataCompDir([
      { name: 's0', rows: 24, seed: 6 },
      { name: 's1', rows: 24, seed: 7 },
    ]);
    const out = tempDir();
    const baseline = ['--batch-size', '16', '--repeats', '2', '--quiet', '--threads', '1'];
    expect(
      (await runInProcess(['score', join(dir, 's0.npz'), '--out', out, '--simd', 'baseline', ...baseline])).code,
    ).toBe(0);
    // The rest of the pool on a "machine" with relaxed SIMD (Node 20 with the V8 flag), --simd auto.
    const relaxed = await runChild(process.execPath, [
      '--experimental-wasm-relaxed-simd',
      BIN,
      'score',
      dir,
      '--out',
      out,
      ...baseline,
    ]);
    expect(relaxed.code).toBe(1);
    expect(relaxed.stderr).toBe(
      `clipsift score: ${join(out, 's0.scores.parquet')}: exists with other parameters: kernel variant baseline ≠ relaxed (pass --simd baseline to resume with the same kernels); pass --force to overwrite, or use another --out\n`,
    );
    const pinned = await runChild(process.execPath, [
      '--experimental-wasm-relaxed-simd',
      BIN,
      'score',
      dir,
      '--out',
      out,
      '--simd',
      'baseline',
      ...baseline,
    ]);
    // (Node's own warning about a file handle closed on GC is issue 15's fd leak, not this test's subject.)
    expect(pinned.stderr).not.toContain('clipsift score');
    expect(pinned.code).toBe(0);
    expect(pinned.stdout).toMatch(/scored 24 rows in 1 shard .*; 1 already up to date/);
    expect((await readScoreFile(join(out, 's1.scores.parquet'))).metadata['clipsift.engine']).toBe('baseline');
  });
});
