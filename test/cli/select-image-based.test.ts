/**
 * DataComp's image-based baseline through `clipsift select --image-based` (and its presets) on a
 * DataComp-shaped metadata directory, against a float64 reference: k-means over the pool's image
 * embeddings in uid order (test/select/kmeans-reference.ts), DataComp's rule for the target's votes
 * (largest inner product), and DataComp's CLIP-score rounding for the intersected preset.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import { writeParquetTable } from '../../src/io/parquet.js';
import { fromFloat16Bits, toFloat16Bits } from '../../src/numeric/float16.js';
import { rng } from './helpers.js';
import { makeUids, readSubsetUids, runCli, tempDir } from '../select/cli-fixtures.js';
import { clustered, dot64, referenceKMeans } from '../select/kmeans-reference.js';

const N = 240;
const DIM = 32;
const K = 8;
const SEED = 3;

/** Two shards (150 + 90 rows): parquet uid, text, clip_l14_similarity_score; npz x_img / x_txt float16. */
function makePool() {
  const uids = makeUids(N, 77);
  const { data } = clustered(N, DIM, 6, 0.45, 31);
  const half = Uint16Array.from(data, toFloat16Bits);
  const next = rng(5);
  const clip = Float32Array.from({ length: N }, () => 0.1 + 0.3 * next());
  const dir = tempDir();
  for (const [name, from, to] of [
    ['00000000', 0, 150],
    ['00000001', 150, N],
  ] as const) {
    writeFileSync(
      join(dir, `${name}.parquet`),
      writeParquetTable({
        columns: {
          uid: uids.slice(from, to),
          text: uids.slice(from, to).map((u) => `caption ${u.slice(0, 5)}`),
          clip_l14_similarity_score: clip.slice(from, to),
        },
      }),
    );
    const rows = half.slice(from * DIM, to * DIM);
    writeFileSync(
      join(dir, `${name}.npz`),
      zipSync(
        { 'x_img.npy': encodeNpy(rows, [to - from, DIM]), 'x_txt.npy': encodeNpy(rows, [to - from, DIM]) },
        { level: 0 },
      ),
    );
  }
  // Target images: perturbed copies of a few pool rows (float32).
  const picks = [0, 6, 12, 3];
  const target = new Float32Array(picks.length * DIM);
  picks.forEach((row, t) => {
    for (let j = 0; j < DIM; j++) target[t * DIM + j] = fromFloat16Bits(half[row * DIM + j]!) + 0.03 * (next() - 0.5);
  });
  const targetPath = join(tempDir(), 'in1k.npy');
  writeFileSync(targetPath, encodeNpy(target, [picks.length, DIM]));
  return { dir, uids, half, clip, target, targetPath };
}

/** The uids DataComp's image-based rule keeps, with the reference k-means over the pool in uid order. */
function referenceImageBased(pool: ReturnType<typeof makePool>): Set<string> {
  const order = pool.uids.map((_, i) => i).sort((a, b) => (pool.uids[a]! < pool.uids[b]! ? -1 : 1));
  const x = new Float64Array(N * DIM);
  order.forEach((row, at) => {
    for (let j = 0; j < DIM; j++) x[at * DIM + j] = fromFloat16Bits(pool.half[row * DIM + j]!);
  });
  const ref = referenceKMeans(x, N, DIM, K, 20, SEED);
  const nearest = (v: ArrayLike<number>, i: number) => {
    let best = -Infinity;
    let at = -1;
    for (let c = 0; c < K; c++) {
      const d = dot64(v, i, ref.centroids, c, DIM);
      if (d > best) {
        best = d;
        at = c;
      }
    }
    return at;
  };
  const hit = new Set(Array.from({ length: pool.target.length / DIM }, (_, t) => nearest(pool.target, t)));
  const kept = new Set<string>();
  order.forEach((row, at) => {
    if (hit.has(nearest(x, at))) kept.add(pool.uids[row]!);
  });
  return kept;
}

