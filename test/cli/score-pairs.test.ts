/**
 * clipsift score on any embedding pair: `--arch NAME` reads NAME_img / NAME_txt, `--img-key/--txt-key`
 * name the arrays (the official DFN-P keys), at the dims the files have; columns against the float64
 * reference.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import {
  pairedEmbeddings,
  randomUid,
  readScoreFile,
  referenceClipScore,
  referenceNegClip,
  rng,
  runInProcess,
  tempDir,
  widen,
  writeParquet,
  worstError,
} from './helpers.js';

const DIM = 40;
const ROWS = 30;

function writePool(keys: [string, string]): { dir: string; img: Uint16Array; txt: Uint16Array; uids: string[] } {
  const dir = tempDir();
  const next = rng(4);
  const uids = Array.from({ length: ROWS }, () => randomUid(next));
  const { img, txt } = pairedEmbeddings(ROWS, DIM, 8);
  writeParquet(join(dir, '00000000.parquet'), uids);
  writeFileSync(
    join(dir, '00000000.npz'),
    zipSync(
      { [`${keys[0]}.npy`]: encodeNpy(img, [ROWS, DIM]), [`${keys[1]}.npy`]: encodeNpy(txt, [ROWS, DIM]) },
      { level: 0 },
    ),
  );
  return { dir, img, txt, uids };
}

describe('clipsift score on any embedding pair', () => {
  it.each([
    [['dfn_p_img', 'dfn_p_txt'], ['--arch', 'dfn_p'], 'dfn_p'],
    [
      ['dfn-p-clip-vit-b32-image', 'dfn-p-clip-vit-b32-text'],
      ['--img-key', 'dfn-p-clip-vit-b32-image', '--txt-key', 'dfn-p-clip-vit-b32-text'],
      'dfn-p-clip-vit-b32-image,dfn-p-clip-vit-b32-text',
    ],
  ] as const)('reads %j and scores them at their own dim', async (keys, flags, recorded) => {
    const pool = writePool([keys[0], keys[1]]);
    const out = join(tempDir(), 'scores');
    const result = await runInProcess([
      'score',
      pool.dir,
      ...flags,
      '--out',
      out,
      '--temperature',
      '0.07',
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const file = await readScoreFile(join(out, '00000000.scores.parquet'));
    expect(file.rows.map((r) => r.uid)).toEqual(pool.uids);
    const img = widen(pool.img);
    const txt = widen(pool.txt);
    expect(
      worstError(
        file.rows.map((r) => r.clip_score),
        referenceClipScore(img, txt, DIM),
      ),
    ).toBeLessThanOrEqual(2e-6);
    const negclip = referenceNegClip(img, txt, DIM, { batchSize: 32768, temperature: 0.07, repeats: 10, seed: 0 });
    expect(
      worstError(
        file.rows.map((r) => r.negclip_loss),
        negclip,
      ),
    ).toBeLessThanOrEqual(2e-5);
    expect(JSON.parse(file.metadata['clipsift.parameters']!).arch).toBe(recorded);
  });

  it('names the missing array and what the npz holds', async () => {
    const pool = writePool(['dfn_p_img', 'dfn_p_txt']);
    const result = await runInProcess([
      'score',
      pool.dir,
      '--arch',
      'siglip',
      '--out',
      join(tempDir(), 's'),
      '--quiet',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/no array 'siglip_img' \(it holds 'dfn_p_img', 'dfn_p_txt'\)/);
  });
});
