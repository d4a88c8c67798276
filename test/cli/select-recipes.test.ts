/**
 * The recipes of the official negCLIPLoss/NormSim code and of DataComp's baselines.py through
 * `clipsift select`, end to end on DataComp-shaped fixtures:
 * - DataComp's --fraction rounding on its own metadata column, byte for byte against subset files made
 *   by DataComp's rule with numpy (test/fixtures/datacomp-rule/make_datacomp_rule.py);
 * - score directories of different archs joined by uid (the official --arch_ncl recipe), against a
 *   float64 reference of the steps, and the error for a uid missing on one side;
 * - NormSim_2-D first, then a CLIP-score fraction of the pool (the official vas_d_v2), on an arch of any
 *   name and dim, with the official removal schedule, against the float64 brute force.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeParquetTable } from '../../src/io/parquet.js';
import { fromFloat16Bits, toFloat16Bits } from '../../src/numeric/float16.js';
import { bruteForce, clusteredRows } from '../select/normsim-reference.js';
import {
  makeUids,
  readSubsetUids,
  runCli,
  tempDir,
  writeDataCompShard,
  writeScoreFile,
} from '../select/cli-fixtures.js';

const RULE = fileURLToPath(new URL('../fixtures/datacomp-rule/', import.meta.url));

/** Top ⌊N·f⌋ of `rows` by `score` (ties by uid), from the definition. */
function topRows(rows: number[], score: (r: number) => number, count: number, uids: string[]): number[] {
  return [...rows].sort((a, b) => score(b) - score(a) || (uids[a]! < uids[b]! ? -1 : 1)).slice(0, count);
}

/** The official recipe by definition: negCLIPLoss top 30 % of the pool, then NormSim top 20 % of it; sorted uids. */
function negClip30NormSim20(uids: string[], negclip: ArrayLike<number>, normsim: ArrayLike<number>): string[] {
  const first = topRows(
    uids.map((_, i) => i),
    (r) => negclip[r]!,
    Math.floor(uids.length * 0.3),
    uids,
  );
  const second = topRows(first, (r) => normsim[r]!, Math.floor(uids.length * 0.2), uids);
  return second.map((r) => uids[r]!).sort();
}

