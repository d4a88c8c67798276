/**
 * select on score files without uids (clip-retrieval): the kept rows' keys as a parquet of the key
 * columns and as a plain text list, checked against the selection rule applied by hand to the scores
 * hyparquet reads back (top ⌊N·f⌋ by score, ties by key, output in score-file order). Tie and refusal
 * cases use score files written with hyparquet-writer directly, not by clipsift.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { readScoreFile, runInProcess, tempDir } from './helpers.js';
import { clipRetrievalFolder } from './input-cases.js';

type Row = { key: (string | number)[]; score: number };

function compareKeys(a: (string | number)[], b: (string | number)[]): number {
  for (let k = 0; k < a.length; k++) {
    if (a[k]! < b[k]!) return -1;
    if (a[k]! > b[k]!) return 1;
  }
  return 0;
}

/** The rule by hand: rows of all files in order, the top ⌊N·f⌋ by score (ties: smaller key first), in file order. */
function expectedKept(rows: Row[], fraction: number): string[] {
  const count = Math.floor(rows.length * fraction);
  const ranked = rows
    .map((r, i) => ({ ...r, i }))
    .sort((a, b) => b.score - a.score || compareKeys(a.key, b.key))
    .slice(0, count);
  return ranked.sort((a, b) => a.i - b.i).map((r) => r.key.join('\t'));
}

async function scoreRows(out: string, keys: (r: Record<string, unknown>) => (string | number)[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const name of ['shard_0.scores.parquet', 'shard_1.scores.parquet']) {
    for (const r of (await readScoreFile(join(out, name))).rows)
      rows.push({ key: keys(r), score: r.negclip_loss as number });
  }
  return rows;
}

/** A score file as another tool might write one: the given key columns and clip_score, no clipsift metadata. */
function writeKeyedScores(path: string, keys: Record<string, string[] | number[]>, clipScore: number[]): void {
  const columnData = [
    ...Object.entries(keys).map(([name, data]) =>
      typeof data[0] === 'number'
        ? { name, data: Int32Array.from(data as number[]), type: 'INT32' as const }
        : { name, data, type: 'STRING' as const },
    ),
    { name: 'clip_score', data: Float32Array.from(clipScore), type: 'FLOAT' as const },
  ];
  writeFileSync(path, new Uint8Array(parquetWriteBuffer({ columnData })));
}

