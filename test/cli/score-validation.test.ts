/**
 * clipsift score on bad input (issue 6 item 2): each defect gives exit 1 with a one-line reason that
 * names the file and rows, or, where an option allows it, a warning and scores for the rest that
 * match the reference computed on the rows that remain.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import { fromFloat16Bits, toFloat16Bits } from '../../src/numeric/float16.js';
import {
  makeDataCompDir,
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
  writeTarget,
  type ShardMatrices,
} from './helpers.js';

const DIM = 768;
/** batch ≥ rows: one batch, so the reference needs no shuffle and dropping rows is easy to mirror. */
const ONE_BATCH = { batchSize: 32768, temperature: 0.01, repeats: 10, seed: 0 };

function setRow(m: Uint16Array, row: number, value: number): void {
  m.fill(toFloat16Bits(value), row * DIM, (row + 1) * DIM);
}

/** The rows of a float16 matrix except `drop`, widened to float64. */
function withoutRows(bits: Uint16Array, drop: number[]): Float64Array {
  const rows = bits.length / DIM;
  const kept: number[] = [];
  for (let r = 0; r < rows; r++)
    if (!drop.includes(r)) kept.push(...Array.from(bits.subarray(r * DIM, (r + 1) * DIM), fromFloat16Bits));
  return Float64Array.from(kept);
}

function normalized(rows: Float64Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let r = 0; r < rows.length / DIM; r++) {
    let s = 0;
    for (let j = 0; j < DIM; j++) s += rows[r * DIM + j]! ** 2;
    for (let j = 0; j < DIM; j++) out[r * DIM + j] = rows[r * DIM + j]! / Math.sqrt(s);
  }
  return out;
}

function expectCloseArray(actual: unknown[], expected: Float64Array, tolerance: number): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => {
    expect(Math.abs((v as number) - expected[i]!), `row ${i}`).toBeLessThanOrEqual(tolerance);
  });
}

const score = (dir: string, out: string, ...extra: string[]) =>
  runInProcess(['score', dir, '--out', out, '--threads', '1', '--quiet', ...extra]);