describe('clipsift select --image-based', () => {
  const pool = makePool();
  const expected = referenceImageBased(pool);
  const common = [
    '--embeddings',
    pool.dir,
    '--arch',
    'x',
    '--image-based-clusters',
    String(K),
    '--image-based-seed',
    String(SEED),
    '--threads',
    '2',
  ];
  const target = ['--image-based-target', pool.targetPath];

  it('keeps the uids of the clusters nearest the target images, as the float64 reference', async () => {
    expect(expected.size).toBeGreaterThan(0);
    expect(expected.size).toBeLessThan(N);
    const out = join(tempDir(), 'image-based.npy');
    const result = await runCli([
      'select',
      '--metadata',
      pool.dir,
      '--image-based',
      ...common,
      ...target,
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual([...expected].sort());
    expect(result.stdout).toMatch(new RegExp(`${expected.size} rows kept`));
  });

  it("--preset image-based-clip-score-l14-30 is DataComp's image_based_intersect_clip_score", async () => {
    // DataComp: threshold at index int(N·0.3) of the descending scores, keep ≥ it; then the image filter.
    const sorted = [...pool.clip].sort((a, b) => b - a);
    const threshold = sorted[Math.floor(N * 0.3)]!;
    const want = pool.uids.filter((u, i) => pool.clip[i]! >= threshold && expected.has(u)).sort();
    expect(want.length).toBeGreaterThan(0);
    const out = join(tempDir(), 'intersect.npy');
    const argv = ['select', '--metadata', pool.dir, '--preset', 'image-based-clip-score-l14-30', ...common, ...target];
    const result = await runCli([...argv, '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual(want);

    const plan = await runCli([...argv, '--out', out, '--dry-run']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('--top clip_l14_similarity_score:30% --rounding datacomp --image-based');
    expect(plan.stdout).toMatch(/2\. keep rows whose k-means cluster \(8 clusters/);
  });

  it("--image-based-centroids applies DataComp's rule with given centroids (e.g. DataComp's own) instead of k-means", async () => {
    // Seven centroids: perturbed pool rows, float32, as numpy.save would write DataComp's centroid array.
    const next = rng(12);
    const rows = [2, 9, 40, 77, 120, 161, 230];
    const centroids = new Float32Array(rows.length * DIM);
    rows.forEach((row, c) => {
      for (let j = 0; j < DIM; j++)
        centroids[c * DIM + j] = fromFloat16Bits(pool.half[row * DIM + j]!) + 0.2 * (next() - 0.5);
    });
    const path = join(tempDir(), 'centroids.npy');
    writeFileSync(path, encodeNpy(centroids, [rows.length, DIM]));
    const nearest = (v: ArrayLike<number>, i: number) => {
      let best = -Infinity;
      let at = -1;
      for (let c = 0; c < rows.length; c++) {
        const d = dot64(v, i, centroids, c, DIM);
        if (d > best) {
          best = d;
          at = c;
        }
      }
      return at;
    };
    const hit = new Set(Array.from({ length: pool.target.length / DIM }, (_, t) => nearest(pool.target, t)));
    const x = Float64Array.from(pool.half, fromFloat16Bits);
    const want = pool.uids.filter((_, i) => hit.has(nearest(x, i))).sort();
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(N);
    const out = join(tempDir(), 'given.npy');
    const argv = [
      'select',
      '--metadata',
      pool.dir,
      '--image-based',
      '--embeddings',
      pool.dir,
      '--arch',
      'x',
      ...target,
    ];
    const result = await runCli([...argv, '--image-based-centroids', path, '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual(want);
    expect(result.stdout).toContain(`of 7 nearest the target (given centroids)`);
    const both = await runCli([...argv, '--image-based-centroids', path, '--image-based-clusters', '5', '--out', out]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--image-based-clusters is for k-means; --image-based-centroids replaces it/);
  });

  it('refuses a missing target, more clusters than uids, and a target of another dim, naming them', async () => {
    const out = join(tempDir(), 'x.npy');
    const noTarget = await runCli([
      'select',
      '--metadata',
      pool.dir,
      '--image-based',
      '--embeddings',
      pool.dir,
      '--out',
      out,
    ]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/--image-based needs the target images: --image-based-target/);
    const stray = await runCli([
      'select',
      '--metadata',
      pool.dir,
      '--top',
      'clip_l14_similarity_score:0.3',
      '--image-based-clusters',
      '5',
      '--out',
      out,
    ]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/--image-based-clusters needs --image-based/);
    const tooMany = await runCli([
      'select',
      '--metadata',
      pool.dir,
      '--image-based',
      ...common,
      ...target,
      '--image-based-clusters',
      '241',
      '--out',
      out,
    ]);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toMatch(/241 is more than the pool's 240 distinct uids/);
    const wrongDim = join(tempDir(), 'wrong.npy');
    writeFileSync(wrongDim, encodeNpy(new Float32Array(3 * 16).fill(0.25), [3, 16]));
    const dims = await runCli([
      'select',
      '--metadata',
      pool.dir,
      '--image-based',
      ...common,
      '--image-based-target',
      wrongDim,
      '--out',
      out,
    ]);
    expect(dims.code).toBe(1);
    expect(dims.stderr).toMatch(/target has dim 16 but the pool's image embeddings/);
  });
});
