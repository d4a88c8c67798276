/**
 * clipsift score end to end on DataComp-shaped directories: the score files' columns against a
 * float64 reference, parameters in the metadata, resume and refusal to overwrite.
 * Runs the built CLI (dist/lib) in-process; `npm test` builds first.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deriveSeed } from '../../src/numeric/random.js';
import {
  makeDataCompDir,
  readScoreFile,
  referenceClipScore,
  referenceNegClip,
  referenceNormSim,
  runInProcess,
  tempDir,
  widen,
  writeTarget,
  type WrittenShard,
} from './helpers.js';

// A CLIP-like temperature: with τ = 0.01 the diagonal swamps every batch and the shuffle would not matter.
const NEG = { batchSize: 64, temperature: 0.07, repeats: 3, seed: 5 };

/** Compares a float32 column with a float64 reference, element by element. */
function expectClose(actual: unknown[], expected: Float64Array, tolerance: number, what: string): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  actual.forEach((value, i) => {
    const error = Math.abs((value as number) - expected[i]!);
    if (!(error <= worst)) {
      worst = error;
      at = i;
    }
  });
  expect(worst, `${what}: largest error at row ${at}`).toBeLessThanOrEqual(tolerance);
}

function column(rows: Record<string, unknown>[], name: string): unknown[] {
  return rows.map((row) => row[name]);
}