describe('select on score files keyed by file and row, or by a key column', () => {
  it('writes the kept (file, row) keys as parquet and as a text list', async () => {
    const dir = clipRetrievalFolder(2);
    const scores = join(tempDir(), 'scores');
    expect((await runInProcess(['score', dir, '--out', scores, '--threads', '1', '--quiet'])).code).toBe(0);
    const out = join(tempDir(), 'kept.parquet');
    const result = await runInProcess(['select', scores, '--top', 'negclip_loss:0.4', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const txt = out.replace(/\.parquet$/, '.txt');
    expect(result.stdout).toContain(`wrote ${out} and ${txt}: 7 keys (file, row)`);

    const rows = await scoreRows(scores, (r) => [String(r.file), Number(r.row)]);
    const kept = expectedKept(rows, 0.4);
    expect(kept).toHaveLength(7);
    expect(readFileSync(txt, 'utf8')).toBe(kept.map((k) => `${k}\n`).join(''));
    const written = await readScoreFile(out);
    expect(written.columns).toEqual(['file', 'row']);
    expect(written.rows.map((r) => `${r.file}\t${r.row}`)).toEqual(kept);
  });

  it('writes the kept values of --key-column, and a text list alone with --out .txt', async () => {
    const dir = clipRetrievalFolder(2);
    const scores = join(tempDir(), 'scores');
    const scored = await runInProcess(['score', dir, '--out', scores, '--key-column', 'image_path', '--quiet']);
    expect(scored.code).toBe(0);
    const out = join(tempDir(), 'kept.txt');
    const result = await runInProcess(['select', scores, '--top', 'negclip_loss:0.5', '--out', out, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).keys).toEqual({ columns: ['image_path'], kept: 9, files: [out] });
    const rows = await scoreRows(scores, (r) => [String(r.image_path)]);
    expect(readFileSync(out, 'utf8')).toBe(
      expectedKept(rows, 0.5)
        .map((k) => `${k}\n`)
        .join(''),
    );
    expect(existsSync(out.replace(/\.txt$/, '.parquet'))).toBe(false);
  });

  it('breaks ties by key, numbers by value, whatever the order the files are given in', async () => {
    const dir = tempDir();
    // Twelve rows per file: 8 distinct scores, then four tied at the cut (rows 8, 9, 10, 11 of each file).
    const scores = [0.9, 0.89, 0.88, 0.87, 0.86, 0.85, 0.84, 0.83, 0.5, 0.5, 0.5, 0.5];
    const rows = Array.from({ length: 12 }, (_, i) => i);
    writeKeyedScores(join(dir, 'b.scores.parquet'), { file: rows.map(() => 'b'), row: rows }, scores);
    writeKeyedScores(join(dir, 'a.scores.parquet'), { file: rows.map(() => 'a'), row: rows }, scores);
    const outs: string[] = [];
    for (const order of [
      ['b', 'a'],
      ['a', 'b'],
    ]) {
      const out = join(tempDir(), 'kept.txt');
      const files = order.map((name) => join(dir, `${name}.scores.parquet`));
      // 24 rows, 0.75 → 18: the 16 distinct ones and two of the eight tied 0.5s: file a's rows 8 and 9
      // (by value; as text, '10' < '11' < '8' would pick rows 10 and 11).
      const result = await runInProcess(['select', ...files, '--top', 'clip_score:0.75', '--out', out]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const text = readFileSync(out, 'utf8');
      const lines = text.trimEnd().split('\n');
      expect(lines).toHaveLength(18);
      expect(lines.filter((l) => /\t(8|9|10|11)$/.test(l))).toEqual(['a\t8', 'a\t9']);
      expect(lines.slice(0, 8)).toEqual(rows.slice(0, 8).map((r) => `${order[0]}\t${r}`));
      outs.push(lines.sort().join('\n'));
    }
    expect(outs[0]).toBe(outs[1]);
  });

  it('says what to write instead of a subset .npy, and refuses what matches by uid', async () => {
    const dir = clipRetrievalFolder(2);
    const scores = join(tempDir(), 'scores');
    expect((await runInProcess(['score', dir, '--out', scores, '--quiet'])).code).toBe(0);
    const npy = await runInProcess(['select', scores, '--top', 'clip_score:0.5', '--out', join(tempDir(), 's.npy')]);
    expect(npy.code).toBe(2);
    expect(npy.stderr).toMatch(
      /^clipsift select: the score files have no uid column \(rows are named by file, row\), so there is no DataComp subset to write: give --out <name>\.parquet/,
    );
    const out = join(tempDir(), 'k.txt');
    const given = await runInProcess([
      'select',
      scores,
      '--top',
      'clip_score:0.5',
      '--given-uids',
      'x.npy',
      '--out',
      out,
    ]);
    expect(given.code).toBe(2);
    expect(given.stderr).toMatch(/--given-uids matches rows by uid, and these score files name rows by file, row/);
    const normsim = await runInProcess(['select', scores, '--normsim-d', '--embeddings', dir, '--out', out]);
    expect(normsim.code).toBe(2);
    expect(normsim.stderr).toMatch(/--normsim-d matches rows by uid, and these score files name rows by file, row/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses score files with uids mixed with score files without, naming both', async () => {
    const dir = tempDir();
    const keyed = join(dir, 'a.scores.parquet');
    writeKeyedScores(keyed, { file: ['a', 'a'], row: [0, 1] }, [0.1, 0.2]);
    const withUids = join(dir, 'b.scores.parquet');
    const uids = ['0'.repeat(32), `${'0'.repeat(31)}1`];
    writeFileSync(
      withUids,
      new Uint8Array(
        parquetWriteBuffer({
          columnData: [
            { name: 'uid', data: uids, type: 'STRING' },
            { name: 'clip_score', data: Float32Array.of(0.3, 0.4), type: 'FLOAT' },
          ],
        }),
      ),
    );
    const out = join(tempDir(), 'k.txt');
    const result = await runInProcess(['select', keyed, withUids, '--top', 'clip_score:0.5', '--out', out]);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toEqual([
      `clipsift select: ${withUids}: has uids but ${keyed} has rows keyed by file, row; select from score files of one kind`,
    ]);
    expect(existsSync(out)).toBe(false);
    // The other way round, the uid path names the file without uids.
    const subset = join(tempDir(), 's.npy');
    const reversed = await runInProcess(['select', withUids, keyed, '--top', 'clip_score:0.5', '--out', subset]);
    expect(reversed.code).not.toBe(0);
    expect(reversed.stderr.trim().split('\n')).toHaveLength(1);
    expect(reversed.stderr).toMatch(new RegExp(`^clipsift select: ${keyed} field uid: has no uid column`));
    expect(existsSync(subset)).toBe(false);
  });
});
