/**
 * clipsift run against its definition: the subset file of `clipsift score --target` (every column on
 * every row) followed by `clipsift select` with the same steps, byte for byte, while NormSim is computed
 * for the survivors of the steps before it only. Pools are DataComp-shaped (parquet + npz shards); one
 * plants a block of identical pairs so that ties straddle the cuts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  makeDataCompDir,
  readScoreFile,
  runInProcess,
  tempDir,
  writeTarget,
  type ShardMatrices,
  type ShardSpec,
} from './helpers.js';

const SCORE = ['--temperature', '0.07', '--repeats', '3', '--seed', '9', '--simd', 'baseline', '--threads', '1'];
const PAPER = ['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'];

const shardsOf = (count: number, rows: number, seed: number): ShardSpec[] =>
  Array.from({ length: count }, (_, k) => ({
    name: `shard-${String(k).padStart(2, '0')}`,
    rows: rows + 23 * k,
    seed: seed + k,
  }));

async function ok(argv: string[]): Promise<{ stdout: string; stderr: string }> {
  const result = await runInProcess(argv);
  expect(result.code, `${argv.join(' ')}\n${result.stderr}`).toBe(0);
  return result;
}

/** The reference: score every column on every row, then select. */
async function scoreAndSelect(dir: string, target: string, score: string[], steps: string[]): Promise<Buffer> {
  const scores = join(tempDir(), 'all');
  await ok(['score', dir, '--out', scores, '--target', target, ...score, '--quiet']);
  const subset = join(tempDir(), 'reference.npy');
  await ok(['select', scores, ...steps, '--out', subset]);
  return readFileSync(subset);
}

async function run(dir: string, out: string, target: string, score: string[], steps: string[], extra: string[] = []) {
  return ok(['run', dir, '--out', out, '--target', target, ...score, ...steps, '--quiet', ...extra]);
}

/** uid → value of a column over a directory's score files. */
async function columnByUid(dir: string, column: string): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.scores.parquet'))) {
    for (const row of (await readScoreFile(join(dir, name))).rows) map.set(row.uid as string, row[column] as number);
  }
  return map;
}

