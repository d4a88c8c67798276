// `clipsift select` end to end on score files written with the io writer, against a sort-based reference.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeUids, readSubsetUids, runCli, tempDir, writeScoreFile } from '../select/cli-fixtures.js';

interface Row {
  uid: string;
  clip_score: number;
  negclip_loss: number;
}
type Step =
  | { kind: 'top'; column: 'clip_score' | 'negclip_loss'; fraction: number }
  | { kind: 'min'; column: 'clip_score' | 'negclip_loss'; value: number };

/** Plain reference: survivors sorted by (score desc, uid asc), pool-relative counts; sorted unique uids out. */
function reference(pool: Row[], steps: Step[]): string[] {
  let survivors = [...pool];
  for (const step of steps) {
    if (step.kind === 'min') survivors = survivors.filter((r) => r[step.column] >= step.value);
    else {
      survivors = [...survivors]
        .sort((a, b) => b[step.column] - a[step.column] || (a.uid < b.uid ? -1 : 1))
        .slice(0, Math.floor(pool.length * step.fraction));
    }
  }
  return [...new Set(survivors.map((r) => r.uid))].sort();
}

describe('clipsift select', () => {
  let dir: string;
  let rows: Row[];

  beforeAll(() => {
    dir = tempDir();
    rows = [];
    // Three shards; clip_score takes 9 values only, so ties across shards are common.
    for (let shard = 0; shard < 3; shard++) {
      const uids = makeUids(70, shard + 1);
      const clip = Float32Array.from(uids, (_, i) => Math.round(Math.sin(i * 1.7 + shard) * 4) / 8);
      const neg = Float32Array.from(uids, (_, i) => Math.fround(-Math.abs(Math.cos(i * 0.37 + shard * 2.1))));
      writeScoreFile(join(dir, `0000000${shard}.scores.parquet`), uids, { clip_score: clip, negclip_loss: neg });
      uids.forEach((uid, i) => {
        rows.push({ uid, clip_score: clip[i]!, negclip_loss: neg[i]! });
      });
    }
  });

  const cases: [string, string[], Step[]][] = [
    ['one top step', ['--top', 'clip_score:0.3'], [{ kind: 'top', column: 'clip_score', fraction: 0.3 }]],
    [
      'negCLIPLoss 30 % then CLIPScore 20 % of the pool',
      ['--top', 'negclip_loss:30%', '--top', 'clip_score:0.2'],
      [
        { kind: 'top', column: 'negclip_loss', fraction: 0.3 },
        { kind: 'top', column: 'clip_score', fraction: 0.2 },
      ],
    ],
    [
      'min then top, in the order given',
      ['--min', 'clip_score:0', '--top', 'negclip_loss:0.25'],
      [
        { kind: 'min', column: 'clip_score', value: 0 },
        { kind: 'top', column: 'negclip_loss', fraction: 0.25 },
      ],
    ],
    [
      'top then min (order matters)',
      ['--top', 'negclip_loss:0.25', '--min', 'clip_score:0'],
      [
        { kind: 'top', column: 'negclip_loss', fraction: 0.25 },
        { kind: 'min', column: 'clip_score', value: 0 },
      ],
    ],
  ];
  for (const [name, args, steps] of cases) {
    it(`keeps what the reference keeps: ${name}`, async () => {
      const out = join(tempDir(), 'subset.npy');
      const result = await runCli(['select', dir, '--out', out, ...args]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(readSubsetUids(out)).toEqual(reference(rows, steps));
    });
  }

  it('restricts the pool to --given-uids first', async () => {
    const work = tempDir();
    const given = join(work, 'given.npy');
    const kept = join(work, 'kept.npy');
    // A given subset: every third row, written by select itself from a min step that keeps all rows.
    const chosen = rows.filter((_, i) => i % 3 === 0);
    const chosenDir = tempDir();
    writeScoreFile(
      join(chosenDir, 'x.scores.parquet'),
      chosen.map((r) => r.uid),
      { clip_score: new Float32Array(chosen.length) },
    );
    expect((await runCli(['select', chosenDir, '--out', given, '--min', 'clip_score:0'])).code).toBe(0);

    const result = await runCli([
      'select',
      dir,
      '--out',
      kept,
      '--given-uids',
      given,
      '--top',
      'clip_score:0.5',
      '--json',
    ]);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.pool).toBe(chosen.length);
    expect(summary.given).toEqual({ uids: chosen.length, matchedRows: chosen.length });
    expect(readSubsetUids(kept)).toEqual(reference(chosen, [{ kind: 'top', column: 'clip_score', fraction: 0.5 }]));
  });

  it('reports pool size, rows kept and thresholds per step', async () => {
    const out = join(tempDir(), 'subset.npy');
    const result = await runCli([
      'select',
      dir,
      '--out',
      out,
      '--top',
      'negclip_loss:0.3',
      '--min',
      'clip_score:0.125',
      '--json',
    ]);
    const summary = JSON.parse(result.stdout);
    const byNeg = [...rows].sort((a, b) => b.negclip_loss - a.negclip_loss || (a.uid < b.uid ? -1 : 1)).slice(0, 63);
    const afterMin = byNeg.filter((r) => r.clip_score >= 0.125);
    expect(summary.scoreFiles).toBe(3);
    expect(summary.pool).toBe(210);
    expect(summary.steps).toEqual([
      { kind: 'top', column: 'negclip_loss', fraction: 0.3, kept: 63, threshold: byNeg[62]!.negclip_loss },
      { kind: 'min', column: 'clip_score', value: 0.125, kept: afterMin.length, threshold: 0.125 },
    ]);
    expect(summary.uids).toBe(afterMin.length);
    // The text form names every step.
    const text = await runCli([
      'select',
      dir,
      '--out',
      out,
      '--force',
      '--top',
      'negclip_loss:0.3',
      '--min',
      'clip_score:0.125',
    ]);
    expect(text.stdout).toMatch(/pool: 210 rows from 3 score files/);
    expect(text.stdout).toMatch(/top negclip_loss 30%\s+63 rows kept/);
    expect(text.stdout).toMatch(new RegExp(`min clip_score ≥ 0.125\\s+${afterMin.length} rows kept`));
  });

  it('refuses to overwrite without --force, and overwrites with it', async () => {
    const out = join(tempDir(), 'subset.npy');
    writeFileSync(out, 'keep me');
    const refused = await runCli(['select', dir, '--out', out, '--top', 'clip_score:0.1']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/already exists/);
    expect((await runCli(['select', dir, '--out', out, '--top', 'clip_score:0.1', '--force'])).code).toBe(0);
    expect(readSubsetUids(out)).toEqual(reference(rows, [{ kind: 'top', column: 'clip_score', fraction: 0.1 }]));
  });

  it('fails with one line on bad input, writing nothing', async () => {
    const work = tempDir();
    const out = join(work, 'subset.npy');
    const nan = join(work, 'nan.scores.parquet');
    const uids = makeUids(4, 99);
    writeScoreFile(nan, uids, { clip_score: Float32Array.of(0.1, NaN, 0.3, NaN) });
    const noUid = join(work, 'no-uid.parquet');
    writeFileSync(
      noUid,
      (await import('../../src/io/parquet.js')).writeParquetTable({ columns: { clip_score: Float32Array.of(1) } }),
    );

    const failures: [string[], RegExp][] = [
      [[dir, '--top', 'normsim_inf:0.2'], /has no score column normsim_inf/],
      [
        [nan, '--top', 'clip_score:0.5'],
        new RegExp(`column clip_score is NaN in 2 rows: uid ${uids[1]}, uid ${uids[3]}`),
      ],
      [[noUid, '--top', 'clip_score:0.5'], /has no uid column/],
      [[dir, '--top', 'clip_score:1.5'], /fraction must be in \[0, 1\]/],
      [[dir, '--top', 'clip_score'], /expects COLUMN:VALUE/],
      [[dir, '--min', 'clip_score:abc'], /value must be a number/],
      [[dir], /nothing to select/],
      [[join(work, 'missing'), '--top', 'clip_score:0.5'], /no such file or directory/],
      [[dir, '--top', 'clip_score:0.5', '--normsim-d'], /--normsim-d needs the image embeddings/],
      [[dir, '--top', 'clip_score:0.5', '--normsim-d-iterations', '3'], /--normsim-d-iterations needs --normsim-d/],
    ];
    for (const [args, message] of failures) {
      const result = await runCli(['select', ...args, '--out', out]);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('keeps exactly 29 % and 57 % of a 100-row pool (not 28 and 56)', async () => {
    const work = tempDir();
    const uids = makeUids(100, 7);
    const scores = Float32Array.from(uids, (_, i) => (i * 37) % 100);
    writeScoreFile(join(work, 'a.scores.parquet'), uids, { clip_score: scores });
    const byScore = [...uids.keys()].sort((a, b) => scores[b]! - scores[a]!).map((i) => uids[i]!);
    for (const [fraction, count] of [
      ['29%', 29],
      ['0.57', 57],
      ['0.29', 29],
    ] as const) {
      const out = join(work, `top-${fraction}.npy`);
      const result = await runCli(['select', work, '--out', out, '--top', `clip_score:${fraction}`, '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(readSubsetUids(out)).toEqual(byScore.slice(0, count).sort());
    }
  });

  it('refuses fractions that are not plain decimals (0x0, blanks) and takes a negative --min value as a number', async () => {
    const work = tempDir();
    const uids = makeUids(10, 8);
    writeScoreFile(join(work, 'a.scores.parquet'), uids, { clip_score: Float32Array.from(uids, (_, i) => i - 5) });
    for (const bad of ['0x0', ' 0.5', '-0']) {
      const result = await runCli(['select', work, '--out', join(work, 'x.npy'), '--top', `clip_score:${bad}`]);
      expect(result.code, bad).toBe(2);
      expect(result.stderr).toMatch(/written in decimal/);
    }
    const hex = await runCli(['select', work, '--out', join(work, 'x.npy'), '--min', 'clip_score:0x10']);
    expect(hex.code).toBe(2);
    expect(hex.stderr).toMatch(/value must be a number, got '0x10'/);
    const out = join(work, 'neg.npy');
    const negative = await runCli(['select', work, '--out', out, '--min', 'clip_score:-2']);
    expect(negative.code, negative.stderr).toBe(0);
    expect(readSubsetUids(out)).toEqual(uids.slice(3).sort());
  });
});

describe('select summary wording', () => {
  it('prints counts as score does (50,000) and a single row or uid in the singular', async () => {
    const { formatSelectSummary } = await import('../../src/cli/select.js');
    const text = formatSelectSummary({
      scoreFiles: 1,
      pool: 50_000,
      given: { uids: 1, matchedRows: 1 },
      steps: [
        { kind: 'top', column: 'negclip_loss', fraction: 0.3, kept: 15_000, threshold: 0.25 },
        { kind: 'min', column: 'clip_score', value: 0.9, kept: 1, threshold: null },
      ],
      keptRows: 1,
      uids: 1,
      out: 'subset.npy',
    } as Parameters<typeof formatSelectSummary>[0]);
    expect(text.split('\n')).toEqual([
      'pool: 50,000 rows from 1 score file (--given-uids: 1 uid, 1 row matched)',
      '  1. top negclip_loss 30%       15,000 rows kept   threshold 0.25',
      '  2. min clip_score ≥ 0.9            1 row  kept',
      'wrote subset.npy: 1 uid',
    ]);
  });
});
