/**
 * `clipsift score` takes what the page takes (test/cli/input-cases.ts, dropped on the page in
 * test/web/demo.test.ts): clip-retrieval files given flat score exactly as the same files in a
 * clip-retrieval folder; a plain image/text pair (with or without a metadata parquet) scores exactly
 * as the engine scores the arrays with the shard named after the image file, and within float32
 * rounding of the float64 reference; what is refused is refused in one line naming the file.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, deriveSeed } from 'clipsift';
import { clipRetrievalFolder, fashionRows, FASHION, writeInputCases } from './input-cases.js';
import { readSubsetUids } from '../select/cli-fixtures.js';
import { readScoreFile, referenceClipScore, runInProcess, tempDir, widen, writeParquet } from './helpers.js';

const cases = writeInputCases(tempDir('clipsift-inputs-'));

async function scoreColumns(path: string): Promise<Record<string, Uint32Array | unknown[]>> {
  const file = await readScoreFile(path);
  const bits = (column: string) => new Uint32Array(Float32Array.from(file.rows, (r) => r[column] as number).buffer);
  return {
    columns: file.columns,
    clip_score: bits('clip_score'),
    negclip_loss: bits('negclip_loss'),
  };
}

describe('clipsift score on the inputs the page takes', () => {
  it('scores clip-retrieval files given flat, and a flat folder, as the clip-retrieval folder', async () => {
    const folder = clipRetrievalFolder();
    const flat = cases.find((c) => c.title === 'clip-retrieval files given flat')!;
    const outs: Record<string, unknown>[] = [];
    for (const inputs of [[folder], flat.inputs, [flat.dir]]) {
      const out = join(tempDir(), 'scores');
      const result = await runInProcess(['score', ...inputs, '--out', out, '--threads', '1', '--quiet']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      outs.push(await scoreColumns(join(out, 'shard_0.scores.parquet')));
    }
    expect(outs[0]!.columns).toEqual(['file', 'row', 'clip_score', 'negclip_loss']);
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);
  });

  for (const input of cases.filter((c) => c.shard && c.shard !== 'shard_0')) {
    it(`scores ${input.title} as one shard named after the image file`, async () => {
      const out = join(tempDir(), 'scores');
      const result = await runInProcess(['score', ...input.inputs, '--out', out, '--threads', '1', '--quiet']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const got = await scoreColumns(join(out, `${input.shard}.scores.parquet`));
      expect(got.columns).toEqual(['file', 'row', 'clip_score', 'negclip_loss']);

      const img = { data: fashionRows('img_emb_0.npy'), rows: 9, dim: 512 };
      const txt = { data: fashionRows('text_emb_0.npy'), rows: 9, dim: 512 };
      const engine = await createEngine({ threads: 1, simd: 'baseline' });
      try {
        const clip = await engine.clipScore(img, txt);
        const negclip = await engine.negClipLoss(img, txt, {
          batchSize: 32768,
          temperature: 0.01,
          repeats: 10,
          seed: deriveSeed(0, input.shard!),
        });
        expect(got.clip_score).toEqual(new Uint32Array(clip.buffer));
        expect(got.negclip_loss).toEqual(new Uint32Array(negclip.buffer));
      } finally {
        await engine.close();
      }
      const reference = referenceClipScore(widen(img.data), widen(txt.data), 512);
      const values = new Float32Array((got.clip_score as Uint32Array).buffer);
      values.forEach((v, i) => {
        expect(Math.abs(v - reference[i]!)).toBeLessThan(2e-6);
      });
    });
  }

  it("names a pair's rows by the uid column of its metadata with --key-column uid, so select writes a subset", async () => {
    const dir = tempDir('clipsift-pair-');
    copyFileSync(join(FASHION, 'img_emb_0.npy'), join(dir, 'pool_img.npy'));
    copyFileSync(join(FASHION, 'text_emb_0.npy'), join(dir, 'pool_txt.npy'));
    const uids = Array.from(
      { length: 9 },
      (_, i) => `${(i * 7919).toString(16).padStart(16, '0')}${'0'.repeat(15)}${i}`,
    );
    writeParquet(join(dir, 'pool.parquet'), uids);
    const out = join(tempDir(), 'scores');
    const scored = await runInProcess(['score', dir, '--out', out, '--key-column', 'uid', '--threads', '1', '--quiet']);
    expect(scored.stderr).toBe('');
    expect(scored.code).toBe(0);
    const file = await readScoreFile(join(out, 'pool_img.scores.parquet'));
    expect(file.columns).toEqual(['uid', 'clip_score', 'negclip_loss']);
    expect(file.rows.map((r) => r.uid)).toEqual(uids);
    const subset = join(tempDir(), 'subset.npy');
    const selected = await runInProcess(['select', out, '--top', 'clip_score:0.5', '--out', subset]);
    expect(selected.code).toBe(0);
    // The top ⌊9·0.5⌋ by clip_score, read back from the .npy's (u64 hi, u64 lo) records, sorted.
    const want = [...file.rows]
      .sort((a, b) => (b.clip_score as number) - (a.clip_score as number))
      .slice(0, 4)
      .map((r) => r.uid as string)
      .sort();
    expect(readSubsetUids(subset)).toEqual(want);
  });

  for (const input of cases.filter((c) => c.error)) {
    it(`refuses ${input.title} in one line naming the file`, async () => {
      const out = join(tempDir(), 'scores');
      const result = await runInProcess(['score', ...input.inputs, '--out', out, '--quiet']);
      expect(result.code).toBe(1);
      expect(result.stderr.split(`${input.dir}/`).join('')).toBe(`clipsift score: ${input.error}\n`);
    });
  }
});
