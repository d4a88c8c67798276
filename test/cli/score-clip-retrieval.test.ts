import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  readScoreFile,
  referenceClipScore,
  referenceNegClip,
  referenceNormSim,
  runInProcess,
  tempDir,
  widen,
} from './helpers.js';
import { clipRetrievalFolder, fashionRows, npyHalfRows } from './input-cases.js';

const REAL = join(import.meta.dirname, '../fixtures/real');

describe('clipsift score on a clip-retrieval folder of real embeddings', () => {
  it('keys rows by file and row, and matches the reference', async () => {
    const dir = clipRetrievalFolder();
    const out = join(tempDir(), 'scores');
    const result = await runInProcess(['score', dir, '--out', out, '--threads', '1', '--quiet']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const file = await readScoreFile(join(out, 'shard_0.scores.parquet'));
    expect(file.columns).toEqual(['file', 'row', 'clip_score', 'negclip_loss']);
    expect(file.rows.map((r) => [r.file, r.row])).toEqual(Array.from({ length: 9 }, (_, i) => ['img_emb_0.npy', i]));
    const img = widen(fashionRows('img_emb_0.npy'));
    const txt = widen(fashionRows('text_emb_0.npy'));
    const clip = referenceClipScore(img, txt, 512);
    file.rows.forEach((r, i) => {
      expect(Math.abs((r.clip_score as number) - clip[i]!)).toBeLessThan(2e-6);
    });
    const negclip = referenceNegClip(img, txt, 512, { batchSize: 32768, temperature: 0.01, repeats: 10, seed: 0 });
    file.rows.forEach((r, i) => {
      expect(Math.abs((r.negclip_loss as number) - negclip[i]!)).toBeLessThan(2e-5);
    });
    // Matched pairs of real CLIP embeddings score ~0.3.
    expect(Math.min(...clip)).toBeGreaterThan(0.2);
  });

  it('uses --key-column, and NormSim against a non-unit target with a warning (or --normalize)', async () => {
    const dir = clipRetrievalFolder();
    const target = join(REAL, 'openai-b32-classnames/coco_clip_a+cname.npy');
    const out = join(tempDir(), 'scores');
    const result = await runInProcess([
      'score',
      dir,
      '--out',
      out,
      '--key-column',
      'image_path',
      '--target',
      target,
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /coco_clip_a\+cname\.npy: target is not unit-norm \(norms \d+\.\d+\.\.\d+\.\d+\); pass --normalize/,
    );
    const file = await readScoreFile(join(out, 'shard_0.scores.parquet'));
    expect(file.columns).toEqual(['image_path', 'clip_score', 'negclip_loss', 'normsim_inf']);
    expect(new Set(file.rows.map((r) => r.image_path)).size).toBe(9);
    const img = widen(fashionRows('img_emb_0.npy'));
    const t = widen(npyHalfRows(target));
    const normsim = referenceNormSim(img, t, 512, Infinity);
    file.rows.forEach((r, i) => {
      expect(Math.abs((r.normsim_inf as number) - normsim[i]!)).toBeLessThan(1e-5 * normsim[i]!);
    });
  });
});
