// inspect on DataComp-like metadata parquet: face_bboxes (list<list<double>>) is not an embedding, a list
// column of varying length is skipped with its reason, and one unreadable file does not abandon the directory.
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { FIXTURES } from '../io/helpers.js';
import { captureOutput, tempDir } from './helpers.js';

function run(argv: string[]) {
  return captureOutput(() => main(argv));
}

/** DataComp's metadata parquet shape: uid, face_bboxes (a list of [x0, y0, x1, y1] per face), plus two list columns. */
function writeMetadata(path: string): number[][] {
  const embeddings = [
    [3, 4, 0],
    [0, 0, 2],
    [1, 2, 2],
  ];
  const columnData = [
    { name: 'uid', data: ['a', 'b', 'c'] },
    // Row 0 has one face: read as a flat list it would look like a 1-wide embedding, and row 1 (no face) would break it.
    {
      name: 'face_bboxes',
      data: [
        [[0.1, 0.2, 0.3, 0.4]],
        [],
        [
          [0.1, 0.2, 0.3, 0.4],
          [0.5, 0.5, 0.6, 0.6],
        ],
      ],
    },
    { name: 'emb', data: embeddings },
    { name: 'ragged', data: [[1, 2], [3], [4, 5]] },
  ];
  const list = (name: string, type: 'DOUBLE' | 'FLOAT') => [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', repetition_type: 'OPTIONAL', type },
  ];
  const bytes = parquetWriteBuffer({
    columnData,
    schema: [
      { name: 'root', num_children: 4 },
      { name: 'uid', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'face_bboxes', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      ...list('element', 'DOUBLE'),
      ...list('emb', 'FLOAT'),
      ...list('ragged', 'DOUBLE'),
    ] as never,
  });
  writeFileSync(path, new Uint8Array(bytes));
  return embeddings;
}

describe('clipsift inspect on metadata parquet', () => {
  it('takes only fixed-length numeric vector columns for embeddings; face_bboxes is not one', async () => {
    const dir = tempDir();
    const embeddings = writeMetadata(join(dir, '00000000.parquet'));
    const { code, stdout, stderr } = await run(['inspect', '--json', '--quiet', dir]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.table.columns).toEqual(['uid', 'face_bboxes', 'emb', 'ragged']);
    expect(report.arrays.map((a: { key: string }) => a.key)).toEqual(['emb']);
    const norms = embeddings.map((row) => Math.hypot(...row));
    expect(report.arrays[0]).toMatchObject({ rows: 3, dim: 3, dtype: 'float32' });
    expect(report.arrays[0].stats.minNorm).toBeCloseTo(Math.min(...norms), 6);
    expect(report.arrays[0].stats.maxNorm).toBeCloseTo(Math.max(...norms), 6);
    expect(report.skipped).toEqual([{ key: 'ragged', reason: 'row 1: embedding has 1 values, expected 2' }]);
  });

  it('reports an unreadable file on stderr and goes on with the rest of the directory (exit 1)', async () => {
    const dir = tempDir();
    writeMetadata(join(dir, 'a.parquet'));
    copyFileSync(join(FIXTURES, 'bad_3d.npy'), join(dir, 'b.npy'));
    copyFileSync(join(FIXTURES, 'f32_5x3.npy'), join(dir, 'c.npy'));
    const { code, stdout, stderr } = await run(['inspect', '--quiet', dir]);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^clipsift inspect: .*b\.npy/);
    expect(stdout).toMatch(/a\.parquet: parquet/);
    expect(stdout).toMatch(/c\.npy: npy, .*\n {2}5 × 3 float32/);
  });
});
