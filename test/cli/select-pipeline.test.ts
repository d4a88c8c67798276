// The main job end to end: `clipsift score` on a DataComp metadata directory made from the sample pool,
// then `clipsift select` with the paper's negCLIPLoss 30 % ∩ NormSim∞ 20 %; the kept uids must be what
// a plain sort of engine scores computed directly (one negCLIPLoss batch per shard) keeps.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from 'clipsift';
import { encodeNpy } from '../../src/io/npy.js';
import { generateSamplePool } from '../../src/sample/pool.js';
import { readSubsetUids, runCli, tempDir, writeDataCompShard } from '../select/cli-fixtures.js';

const SHARDS = 2;
const ROWS = 1200;

describe('score then select', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ threads: 1 });
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('keeps what the reference keeps from directly computed scores', async () => {
    const pool = generateSamplePool({ rows: ROWS, seed: 2 });
    const dim = pool.image.dim;
    const root = tempDir();
    const metadata = join(root, 'metadata');
    mkdirSync(metadata);
    const per = ROWS / SHARDS;
    const negClip = new Float32Array(ROWS);
    for (let s = 0; s < SHARDS; s++) {
      const slice = (m: Uint16Array) => m.slice(s * per * dim, (s + 1) * per * dim);
      const img = slice(pool.image.data);
      const txt = slice(pool.text.data);
      writeDataCompShard(metadata, `0000000${s}`, pool.uids.slice(s * per, (s + 1) * per), img, txt, dim, 'l14');
      // Batches form within a shard; one batch holds the whole shard, so the shuffle does not matter.
      negClip.set(
        await engine.negClipLoss(
          { data: img, rows: per, dim },
          { data: txt, rows: per, dim },
          { batchSize: per, repeats: 1 },
        ),
        s * per,
      );
    }
    const normSim = await engine.normSim(pool.image, await engine.prepareTarget(pool.target, { p: Infinity }));
    const target = join(root, 'target.npy');
    writeFileSync(target, encodeNpy(pool.target.data, [pool.target.rows, dim]));

    const scores = join(root, 'scores');
    const scored = await runCli([
      'score',
      metadata,
      '--out',
      scores,
      '--target',
      target,
      '--repeats',
      '1',
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(scored.code, scored.stderr).toBe(0);
    const out = join(root, 'subset.npy');
    const selected = await runCli([
      'select',
      scores,
      '--out',
      out,
      '--top',
      'negclip_loss:0.3',
      '--top',
      'normsim_inf:0.2',
    ]);
    expect(selected.code, selected.stderr).toBe(0);

    const byScore = (scores: Float32Array, among: number[], count: number) =>
      [...among].sort((a, b) => scores[b]! - scores[a]! || (pool.uids[a]! < pool.uids[b]! ? -1 : 1)).slice(0, count);
    const all = [...Array(ROWS).keys()];
    const expected = byScore(normSim, byScore(negClip, all, ROWS * 0.3), ROWS * 0.2).map((r) => pool.uids[r]!);
    expect(readSubsetUids(out)).toEqual(expected.sort());
  }, 120_000);
});
