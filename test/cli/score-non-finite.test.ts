// clipsift score never writes a non-finite score: bad temperatures are usage errors, rows whose scores
// would overflow float32 are refused (or dropped with --skip-invalid, saying how many).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import { readScoreFile, referenceClipScore, runInProcess, tempDir } from './helpers.js';

const ROWS = 6;
const DIM = 8;

/** A clip-retrieval folder of float32 unit rows, image row 2 replaced by a finite row of norm 3e38. */
function folderWithHugeRow(): { dir: string; img: Float32Array; txt: Float32Array } {
  const dir = tempDir('clipsift-huge-');
  const unit = (seed: number) => {
    const data = new Float32Array(ROWS * DIM);
    for (let r = 0; r < ROWS; r++) {
      const v = Array.from({ length: DIM }, (_, j) => Math.sin((r + 1) * (j + 1) * 0.37 + seed));
      const n = Math.hypot(...v);
      v.forEach((x, j) => {
        data[r * DIM + j] = x / n;
      });
    }
    return data;
  };
  const img = unit(0);
  const txt = unit(0.2);
  img.fill(0, 2 * DIM, 3 * DIM);
  img[2 * DIM] = 3e38;
  for (const [sub, name, data] of [
    ['img_emb', 'img_emb_0.npy', img],
    ['text_emb', 'text_emb_0.npy', txt],
  ] as const) {
    mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, sub, name), encodeNpy(data, [ROWS, DIM]));
  }
  return { dir, img, txt };
}

describe('clipsift score and non-finite scores', () => {
  it('refuses a temperature whose float32 reciprocal overflows, as a usage error', async () => {
    for (const temperature of ['1e-39', '1e38']) {
      const result = await runInProcess(['score', 'x', '--out', 'y', '--temperature', temperature]);
      expect(result.code, temperature).toBe(2);
      expect(result.stderr).toMatch(/--temperature must be between 2\^-120 .* and 2\^100 .*, got '1e/);
    }
  });

  it('refuses a finite row of norm 3e38, naming file and row, and writes nothing', async () => {
    const { dir } = folderWithHugeRow();
    const out = join(tempDir(), 'scores');
    const result = await runInProcess(['score', dir, '--out', out, '--threads', '1', '--quiet']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /img_emb_0\.npy: 1 row has a norm beyond .*, so its scores would not be finite in float32 \(rows 2\); pass --skip-invalid/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(out, 'shard_0.scores.parquet'))).toBe(false);
  });

  it('with --skip-invalid drops it, says so, and writes only finite scores matching the reference', async () => {
    const { dir, img, txt } = folderWithHugeRow();
    const out = join(tempDir(), 'scores');
    const result = await runInProcess(['score', dir, '--out', out, '--threads', '1', '--quiet', '--skip-invalid']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/dropped 1 row with NaN\/Inf or all-zero embeddings or norms beyond .* \(rows 2\)/);
    const file = await readScoreFile(join(out, 'shard_0.scores.parquet'));
    expect(file.rows.map((r) => r.row)).toEqual([0, 1, 3, 4, 5]);
    const clip = referenceClipScore(Float64Array.from(img), Float64Array.from(txt), DIM);
    for (const row of file.rows) {
      expect(Number.isFinite(row.clip_score) && Number.isFinite(row.negclip_loss)).toBe(true);
      expect(Math.abs((row.clip_score as number) - clip[row.row as number]!)).toBeLessThan(1e-6);
    }
  });
});