describe('clipsift score on bad input', () => {
  it('rejects NaN/Inf rows naming the file and rows, or drops them with --skip-invalid', async () => {
    const plant = (m: ShardMatrices) => {
      m.l14_img[3 * DIM + 10] = 0x7e00; // NaN
      m.l14_img[17 * DIM] = 0x7c00; // +Inf
      m.l14_txt[25 * DIM + 700] = 0xfc00; // -Inf
    };
    const { dir, shards } = makeDataCompDir([{ name: 'bad', rows: 40, seed: 5, edit: plant }]);
    const out = join(tempDir(), 'scores');
    const failed = await score(dir, out);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /^clipsift score: \S*bad\.npz:l14_img\.npy: 2 rows hold NaN or Inf \(rows 3, 17\); \S*bad\.npz:l14_txt\.npy: 1 NaN or Inf row; pass --skip-invalid to drop them\n$/,
    );
    expect(existsSync(join(out, 'bad.scores.parquet'))).toBe(false);

    const skipped = await score(dir, out, '--skip-invalid');
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toMatch(
      /warning: bad: dropped 3 rows with NaN\/Inf or all-zero embeddings \(rows 3, 17, 25\)/,
    );
    const file = await readScoreFile(join(out, 'bad.scores.parquet'));
    const shard = shards[0]!;
    const drop = [3, 17, 25];
    expect(file.rows.map((r) => r.uid)).toEqual(shard.uids.filter((_, i) => !drop.includes(i)));
    const img = withoutRows(shard.matrices.l14_img, drop);
    const txt = withoutRows(shard.matrices.l14_txt, drop);
    expectCloseArray(
      file.rows.map((r) => r.clip_score),
      referenceClipScore(img, txt, DIM),
      2e-6,
    );
    expectCloseArray(
      file.rows.map((r) => r.negclip_loss),
      referenceNegClip(img, txt, DIM, ONE_BATCH),
      2e-5,
    );
  });

  it('still writes a score file, with no rows, when every row is dropped', async () => {
    const poison = (m: ShardMatrices) => {
      m.l14_img[0] = 0x7e00;
      m.l14_txt[DIM] = 0x7e00;
    };
    const { dir } = makeDataCompDir([{ name: 'gone', rows: 2, seed: 4, edit: poison }]);
    const out = join(tempDir(), 'scores');
    const result = await score(dir, out, '--skip-invalid');
    expect(result.code).toBe(0);
    const file = await readScoreFile(join(out, 'gone.scores.parquet'));
    expect(file.columns).toEqual(['uid', 'clip_score', 'negclip_loss']);
    expect(file.rows).toEqual([]);
  });

  it('treats all-zero rows (failed encodings) like NaN rows', async () => {
    const { dir } = makeDataCompDir([{ name: 'z', rows: 20, seed: 6, edit: (m) => setRow(m.l14_txt, 8, 0) }]);
    const result = await score(dir, join(tempDir(), 'scores'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/z\.npz:l14_txt\.npy: 1 row is all zeros \(rows 8\); pass --skip-invalid/);
  });

  it('warns about embeddings that are not unit-norm with the measured range, and --normalize fixes them', async () => {
    const scale = (m: ShardMatrices) => {
      for (let j = 0; j < 5 * DIM; j++) m.l14_img[j] = toFloat16Bits(fromFloat16Bits(m.l14_img[j]!) * 2);
    };
    const { dir, shards } = makeDataCompDir([{ name: 'n', rows: 30, seed: 7, edit: scale }]);
    const plain = await score(dir, join(tempDir(), 'scores'));
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(
      /warning: n: \S*n\.npz:l14_img\.npy is not unit-norm \(norms (0\.99|1\.00)\d*\.\.(1\.99|2\.00)\d*\); .*pass --normalize/,
    );

    const out = join(tempDir(), 'scores');
    const fixed = await score(dir, out, '--normalize');
    expect(fixed.code).toBe(0);
    expect(fixed.stderr).toMatch(/L2-normalised before scoring/);
    const file = await readScoreFile(join(out, 'n.scores.parquet'));
    const img = normalized(widen(shards[0]!.matrices.l14_img));
    const txt = normalized(widen(shards[0]!.matrices.l14_txt));
    expectCloseArray(
      file.rows.map((r) => r.clip_score),
      referenceClipScore(img, txt, DIM),
      2e-6,
    );
    expect(JSON.parse(file.metadata['clipsift.parameters']!).normalize).toBe(true);
  });

  it('refuses image, text and metadata row counts that differ', async () => {
    const dir = tempDir();
    const { img, txt } = pairedEmbeddings(12, DIM, 8);
    const next = rng(8);
    writeParquet(
      join(dir, 'm.parquet'),
      Array.from({ length: 11 }, () => randomUid(next)),
    );
    writeFileSync(
      join(dir, 'm.npz'),
      zipSync({ 'l14_img.npy': encodeNpy(img, [12, DIM]), 'l14_txt.npy': encodeNpy(txt, [12, DIM]) }, { level: 0 }),
    );
    const metadataShort = await score(dir, join(tempDir(), 'scores'));
    expect(metadataShort.code).toBe(1);
    expect(metadataShort.stderr).toMatch(/^clipsift score: .*(11|12) rows.*(11|12)/);

    writeParquet(
      join(dir, 'm.parquet'),
      Array.from({ length: 12 }, () => randomUid(next)),
    );
    writeFileSync(
      join(dir, 'm.npz'),
      zipSync(
        { 'l14_img.npy': encodeNpy(img, [12, DIM]), 'l14_txt.npy': encodeNpy(txt.subarray(0, 11 * DIM), [11, DIM]) },
        { level: 0 },
      ),
    );
    const textShort = await score(dir, join(tempDir(), 'scores'));
    expect(textShort.code).toBe(1);
    expect(textShort.stderr).toMatch(/l14_txt\.npy.*11 rows.*12|12.*11 rows/);
  });

  it('refuses a target of another dimension', async () => {
    const { dir } = makeDataCompDir([{ name: 't', rows: 10, seed: 9 }]);
    const target = join(tempDir(), 'b32-target.npy');
    writeTarget(target, 4, 512, 1);
    const out = join(tempDir(), 'scores');
    const result = await score(dir, out, '--target', target);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^clipsift score: \S*b32-target\.npy: target has dim 512 but \S*t\.npz:l14_img\.npy has dim 768\n$/,
    );
    expect(readdirSync(out)).toEqual([]);
  });

  it('keeps the first of duplicate uids within a shard and reports uids repeated across shards', async () => {
    const next = rng(10);
    const uidsA = Array.from({ length: 20 }, () => randomUid(next));
    uidsA[12] = uidsA[4]!;
    uidsA[15] = uidsA[4]!;
    const uidsB = Array.from({ length: 15 }, () => randomUid(next));
    uidsB[6] = uidsA[0]!;
    const { dir, shards } = makeDataCompDir([
      { name: 'a', rows: 20, seed: 1, uids: uidsA },
      { name: 'b', rows: 15, seed: 2, uids: uidsB },
    ]);
    const out = join(tempDir(), 'scores');
    const result = await score(dir, out);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        `warning: a: 2 duplicate identities within the shard, kept the first \\(dropped rows 12, 15; first: uid ${uidsA[4]}\\)`,
      ),
    );
    expect(result.stderr).toMatch(
      new RegExp(`warning: b: 1 identity also appears in earlier shards \\(first: uid ${uidsA[0]}\\)`),
    );
    const a = await readScoreFile(join(out, 'a.scores.parquet'));
    expect(a.rows.map((r) => r.uid)).toEqual(uidsA.filter((_, i) => i !== 12 && i !== 15));
    const img = withoutRows(shards[0]!.matrices.l14_img, [12, 15]);
    const txt = withoutRows(shards[0]!.matrices.l14_txt, [12, 15]);
    expectCloseArray(
      a.rows.map((r) => r.negclip_loss),
      referenceNegClip(img, txt, DIM, ONE_BATCH),
      2e-5,
    );
    const b = await readScoreFile(join(out, 'b.scores.parquet'));
    expect(b.rows).toHaveLength(15);
  });

  it('rejects a malformed uid naming its row, writing no score file (its stats record says why)', async () => {
    const next = rng(11);
    const uids = Array.from({ length: 10 }, () => randomUid(next));
    uids[7] = 'not-a-uid';
    const { dir } = makeDataCompDir([{ name: 'u', rows: 10, seed: 3, uids }]);
    const out = join(tempDir(), 'scores');
    const result = await score(dir, out);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^clipsift score: \S*u\.parquet row 7.*not-a-uid|^clipsift score: \S*u\.parquet row 7/,
    );
    expect(readdirSync(out).sort()).toEqual(['_stats.json', 'u.stats.json']);
    const record = JSON.parse(readFileSync(join(out, 'u.stats.json'), 'utf8'));
    expect(record).toMatchObject({ status: 'failed', written: 0 });
    expect(record.error).toMatch(/u\.parquet row 7/);
  });

  it('refuses to write score files into the input directory', async () => {
    const { dir } = makeDataCompDir([{ name: 'a', rows: 5, seed: 1 }]);
    const result = await score(dir, dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is an input directory; write score files to another --out/);
    expect(readdirSync(dir).sort()).toEqual(['a.npz', 'a.parquet']);
  });

  it('names a missing input and a directory that is no known layout', async () => {
    const missing = await score(join(tempDir(), 'nope'), join(tempDir(), 'scores'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope: no such file or directory/);
    const empty = await score(tempDir(), join(tempDir(), 'scores'));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/is neither a DataComp metadata directory/);
  });
});
