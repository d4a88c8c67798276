/**
 * `clipsift score` takes what the page takes (test/cli/input-cases.ts, dropped on the page in
 * test/web/demo.test.ts): clip-retrieval files given flat score exactly as the same files in a
 * clip-retrieval folder; a plain image/text pair (with or without a metadata parquet) scores exactly
 * as the engine scores the arrays with the shard named after the image file, and within float32
 * rounding of the float64 reference; what is refused is refused in one line naming the file.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, deriveSeed } from 'clipsift';
import { fashionRows, FASHION, writeInputCases } from './input-cases.js';
import { readScoreFile, referenceClipScore, runInProcess, tempDir, widen } from './helpers.js';

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
    const folder = tempDir('clipsift-cr-');
    for (const [sub, name] of [
      ['img_emb', 'img_emb_0.npy'],
      ['text_emb', 'text_emb_0.npy'],
      ['metadata', 'metadata_0.parquet'],
    ] as const) {
      mkdirSync(join(folder, sub), { recursive: true });
      copyFileSync(join(FASHION, name), join(folder, sub, name));
    }
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

  for (const input of cases.filter((c) => c.error)) {
    it(`refuses ${input.title} in one line naming the file`, async () => {
      const out = join(tempDir(), 'scores');
      const result = await runInProcess(['score', ...input.inputs, '--out', out, '--quiet']);
      expect(result.code).toBe(1);
      expect(result.stderr.split(`${input.dir}/`).join('')).toBe(`clipsift score: ${input.error}\n`);
    });
  }
});
