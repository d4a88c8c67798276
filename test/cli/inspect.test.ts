import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { encodeNpy } from '../../src/io/npy.js';
import { fromFloat16Bits, toFloat16Bits } from '../../src/numeric/float16.js';
import { captureOutput, pairedEmbeddings, tempDir, writeParquet } from './helpers.js';

function run(argv: string[]) {
  return captureOutput(() => main(argv));
}

/** Norm range and bad rows computed directly from the float16 bits written. */
function expectedStats(bits: Uint16Array, dim: number) {
  let min = Infinity;
  let max = -Infinity;
  const nonFinite: number[] = [];
  const zero: number[] = [];
  for (let r = 0; r < bits.length / dim; r++) {
    const row = Array.from(bits.subarray(r * dim, (r + 1) * dim), fromFloat16Bits);
    if (row.some((v) => !Number.isFinite(v))) nonFinite.push(r);
    else if (row.every((v) => v === 0)) zero.push(r);
    else {
      const n = Math.hypot(...row);
      min = Math.min(min, n);
      max = Math.max(max, n);
    }
  }
  return { min, max, nonFinite, zero };
}

describe('clipsift inspect', () => {
  it('reports shape, dtype, norm range and bad rows of every array in an npz, as JSON', async () => {
    const dir = tempDir();
    const { img, txt } = pairedEmbeddings(40, 64, 7);
    // Plant defects: NaN in rows 3 and 17, Inf in 30, an all-zero row 8, a row scaled by 3.
    img[3 * 64 + 5] = 0x7e00;
    img[17 * 64] = 0x7e00;
    img[30 * 64 + 63] = 0x7c00;
    img.fill(0, 8 * 64, 9 * 64);
    for (let j = 0; j < 64; j++) img[12 * 64 + j] = toFloat16Bits(fromFloat16Bits(img[12 * 64 + j]!) * 3);
    const path = join(dir, 'shard.npz');
    writeFileSync(
      path,
      zipSync({ 'l14_img.npy': encodeNpy(img, [40, 64]), 'l14_txt.npy': encodeNpy(txt, [40, 64]) }, { level: 6 }),
    );

    const { code, stdout } = await run(['inspect', '--json', '--quiet', path]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.kind).toBe('npz');
    expect(report.arrays.map((a: { key: string }) => a.key)).toEqual(['l14_img', 'l14_txt']);
    for (const [array, bits] of [
      [report.arrays[0], img],
      [report.arrays[1], txt],
    ] as const) {
      const want = expectedStats(bits, 64);
      expect(array).toMatchObject({ rows: 40, dim: 64, dtype: 'float16' });
      expect(array.stats.nonFiniteRows).toBe(want.nonFinite.length);
      expect(array.stats.firstNonFiniteRows).toEqual(want.nonFinite);
      expect(array.stats.firstZeroRows).toEqual(want.zero);
      expect(array.stats.minNorm).toBeCloseTo(want.min, 5);
      expect(array.stats.maxNorm).toBeCloseTo(want.max, 5);
    }
    expect(report.arrays[0].stats.nonFiniteRows).toBe(3);
    expect(report.arrays[0].stats.maxNorm).toBeGreaterThan(2.9);
  });

  it('walks a directory, lists parquet columns, and prints readable text', async () => {
    const dir = tempDir();
    const { img } = pairedEmbeddings(5, 32, 1);
    writeFileSync(join(dir, 'a.npy'), encodeNpy(img, [5, 32]));
    writeParquet(join(dir, 'a.parquet'), [
      '0'.repeat(32),
      '1'.repeat(32),
      '2'.repeat(32),
      '3'.repeat(32),
      '4'.repeat(32),
    ]);
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const { code, stdout } = await run(['inspect', '--quiet', dir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /a\.npy: npy, [\d,]+ bytes\n {2}5 × 32 float16, norms 0\.99\d+\.\.1\.00\d+ \(mean [\d.]+\), 0 NaN\/Inf rows, 0 zero rows\n/,
    );
    expect(stdout).toMatch(/a\.parquet: parquet, [\d,]+ bytes\n {2}5 rows; columns: uid, url, text\n/);
    expect(stdout).not.toContain('notes.txt');
  });

  it('counts every zero row it lists, not only the ones it kept the numbers of', async () => {
    const dir = tempDir();
    const { img } = pairedEmbeddings(450, 16, 2);
    img.fill(0, 0, 400 * 16); // rows 0..399 all zero
    writeFileSync(join(dir, 'z.npy'), encodeNpy(img, [450, 16]));
    const { code, stdout } = await run(['inspect', '--quiet', join(dir, 'z.npy')]);
    expect(code).toBe(0);
    expect(stdout).toContain('0 NaN/Inf rows, 400 zero rows [zero rows 0, 1, 2, 3, 4 and 395 more]');
    const single = pairedEmbeddings(450, 16, 4).img;
    single.fill(0, 449 * 16); // one zero row: the singular, and no 'more'
    writeFileSync(join(dir, 'one.npy'), encodeNpy(single, [450, 16]));
    const one = await run(['inspect', '--quiet', join(dir, 'one.npy')]);
    expect(one.stdout).toContain('0 NaN/Inf rows, 1 zero row [zero rows 449]');
  });

  it('names the file and the problem for unreadable input, exit 1', async () => {
    const dir = tempDir();
    const path = join(dir, 'broken.npy');
    writeFileSync(path, new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 200, 0]));
    const { code, stderr } = await run(['inspect', path]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      new RegExp(`^clipsift inspect: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*truncated.*\n$`),
    );
  });
});
