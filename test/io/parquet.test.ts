import { readFileSync } from 'node:fs';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { openParquet, writeParquetTable } from '../../src/io/parquet.js';
import { bytesSource } from '../../src/io/source.js';
import { bytesOf, expectedBytes, expectInputError, expectSameBytes, REAL, readAllChunks } from './helpers.js';

/** Split numpy's row-major bytes into per-row byte strings (how fixed-size binary columns hold vectors). */
function rowBytes(bytes: Uint8Array, rows: number): Uint8Array[] {
  const width = bytes.length / rows;
  return Array.from({ length: rows }, (_, i) => bytes.slice(i * width, (i + 1) * width));
}

function parquet(columnData: { name: string; data: unknown[] }[], schema: object[]): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: columnData as never,
      schema: [{ name: 'root', num_children: columnData.length }, ...schema] as never,
    }),
  );
}

const LIST_OF = (name: string, type: string) => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type, repetition_type: 'REQUIRED' },
];

describe('openParquet on a file written by pyarrow (clip-retrieval metadata)', () => {
  const bytes = new Uint8Array(readFileSync(REAL + 'metadata_0.parquet'));

  it('reads the footer, key-value metadata and requested columns', async () => {
    const file = await openParquet(bytesSource('metadata_0.parquet', bytes));
    expect(file.rows).toBe(9);
    expect(file.columns).toEqual(['image_path', 'caption']);
    expect(Object.keys(file.metadata)).toContain('pandas');
    const { image_path, caption } = await file.readColumns(['image_path', 'caption']);
    expect(image_path).toEqual(
      Array.from({ length: 9 }, (_, i) => expect.stringMatching(new RegExp(`/img${i + 1}\\.(png|jpg)$`))),
    );
    expect(caption!.every((c) => typeof c === 'string' && c.length > 0)).toBe(true);
    const middle = await file.readColumns(['caption'], { rowStart: 3, rowEnd: 5 });
    expect(middle.caption).toEqual(caption!.slice(3, 5));
  });

  it('names the columns that exist when asked for one that does not', async () => {
    const file = await openParquet(bytesSource('metadata_0.parquet', bytes));
    await expectInputError(() => file.readColumns(['uid']), 'metadata_0.parquet', "'uid'", 'image_path, caption');
  });

  it('turns a truncated footer into an InputError', async () => {
    await expectInputError(
      () => openParquet(bytesSource('cut.parquet', bytes.subarray(0, bytes.length - 10))),
      'cut.parquet',
    );
  });
});

