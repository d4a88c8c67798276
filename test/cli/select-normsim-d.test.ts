// `clipsift select --normsim-d` end to end: score files plus a DataComp metadata directory (parquet +
// float16 npz), checked against the float64 brute force that rebuilds the Gram matrix every round.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toFloat16Bits, fromFloat16Bits } from '../../src/numeric/float16.js';
import { removalSchedule } from '../../src/select/normsim-d.js';
import { bruteForce, clusteredRows } from '../select/normsim-reference.js';
import {
  makeUids,
  readSubsetUids,
  runCli,
  tempDir,
  writeDataCompShard,
  writeScoreFile,
} from '../select/cli-fixtures.js';

const DIM = 512; // b32
const ROWS_PER_SHARD = 40;

describe('clipsift select --normsim-d', () => {
  let scores: string;
  let metadata: string;
  let uids: string[];
  let images: Uint16Array;
  let negClip: Float32Array;

  beforeAll(() => {
    const root = tempDir();
    scores = join(root, 'scores');
    metadata = join(root, 'metadata');
    mkdirSync(scores);
    mkdirSync(metadata);
    const rows = 2 * ROWS_PER_SHARD;
    uids = makeUids(rows, 3);
    images = Uint16Array.from(clusteredRows(rows, DIM, 11).data, toFloat16Bits);
    negClip = Float32Array.from(uids, (_, i) => Math.fround(Math.sin(i * 2.3)));
    for (let shard = 0; shard < 2; shard++) {
      const range = [shard * ROWS_PER_SHARD, (shard + 1) * ROWS_PER_SHARD] as const;
      const name = `0000000${shard}`;
      const shardImages = images.slice(range[0] * DIM, range[1] * DIM);
      writeDataCompShard(metadata, name, uids.slice(...range), shardImages, shardImages, DIM, 'b32');
      writeScoreFile(join(scores, `${name}.scores.parquet`), uids.slice(...range), {
        negclip_loss: negClip.slice(...range),
      });
    }
  });

  /** Rows of the negCLIPLoss top 60 %, in uid order: what NormSim_2-D starts from. */
  function firstCut(): number[] {
    const top = [...uids.keys()]
      .sort((a, b) => negClip[b]! - negClip[a]! || (uids[a]! < uids[b]! ? -1 : 1))
      .slice(0, Math.floor(uids.length * 0.6));
    return top.sort((a, b) => (uids[a]! < uids[b]! ? -1 : 1));
  }

  it('keeps what the float64 brute force keeps', async () => {
    const start = firstCut();
    const data = new Float32Array(start.length * DIM);
    start.forEach((row, k) => {
      for (let i = 0; i < DIM; i++) data[k * DIM + i] = fromFloat16Bits(images[row * DIM + i]!);
    });
    const finalSize = Math.floor(uids.length * 0.25);
    const reference = bruteForce({ data, rows: start.length, dim: DIM }, removalSchedule(start.length - finalSize, 6));
    expect(reference.minGap).toBeGreaterThan(1e-4); // float32 rounding cannot flip a cut

    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      scores,
      '--out',
      out,
      '--top',
      'negclip_loss:0.6',
      '--normsim-d',
      '--normsim-d-final',
      '0.25',
      '--normsim-d-iterations',
      '6',
      '--embeddings',
      metadata,
      '--arch',
      'b32',
      '--threads',
      '1',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual(reference.kept.map((k) => uids[start[k]!]!).sort());
    const summary = JSON.parse(result.stdout);
    expect(summary.steps.map((s: { kind: string; kept: number }) => [s.kind, s.kept])).toEqual([
      ['top', 48],
      ['normsim-d', 20],
    ]);
  });

  it('sampled mode reaches the final size and is the same for the same seed', async () => {
    const run = async (seed: string) => {
      const out = join(tempDir(), 'subset.npy');
      const result = await runCli([
        'select',
        scores,
        '--out',
        out,
        '--top',
        'negclip_loss:0.6',
        '--normsim-d',
        '--normsim-d-final',
        '30%',
        '--normsim-d-sample',
        '0.5',
        '--normsim-d-seed',
        seed,
        '--normsim-d-iterations',
        '4',
        '--embeddings',
        metadata,
        '--arch',
        'b32',
        '--threads',
        '1',
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/NormSim_2-D to 30% \(4 rounds, sampled 50%\)\s+24 rows kept/);
      return readSubsetUids(out);
    };
    const first = await run('1');
    expect(first).toHaveLength(24);
    expect(await run('1')).toEqual(first);
    const allowed = new Set(firstCut().map((r) => uids[r]));
    expect(first.every((u) => allowed.has(u))).toBe(true);
  });

  it('runs on the whole pool when no step comes before it', async () => {
    const data = new Float32Array(uids.length * DIM);
    for (let i = 0; i < data.length; i++) data[i] = fromFloat16Bits(images[i]!);
    const order = [...uids.keys()].sort((a, b) => (uids[a]! < uids[b]! ? -1 : 1));
    const sorted = new Float32Array(data.length);
    order.forEach((row, k) => {
      sorted.set(data.subarray(row * DIM, (row + 1) * DIM), k * DIM);
    });
    const reference = bruteForce({ data: sorted, rows: uids.length, dim: DIM }, removalSchedule(uids.length - 40, 5));
    expect(reference.minGap).toBeGreaterThan(1e-4);
    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      scores,
      '--out',
      out,
      '--normsim-d',
      '--normsim-d-final',
      '0.5',
      '--normsim-d-iterations',
      '5',
      '--embeddings',
      metadata,
      '--arch',
      'b32',
      '--threads',
      '1',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual(reference.kept.map((k) => uids[order[k]!]!).sort());
  });

  it('names the uid of a NaN image embedding', async () => {
    const root = tempDir();
    const bad = ['a'.repeat(32), 'b'.repeat(32)];
    const image = new Uint16Array(2 * DIM).fill(toFloat16Bits(1 / Math.sqrt(DIM)));
    image[DIM + 7] = 0x7e00; // NaN in the second row
    writeDataCompShard(root, 'bad', bad, image, image, DIM, 'b32');
    const scoreDir = tempDir();
    writeScoreFile(join(scoreDir, 'bad.scores.parquet'), bad, { negclip_loss: Float32Array.of(1, 2) });
    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      scoreDir,
      '--out',
      out,
      '--top',
      'negclip_loss:1',
      '--normsim-d',
      '--embeddings',
      root,
      '--arch',
      'b32',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(`image embedding of uid ${'b'.repeat(32)} has a non-finite value`);
  });

  it('names a selected uid that has no embedding', async () => {
    const extra = tempDir();
    writeScoreFile(join(extra, 'x.scores.parquet'), ['f'.repeat(32)], { negclip_loss: Float32Array.of(9) });
    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      scores,
      extra,
      '--out',
      out,
      '--top',
      'negclip_loss:0.6',
      '--normsim-d',
      '--embeddings',
      metadata,
      '--arch',
      'b32',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(`1 selected uids have no image embeddings here (first: ${'f'.repeat(32)})`);
  });
});