describe('DataComp metadata columns and DataComp rounding', () => {
  const scores = (() => {
    const bytes = readFileSync(join(RULE, 'scores.npy'));
    const headerLength = bytes.readUInt16LE(8);
    const data = bytes.subarray(10 + headerLength);
    return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  })();
  const uids = readFileSync(join(RULE, 'uids.txt'), 'utf8').trim().split('\n');
  const metadata = tempDir();
  // Two shards, as DataComp's metadata directory holds many.
  for (const [name, from, to] of [
    ['00000000', 0, 60],
    ['00000001', 60, 100],
  ] as const) {
    writeFileSync(
      join(metadata, `${name}.parquet`),
      writeParquetTable({
        columns: {
          uid: uids.slice(from, to),
          text: uids.slice(from, to).map((u) => `caption ${u.slice(0, 4)}`),
          clip_l14_similarity_score: scores.slice(from, to),
        },
      }),
    );
  }

  it.each(['0.3', '0.29', '0.57', '1.0'])(
    '--rounding datacomp --top clip_l14_similarity_score:%s writes the bytes DataComp writes',
    async (fraction) => {
      const out = join(tempDir(), 'subset.npy');
      const result = await runCli([
        'select',
        '--metadata',
        metadata,
        '--top',
        `clip_l14_similarity_score:${fraction}`,
        '--rounding',
        'datacomp',
        '--out',
        out,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(out).equals(readFileSync(join(RULE, `datacomp_${fraction}.npy`)))).toBe(true);
    },
  );

  it('floor rounding keeps exactly ⌊N·f⌋ rows, ties broken by uid', async () => {
    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      '--metadata',
      metadata,
      '--top',
      'clip_l14_similarity_score:0.3',
      '--out',
      out,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const all = uids.map((_, i) => i);
    const expected = topRows(all, (r) => scores[r]!, 30, uids).map((r) => uids[r]!);
    expect(readSubsetUids(out)).toEqual(expected.sort());
  });
});

describe('select --join: score directories of different archs, joined by uid', () => {
  const rows = 90;
  const uids = makeUids(rows, 17);
  const negclip = Float32Array.from(uids, (_, i) => Math.fround(Math.sin(i * 1.7)));
  const normsim = Float32Array.from(uids, (_, i) => Math.fround(Math.cos(i * 0.9)));
  const root = tempDir();
  const l14 = join(root, 'scores-l14');
  const b32 = join(root, 'scores-b32');
  mkdirSync(l14);
  mkdirSync(b32);
  // Different shardings and row orders on the two sides: only the uids tie them together.
  writeScoreFile(join(l14, 'a.scores.parquet'), uids.slice(0, 50), { negclip_loss_l14: negclip.slice(0, 50) });
  writeScoreFile(join(l14, 'b.scores.parquet'), uids.slice(50), { negclip_loss_l14: negclip.slice(50) });
  const order = uids.map((_, i) => i).reverse();
  writeScoreFile(
    join(b32, 'all.scores.parquet'),
    order.map((i) => uids[i]!),
    { normsim_inf_b32: Float32Array.from(order, (i) => normsim[i]!) },
  );

  it('keeps the reference rows: negCLIPLoss (l14) top 30 %, then NormSim (b32) top 20 % of the pool', async () => {
    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      l14,
      b32,
      '--join',
      '--top',
      'negclip_loss_l14:0.3',
      '--top',
      'normsim_inf_b32:0.2',
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual(negClip30NormSim20(uids, negclip, normsim));
  });

  it('names a uid present in one input and missing in the other', async () => {
    const short = join(root, 'scores-short');
    mkdirSync(short);
    writeScoreFile(join(short, 'all.scores.parquet'), uids.slice(1), { normsim_inf_b32: normsim.slice(1) });
    const result = await runCli([
      'select',
      l14,
      short,
      '--join',
      '--top',
      'normsim_inf_b32:0.2',
      '--out',
      join(tempDir(), 'subset.npy'),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`uid ${uids[0]} is in ${l14} but not in ${short}`);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('NormSim_2-D first, then CLIP score (the official vas_d_v2), on any arch', () => {
  const DIM = 24;
  const rows = 80;
  const uids = makeUids(rows, 29);
  const images = Uint16Array.from(clusteredRows(rows, DIM, 5).data, toFloat16Bits);
  const clip = Float32Array.from(uids, (_, i) => Math.fround(Math.sin(i * 0.77)));
  const root = tempDir();
  const scores = join(root, 'scores');
  const metadata = join(root, 'metadata');
  mkdirSync(scores);
  mkdirSync(metadata);
  for (let shard = 0; shard < 2; shard++) {
    const [from, to] = [shard * 40, (shard + 1) * 40];
    const part = images.slice(from * DIM, to * DIM);
    writeDataCompShard(metadata, `0000000${shard}`, uids.slice(from, to), part, part, DIM, 'dfn_p');
    writeScoreFile(join(scores, `0000000${shard}.scores.parquet`), uids.slice(from, to), {
      clip_score: clip.slice(from, to),
    });
  }

  /** The official schedule from vas_d: ⌈R/T⌉ per round, the last round cutting to the final size. */
  function officialSchedule(start: number, final: number, iterations: number): number[] {
    const chunk = Math.ceil((start - final) / iterations);
    const sizes: number[] = [];
    let size = start;
    for (let i = 0; i < iterations; i++) {
      const next = i === iterations - 1 ? final : Math.max(final, size - chunk);
      sizes.push(size - next);
      size = next;
    }
    return sizes;
  }

  it.each(['even', 'official'])('keeps what the float64 brute force keeps (%s schedule)', async (schedule) => {
    const data = new Float32Array(rows * DIM);
    // Rows in uid order, as select gathers them.
    const byUid = uids.map((_, i) => i).sort((a, b) => (uids[a]! < uids[b]! ? -1 : 1));
    byUid.forEach((row, k) => {
      for (let j = 0; j < DIM; j++) data[k * DIM + j] = fromFloat16Bits(images[row * DIM + j]!);
    });
    const final = Math.floor(rows * 0.5);
    const iterations = 7;
    const sizes =
      schedule === 'official'
        ? officialSchedule(rows, final, iterations)
        : Array.from(
            { length: iterations },
            (_, t) =>
              Math.floor(((t + 1) * (rows - final)) / iterations) - Math.floor((t * (rows - final)) / iterations),
          );
    const reference = bruteForce({ data, rows, dim: DIM }, sizes);
    expect(reference.minGap).toBeGreaterThan(1e-4);
    const survivors = reference.kept.map((k) => byUid[k]!);
    const expected = topRows(survivors, (r) => clip[r]!, Math.floor(rows * 0.3), uids).map((r) => uids[r]!);

    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      scores,
      '--normsim-d',
      '--normsim-d-final',
      '0.5',
      '--normsim-d-iterations',
      String(iterations),
      '--normsim-d-schedule',
      schedule,
      '--top',
      'clip_score:0.3',
      '--embeddings',
      metadata,
      '--arch',
      'dfn_p',
      '--threads',
      '1',
      '--out',
      out,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual(expected.sort());
    const summary = JSON.parse(result.stdout);
    expect(summary.steps.map((s: { kind: string; kept: number }) => [s.kind, s.kept])).toEqual([
      ['normsim-d', final],
      ['top', Math.floor(rows * 0.3)],
    ]);
  });
});

describe('select --preset and --dry-run', () => {
  const rows = 60;
  const uids = makeUids(rows, 41);
  const negclip = Float32Array.from(uids, (_, i) => Math.fround(Math.sin(i * 1.3)));
  const normsim = Float32Array.from(uids, (_, i) => Math.fround(Math.cos(i * 2.1)));
  const scores = tempDir();
  writeScoreFile(join(scores, 'a.scores.parquet'), uids, { negclip_loss: negclip, normsim_inf: normsim });

  it('negclip-30-normsim-inf-20 keeps what the explicit steps keep (the float64 reference)', async () => {
    const out = join(tempDir(), 'subset.npy');
    const result = await runCli(['select', scores, '--preset', 'negclip-30-normsim-inf-20', '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual(negClip30NormSim20(uids, negclip, normsim));
  });

  it('--dry-run prints the expanded options and the steps, and writes nothing', async () => {
    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      '--metadata',
      'M',
      '--preset',
      'clip-score-l14-30',
      '--out',
      out,
      '--dry-run',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'clipsift select --metadata M --top clip_l14_similarity_score:30% --rounding datacomp --out',
    );
    expect(result.stdout).toMatch(
      /1\. keep the top int\(N·f\)\+1 rows and ties \(DataComp rounding\) by clip_l14_similarity_score, f = 0\.3/,
    );
    expect(() => readFileSync(out)).toThrow();
  });

  it('refuses an unknown preset, listing the families', async () => {
    const result = await runCli(['select', scores, '--preset', 'best-one', '--out', join(tempDir(), 's.npy')]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unknown preset 'best-one'.*negclip-N-normsim-inf-N/);
  });
});