describe('embedding columns', () => {
  const f16 = expectedBytes('f16_4x6.npy'); // numpy's float16 bits for a 4 × 6 matrix
  const f32 = expectedBytes('f32_5x3.npy');

  it('reads list<float> columns as float32 rows', async () => {
    const values = Array.from(new Float32Array(f32.slice().buffer));
    const rows = Array.from({ length: 5 }, (_, i) => values.slice(i * 3, i * 3 + 3));
    const file = await openParquet(
      bytesSource('list.parquet', parquet([{ name: 'emb', data: rows }], LIST_OF('emb', 'FLOAT'))),
    );
    const reader = await file.embeddings('emb');
    expect([reader.rows, reader.dim, reader.dtype]).toEqual([5, 3, 'f4']);
    for (const chunkRows of [1, 2, 5]) expectSameBytes(await readAllChunks(reader, chunkRows), f32);
  });

  it('reads list<double> columns narrowed to float32', async () => {
    const values = Array.from(new Float32Array(f32.slice().buffer));
    const rows = Array.from({ length: 5 }, (_, i) => values.slice(i * 3, i * 3 + 3));
    const file = await openParquet(
      bytesSource('list.parquet', parquet([{ name: 'emb', data: rows }], LIST_OF('emb', 'DOUBLE'))),
    );
    expectSameBytes(await readAllChunks(await file.embeddings('emb'), 2), f32);
  });

  it.each([
    ['FIXED_LEN_BYTE_ARRAY', 'f2', f16, 4, 6],
    ['FIXED_LEN_BYTE_ARRAY', 'f4', f32, 5, 3],
    ['BYTE_ARRAY', 'f2', f16, 4, 6],
  ] as const)('reads %s of %s bits unchanged', async (type, dtype, bytes, rows, dim) => {
    const element = {
      name: 'emb',
      type,
      repetition_type: 'REQUIRED',
      ...(type === 'FIXED_LEN_BYTE_ARRAY' ? { type_length: bytes.length / rows } : {}),
    };
    const file = await openParquet(
      bytesSource('bin.parquet', parquet([{ name: 'emb', data: rowBytes(bytes, rows) }], [element])),
    );
    const reader = await file.embeddings('emb', { dtype });
    expect([reader.rows, reader.dim, reader.dtype]).toEqual([rows, dim, dtype]);
    expectSameBytes(await readAllChunks(reader, 3), bytes);
    // The dim alone settles the element type of a fixed-size column.
    if (type === 'FIXED_LEN_BYTE_ARRAY') expect((await file.embeddings('emb', { dim })).dtype).toBe(dtype);
  });

  it('asks for the element type of a binary column rather than guessing', async () => {
    const element = { name: 'emb', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 12, repetition_type: 'REQUIRED' };
    const file = await openParquet(
      bytesSource('bin.parquet', parquet([{ name: 'emb', data: rowBytes(f16, 4) }], [element])),
    );
    await expectInputError(() => file.embeddings('emb'), 'bin.parquet', /dtype 'f2' or 'f4'/);
  });

  it('names the row whose embedding has the wrong length or is null', async () => {
    const ragged = [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8],
    ];
    const file = await openParquet(
      bytesSource('ragged.parquet', parquet([{ name: 'emb', data: ragged }], LIST_OF('emb', 'FLOAT'))),
    );
    const error = await expectInputError(
      async () => readAllChunks(await file.embeddings('emb'), 10),
      'ragged.parquet row 2',
      /2 values, expected 3/,
    );
    expect(error.field).toBe('emb');
    const withNull = await openParquet(
      bytesSource('null.parquet', parquet([{ name: 'emb', data: [[1, 2], null] }], LIST_OF('emb', 'FLOAT'))),
    );
    await expectInputError(
      async () => readAllChunks(await withNull.embeddings('emb'), 10),
      'null.parquet row 1',
      /null/,
    );
  });

  it('refuses a text column as an embedding', async () => {
    const file = await openParquet(
      bytesSource(
        't.parquet',
        parquet(
          [{ name: 'uid', data: ['a'] }],
          [{ name: 'uid', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' }],
        ),
      ),
    );
    await expectInputError(() => file.embeddings('uid'), 't.parquet', /not an embedding/);
  });
});

describe('writeParquetTable', () => {
  it('writes scores as FLOAT columns with key-value metadata that read back exactly', async () => {
    const clip = new Float32Array([0.25, -0.125, Number.NaN, 1e-8, -0]);
    const loss = new Float64Array([1.5, 2.5, 3.5, 4.5, 5.5]);
    const uid = ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32), 'd'.repeat(32), 'e'.repeat(32)];
    const bytes = writeParquetTable({
      columns: { uid, clip_score: clip, negclip_loss: loss, row: new Int32Array([0, 1, 2, 3, 4]) },
      metadata: { temperature: '0.01', seed: '0' },
    });

    // Check the schema with hyparquet's own footer parser, independent of our wrapper.
    const schema = parquetMetadata(bytes).schema;
    expect(schema.slice(1).map((e) => [e.name, e.type, e.repetition_type])).toEqual([
      ['uid', 'BYTE_ARRAY', 'REQUIRED'],
      ['clip_score', 'FLOAT', 'REQUIRED'],
      ['negclip_loss', 'DOUBLE', 'REQUIRED'],
      ['row', 'INT32', 'REQUIRED'],
    ]);
    const file = await openParquet(bytesSource('scores.parquet', bytes));
    expect(file.metadata).toEqual({ temperature: '0.01', seed: '0' });
    const read = await file.readColumns(['uid', 'clip_score', 'negclip_loss', 'row']);
    expect(read.uid).toEqual(uid);
    expectSameBytes(bytesOf(Float32Array.from(read.clip_score as number[])), bytesOf(clip));
    expect(read.negclip_loss).toEqual(Array.from(loss));
    expect(read.row).toEqual([0, 1, 2, 3, 4]);
  });

  it('writes an empty table', async () => {
    const file = await openParquet(
      bytesSource('empty.parquet', writeParquetTable({ columns: { uid: [], clip_score: new Float32Array(0) } })),
    );
    expect(file.rows).toBe(0);
    expect(await file.readColumns(['clip_score'])).toEqual({ clip_score: [] });
  });

  it('refuses columns of different lengths', () => {
    expect(() => writeParquetTable({ columns: { uid: ['a'], clip_score: new Float32Array(2) } })).toThrow(
      /2 rows, expected 1/,
    );
  });
});
