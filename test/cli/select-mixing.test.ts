// select pools only what belongs together: score files of different parameters are refused (naming the files
// and the parameter), so is an unfinished run (score records its shard count), and a file given twice counts once.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSubsetUids } from '../select/cli-fixtures.js';
import { makeDataCompDir, readScoreFile, runInProcess, tempDir } from './helpers.js';

const SHARDS = ['00000000', '00000001', '00000002'];
const SCORE = ['--batch-size', '16', '--threads', '1', '--quiet'];
let pool: string;
let scores: string;

beforeAll(async () => {
  pool = makeDataCompDir(SHARDS.map((name, i) => ({ name, rows: 24, seed: 40 + i }))).dir;
  scores = join(tempDir(), 'scores');
  const result = await runInProcess(['score', pool, '--out', scores, ...SCORE]);
  expect(result.code, result.stderr).toBe(0);
});

describe('select refuses what should not be mixed', () => {
  it('score files record the shard count of their run', async () => {
    const file = await readScoreFile(join(scores, `${SHARDS[0]}.scores.parquet`));
    expect(JSON.parse(file.metadata['clipsift.run']!)).toEqual({ shards: 3 });
  });

  it('refuses score files computed with another temperature, naming both files and the parameter', async () => {
    const other = join(tempDir(), 'scores-hot');
    const scored = await runInProcess(['score', pool, '--out', other, ...SCORE, '--temperature', '0.07']);
    expect(scored.code, scored.stderr).toBe(0);
    const mixed = join(tempDir(), 'mixed');
    mkdirSync(mixed);
    copyFileSync(join(scores, `${SHARDS[0]}.scores.parquet`), join(mixed, `${SHARDS[0]}.scores.parquet`));
    copyFileSync(join(scores, `${SHARDS[1]}.scores.parquet`), join(mixed, `${SHARDS[1]}.scores.parquet`));
    copyFileSync(join(other, `${SHARDS[2]}.scores.parquet`), join(mixed, `${SHARDS[2]}.scores.parquet`));
    const out = join(tempDir(), 'subset.npy');
    const result = await runInProcess(['select', mixed, '--out', out, '--top', 'negclip_loss:0.3']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `${SHARDS[2]}\\.scores\\.parquet field temperature: was scored with temperature 0\\.07 but .*${SHARDS[0]}\\.scores\\.parquet with 0\\.01`,
      ),
    );
  });

  it('refuses an unfinished run (fewer files than its shards) unless --partial', async () => {
    const some = join(tempDir(), 'some');
    mkdirSync(some);
    for (const shard of SHARDS.slice(0, 2))
      copyFileSync(join(scores, `${shard}.scores.parquet`), join(some, `${shard}.scores.parquet`));
    const out = join(tempDir(), 'subset.npy');
    const refused = await runInProcess(['select', some, '--out', out, '--top', 'clip_score:0.5']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/comes from a score run of 3 shards but 2 score files are given.*--partial/);
    const partial = await runInProcess(['select', some, '--out', out, '--top', 'clip_score:0.5', '--partial']);
    expect(partial.code, partial.stderr).toBe(0);
    expect(readSubsetUids(out)).toHaveLength(24);
  });

  it('counts a directory plus one of its files once, with a note', async () => {
    const out = join(tempDir(), 'subset.npy');
    const file = join(scores, `${SHARDS[1]}.scores.parquet`);
    const result = await runInProcess(['select', scores, file, '--out', out, '--top', 'clip_score:0.5']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`note: ${file} is also given as .*; its rows count once`));
    expect(result.stdout).toMatch(/pool: 72 rows from 3 score files/);
    expect(readSubsetUids(out)).toHaveLength(36);
    rmSync(out);
  });
});