describe('clipsift score', () => {
  it('writes one score file per shard whose columns match the float64 reference', async () => {
    const { dir, shards } = makeDataCompDir([
      { name: 'shard-a', rows: 150, seed: 11 },
      { name: 'shard-b', rows: 100, seed: 12, compressed: true },
      { name: 'shard-c', rows: 70, seed: 13 },
    ]);
    const targetPath = join(tempDir(), 'target.npy');
    const target = widen(writeTarget(targetPath, 40, 768, 99));
    const out = join(tempDir(), 'scores');
    const result = await runInProcess([
      'score',
      dir,
      '--out',
      out,
      '--target',
      targetPath,
      '--batch-size',
      String(NEG.batchSize),
      '--temperature',
      String(NEG.temperature),
      '--repeats',
      String(NEG.repeats),
      '--seed',
      String(NEG.seed),
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^scored 320 rows in 3 shards/);

    for (const shard of shards) {
      const file = await readScoreFile(join(out, `${shard.name}.scores.parquet`));
      expect(file.columns).toEqual(['uid', 'clip_score', 'negclip_loss', 'normsim_inf']);
      expect(column(file.rows, 'uid')).toEqual(shard.uids);
      const img = widen(shard.matrices.l14_img);
      const txt = widen(shard.matrices.l14_txt);
      expectClose(column(file.rows, 'clip_score'), referenceClipScore(img, txt, 768), 2e-6, `${shard.name} clip_score`);
      // The shuffle seed of a shard derives from the run seed and the shard's name only.
      const negclip = referenceNegClip(img, txt, 768, { ...NEG, seed: deriveSeed(NEG.seed, shard.name) });
      expectClose(column(file.rows, 'negclip_loss'), negclip, 2e-5, `${shard.name} negclip_loss`);
      expectClose(
        column(file.rows, 'normsim_inf'),
        referenceNormSim(img, target, 768, Infinity),
        2e-6,
        `${shard.name} normsim_inf`,
      );

      const parameters = JSON.parse(file.metadata['clipsift.parameters']!);
      expect(parameters).toMatchObject({
        shard: shard.name,
        arch: 'l14',
        batchSize: 64,
        temperature: 0.07,
        repeats: 3,
        seed: 5,
        shardSeed: deriveSeed(5, shard.name),
        p: 'inf',
        normalize: false,
        target: { name: 'target.npy', rows: 40, dim: 768, bytes: statSync(targetPath).size },
      });
      expect(parameters.target.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(file.metadata['clipsift.version']).toMatch(/^\d+\.\d+\.\d+/);
      expect(file.metadata['clipsift.engine']).toMatch(/^(baseline|relaxed)$/);
    }
  });

  it('computes NormSim_2 against a target larger than the dim, and reads the b32 pair with --arch b32', async () => {
    const { dir, shards } = makeDataCompDir([{ name: 's', rows: 60, seed: 21 }]);
    const targetPath = join(tempDir(), 'big-target.npy');
    const target = widen(writeTarget(targetPath, 600, 512, 7));
    const out = join(tempDir(), 'scores');
    const result = await runInProcess([
      'score',
      dir,
      '--out',
      out,
      '--arch',
      'b32',
      '--target',
      targetPath,
      '--p',
      '2',
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(result.code).toBe(0);
    const file = await readScoreFile(join(out, 's.scores.parquet'));
    expect(file.columns).toEqual(['uid', 'clip_score', 'negclip_loss', 'normsim_2']);
    const shard = shards[0]!;
    const img = widen(shard.matrices.b32_img);
    const txt = widen(shard.matrices.b32_txt);
    expectClose(column(file.rows, 'clip_score'), referenceClipScore(img, txt, 512), 2e-6, 'b32 clip_score');
    // Default batch size exceeds the rows: one batch, independent of the shuffle.
    expectClose(
      column(file.rows, 'negclip_loss'),
      referenceNegClip(img, txt, 512, { batchSize: 32768, temperature: 0.01, repeats: 10, seed: 0 }),
      1e-4,
      'b32 negclip_loss',
    );
    expectClose(column(file.rows, 'normsim_2'), referenceNormSim(img, target, 512, 2), 1e-4, 'normsim_2');
  });

  it('resumes: a re-run keeps finished files, refuses other parameters without --force, and --force rewrites', async () => {
    const { dir } = makeDataCompDir([
      { name: 'a', rows: 80, seed: 1 },
      { name: 'b', rows: 50, seed: 2 },
    ]);
    const out = join(tempDir(), 'scores');
    const args = ['score', dir, '--out', out, '--threads', '1', '--quiet', '--batch-size', '32'];
    expect((await runInProcess(args)).code).toBe(0);
    const before = ['a', 'b'].map((n) => readFileSync(join(out, `${n}.scores.parquet`)));
    const mtimes = ['a', 'b'].map((n) => statSync(join(out, `${n}.scores.parquet`)).mtimeMs);

    const again = await runInProcess(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/all 2 score files .* are up to date/);
    expect(['a', 'b'].map((n) => statSync(join(out, `${n}.scores.parquet`)).mtimeMs)).toEqual(mtimes);

    const other = await runInProcess([...args.slice(0, -1), '16']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      /^clipsift score: .*a\.scores\.parquet: exists with other parameters: batchSize 32 ≠ 16 \(and 1 more score file\); pass --force/,
    );
    expect(['a', 'b'].map((n) => readFileSync(join(out, `${n}.scores.parquet`)))).toEqual(before);

    const forced = await runInProcess([...args.slice(0, -1), '16', '--force']);
    expect(forced.code).toBe(0);
    const rewritten = await readScoreFile(join(out, 'a.scores.parquet'));
    expect(JSON.parse(rewritten.metadata['clipsift.parameters']!).batchSize).toBe(16);
  });

  it('--precision i16 scores within its bounds, is recorded, and a resume at another precision is refused', async () => {
    const { dir, shards } = makeDataCompDir([{ name: 'p', rows: 120, seed: 41 }]);
    const out = join(tempDir(), 'scores');
    const args = ['score', dir, '--out', out, '--threads', '1', '--quiet', '--batch-size', '64', '--precision', 'i16'];
    expect((await runInProcess(args)).code).toBe(0);
    const file = await readScoreFile(join(out, 'p.scores.parquet'));
    expect(JSON.parse(file.metadata['clipsift.parameters']!).precision).toBe('i16');
    const img = widen(shards[0]!.matrices.l14_img);
    const txt = widen(shards[0]!.matrices.l14_txt);
    expectClose(column(file.rows, 'clip_score'), referenceClipScore(img, txt, 768), 5e-5, 'i16 clip_score');
    expectClose(
      column(file.rows, 'negclip_loss'),
      referenceNegClip(img, txt, 768, { batchSize: 64, temperature: 0.01, repeats: 10, seed: deriveSeed(0, 'p') }),
      5e-5,
      'i16 negclip_loss',
    );
    const f32 = await runInProcess(args.slice(0, -2));
    expect(f32.code).toBe(1);
    expect(f32.stderr).toMatch(/exists with other parameters: precision "i16" ≠ "f32"/);
    const bad = await runInProcess([...args.slice(0, -1), 'i8']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--precision must be f32 or i16, got 'i8'/);
  });

  it('gives a shard the same scores whatever other shards are in the run', async () => {
    const specs = [
      { name: 'x', rows: 90, seed: 31 },
      { name: 'y', rows: 90, seed: 32 },
    ];
    const both = makeDataCompDir(specs);
    const alone = makeDataCompDir([specs[1]!]);
    const outBoth = join(tempDir(), 'both');
    const outAlone = join(tempDir(), 'alone');
    const common = ['--threads', '1', '--quiet', '--batch-size', '40', '--repeats', '2'];
    expect((await runInProcess(['score', both.dir, '--out', outBoth, ...common])).code).toBe(0);
    expect((await runInProcess(['score', alone.dir, '--out', outAlone, ...common])).code).toBe(0);
    // Same scores, keys and parameters; only the record of the run's size differs (select uses it to
    // refuse an unfinished run).
    const [alone1, both1] = await Promise.all([
      readScoreFile(join(outAlone, 'y.scores.parquet')),
      readScoreFile(join(outBoth, 'y.scores.parquet')),
    ]);
    expect(alone1.rows).toEqual(both1.rows);
    expect(JSON.parse(alone1.metadata['clipsift.run']!)).toEqual({ shards: 1 });
    expect(JSON.parse(both1.metadata['clipsift.run']!)).toEqual({ shards: 2 });
    const { 'clipsift.run': _a, ...aloneMeta } = alone1.metadata;
    const { 'clipsift.run': _b, ...bothMeta } = both1.metadata;
    expect(aloneMeta).toEqual(bothMeta);
  });

  it('accepts shard files given directly and names them in --help', async () => {
    const { dir, shards } = makeDataCompDir([
      { name: 'p', rows: 20, seed: 3 },
      { name: 'q', rows: 20, seed: 4 },
    ]);
    const out = join(tempDir(), 'scores');
    const result = await runInProcess([
      'score',
      join(dir, 'q.parquet'),
      join(dir, 'q.npz'),
      '--out',
      out,
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(result.code).toBe(0);
    const file = await readScoreFile(join(out, 'q.scores.parquet'));
    expect(column(file.rows, 'uid')).toEqual((shards[1] as WrittenShard).uids);
    expect(() => statSync(join(out, 'p.scores.parquet'))).toThrow();
    const help = await runInProcess(['score', '--help']);
    expect(help.stdout).toMatch(/--batch-size/);
    expect(help.stdout).toMatch(/--skip-invalid/);
  });

  it('answers bad options with a usage error', async () => {
    const { dir } = makeDataCompDir([{ name: 'a', rows: 5, seed: 1 }]);
    for (const [args, pattern] of [
      [['score', dir], /--out <dir> is required/],
      [['score', dir, '--out', tempDir(), '--arch', 'h-14'], /--arch must be a name of letters, digits and _/],
      [['score', dir, '--out', tempDir(), '--img-key', 'x'], /--img-key and --txt-key go together/],
      [['score', dir, '--out', tempDir(), '--batch-size', '0'], /--batch-size must be greater than 0/],
      [['score', dir, '--out', tempDir(), '--target', 'x.npy', '--p', '0.5'], /--p must be inf or a number >= 1/],
      [['score', dir, '--out', tempDir(), '--p', '2'], /--p needs --target/],
    ] as const) {
      const result = await runInProcess([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(pattern);
    }
  });
});
