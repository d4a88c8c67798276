/**
 * clipsift score on a clip-retrieval folder built from real OpenAI ViT-B/32 embeddings (9 fashion
 * pairs, test/fixtures/real): rows identified by (file, row) or by a key column, scores against the
 * float64 reference, and NormSim against real class-name text embeddings used as a (non-unit) target.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
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

const REAL = join(import.meta.dirname, '../fixtures/real');
const FASHION = join(REAL, 'openai-b32-fashion-9pairs');

/** float16 rows of an .npy written by numpy (header length from its preamble). */
function npyHalfRows(path: string): Uint16Array {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const data = bytes.subarray(10 + headerLength);
  return new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

function clipRetrievalFolder(): string {
  const dir = tempDir('clipsift-cr-');
  for (const [sub, name] of [
    ['img_emb', 'img_emb_0.npy'],
    ['text_emb', 'text_emb_0.npy'],
    ['metadata', 'metadata_0.parquet'],
  ]) {
    mkdirSync(join(dir, sub!), { recursive: true });
    copyFileSync(join(FASHION, name!), join(dir, sub!, name!));
  }
  return dir;
}

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
    const img = widen(npyHalfRows(join(FASHION, 'img_emb_0.npy')));
    const txt = widen(npyHalfRows(join(FASHION, 'text_emb_0.npy')));
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
    const img = widen(npyHalfRows(join(FASHION, 'img_emb_0.npy')));
    const t = widen(npyHalfRows(target));
    const normsim = referenceNormSim(img, t, 512, Infinity);
    file.rows.forEach((r, i) => {
      expect(Math.abs((r.normsim_inf as number) - normsim[i]!)).toBeLessThan(1e-5 * normsim[i]!);
    });
  });
});