describe('clipsift run', { timeout: 240_000 }, () => {
  it('writes the subset of score + select byte for byte, with NormSim for the negCLIPLoss survivors only', async () => {
    const { dir } = makeDataCompDir(shardsOf(6, 170, 40));
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 40, 768, 5);
    const score = [...SCORE, '--batch-size', '128'];
    const reference = await scoreAndSelect(dir, target, score, PAPER);
    const out = join(tempDir(), 'run');
    const { stdout } = await run(dir, out, target, score, PAPER);
    expect(readFileSync(join(out, 'subset.npy')).equals(reference)).toBe(true);

    // The run's negCLIPLoss score files hold no NormSim; the survivor files hold it for ⌊0.3·N⌋ rows in all.
    const pool = 6 * 170 + 23 * 15;
    const survivors = Math.floor(pool * 0.3);
    expect((await readScoreFile(join(out, 'shard-00.scores.parquet'))).columns).toEqual([
      'uid',
      'clip_score',
      'negclip_loss',
    ]);
    const normSim = await columnByUid(join(out, 'normsim_inf'), 'normsim_inf');
    expect(normSim.size).toBe(survivors);
    expect(stdout).toContain(
      `NormSim computed for ${survivors} rows of ${pool.toLocaleString('en-US')} rows (29.96% of the pool)`,
    );
    // They are the rows with the top negCLIPLoss of the whole pool, and their NormSim is the full run's, bit for bit.
    const all = join(tempDir(), 'all-again');
    await ok(['score', dir, '--out', all, '--target', target, ...score, '--quiet']);
    const negclip = await columnByUid(all, 'negclip_loss');
    const full = await columnByUid(all, 'normsim_inf');
    const top = [...negclip.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, survivors);
    expect(new Set(normSim.keys())).toEqual(new Set(top.map(([uid]) => uid)));
    for (const [uid, value] of normSim) expect(Object.is(value, full.get(uid)), uid).toBe(true);
  });

  it('matches score + select when ties straddle the cuts (identical pairs), for several step orders', async () => {
    // Shard 02 is one pair copied 400 times (distinct uids), 42 % of the pool: the copies tie in every score,
    // negCLIPLoss included (one batch per shard; they rank last there, mid-pool by clip_score), so the
    // fractions below put the first cut among them.
    const copy = (m: ShardMatrices) => {
      for (const key of ['l14_img', 'l14_txt'] as const) {
        const rows = m[key].length / 768;
        for (let r = 1; r < rows; r++) m[key].copyWithin(r * 768, 0, 768);
      }
    };
    const specs = shardsOf(4, 150, 70);
    specs[2] = { ...specs[2]!, rows: 400, edit: copy };
    const { dir } = makeDataCompDir(specs);
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 30, 768, 6);
    const score = [...SCORE, '--batch-size', '1024'];
    const recipes = [
      ['--top', 'negclip_loss:0.7', '--top', 'normsim_inf:0.2'],
      ['--top', 'clip_score:0.5', '--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'],
      ['--top', 'clip_score:0.45', '--top', 'normsim_inf:0.2', '--top', 'negclip_loss:0.1'],
      ['--rounding', 'datacomp', '--top', 'negclip_loss:0.7', '--top', 'normsim_inf:0.2'],
    ];
    const all = join(tempDir(), 'all');
    await ok(['score', dir, '--out', all, '--target', target, ...score, '--quiet']);
    const pool = 3 * 150 + 23 * 4 + 400;
    for (const steps of recipes) {
      // The premise: the first cut falls inside the block of copies (some tied rows kept, some dropped).
      const [column, fraction] = steps[steps.indexOf('--top') + 1]!.split(':') as [string, string];
      const values = [...(await columnByUid(all, column)).values()].sort((a, b) => b - a);
      const kept = Math.floor(pool * Number(fraction));
      const cut = values[kept - 1]!;
      expect(values.filter((v) => v === cut).length, `${steps.join(' ')}: rows tied at the cut`).toBe(400);
      expect(values.indexOf(cut)).toBeLessThan(kept - 1);
      expect(values.lastIndexOf(cut)).toBeGreaterThan(kept - 1);

      const reference = await scoreAndSelect(dir, target, score, steps);
      const out = join(tempDir(), 'run');
      await run(dir, out, target, score, steps);
      expect(readFileSync(join(out, 'subset.npy')).equals(reference), steps.join(' ')).toBe(true);
    }
  });

  it('resumes: a re-run computes nothing again, and a cut with fewer survivors reuses the NormSim files', async () => {
    const { dir } = makeDataCompDir(shardsOf(3, 160, 90));
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 20, 768, 7);
    const score = [...SCORE, '--batch-size', '128'];
    const out = join(tempDir(), 'run');
    await run(dir, out, target, score, PAPER);
    const stamp = (path: string) => statSync(path).mtimeMs;
    const files = [
      ...readdirSync(out)
        .filter((n) => n.endsWith('.scores.parquet'))
        .map((n) => join(out, n)),
      ...readdirSync(join(out, 'normsim_inf')).map((n) => join(out, 'normsim_inf', n)),
    ];
    const before = files.map(stamp);
    const again = await ok(['run', dir, '--out', out, '--target', target, ...score, ...PAPER]);
    expect(files.map(stamp)).toEqual(before);
    expect(again.stdout).toMatch(/all 3 score files .* are up to date/);
    expect(again.stderr).toMatch(/3 shards already done/);
    // Fewer survivors (25 % instead of 30 %): the NormSim files cover them, nothing is recomputed.
    const fewer = ['--top', 'negclip_loss:0.25', '--top', 'normsim_inf:0.2'];
    const subset = join(tempDir(), 'fewer.npy');
    await run(dir, out, target, score, fewer, ['--subset', subset]);
    expect(files.map(stamp)).toEqual(before);
    expect(readFileSync(subset).equals(await scoreAndSelect(dir, target, score, fewer))).toBe(true);
    // More survivors (40 %): computed again, and still select's subset.
    const more = ['--top', 'negclip_loss:0.4', '--top', 'normsim_inf:0.2'];
    await run(dir, out, target, score, more, ['--subset', subset]);
    expect(readFileSync(subset).equals(await scoreAndSelect(dir, target, score, more))).toBe(true);
    expect((await columnByUid(join(out, 'normsim_inf'), 'normsim_inf')).size).toBe(
      Math.floor((3 * 160 + 23 * 3) * 0.4),
    );
  });

  it('refuses what it cannot do exactly or usefully, before any work, with the reason', async () => {
    const { dir } = makeDataCompDir(shardsOf(1, 50, 3));
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 5, 768, 1);
    const out = join(tempDir(), 'never');
    const cases: [string[], RegExp][] = [
      [['--target', target, '--top', 'normsim_inf:0.2', '--top', 'negclip_loss:0.3'], /first step is on normsim_inf/],
      [['--target', target, '--top', 'negclip_loss:0.3'], /no step uses normsim_inf/],
      [['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'], /normsim_inf needs NormSim: give --target/],
      [['--target', target, '--p', '2', ...PAPER], /normsim_inf is not the NormSim this run computes \(normsim_2/],
      [
        ['--target', target, '--top', 'clip_l14_similarity_score:0.3', '--top', 'normsim_inf:0.2'],
        /not one run computes/,
      ],
      [['--target', target, ...PAPER, '--shard', '0/2'], /--shard is not for run/],
      [['--target', target, ...PAPER, '--normsim-d'], /unknown option/i],
    ];
    for (const [args, message] of cases) {
      const result = await runInProcess(['run', dir, '--out', out, ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(() => statSync(out)).toThrow();
  });
});
