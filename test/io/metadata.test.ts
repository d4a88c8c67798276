/**
 * io's DataComp metadata reader: the uid and the named columns only (the bytes read stay far below
 * the file when a long text column is beside them), row group by row group, against the values
 * written; errors name the file, the row in the file and the field.
 */
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { bytesSource, readMetadataColumns, type ByteSource } from '../../src/io/index.js';
import { rng } from '../cli/helpers.js';
import { makeUids } from '../select/cli-fixtures.js';

const ROWS = 130;

/** A DataComp-like metadata parquet in row groups of 40: uid, a long text, a float score, a double. */
function metadataFile(edit?: (columns: { uid: string[]; score: number[] }) => void, textLength = 100) {
  const uid = makeUids(ROWS, 5);
  const next = rng(8);
  const score = Array.from({ length: ROWS }, () => Math.fround(next()));
  const precise = Array.from({ length: ROWS }, () => next() / 3);
  // Incompressible captions, so the text column is most of the file.
  const text = uid.map(() =>
    Array.from({ length: textLength }, () => String.fromCharCode(33 + Math.floor(next() * 90))).join(''),
  );
  const columns = { uid, score };
  edit?.(columns);
  const bytes = new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'uid', data: columns.uid, type: 'STRING' },
        { name: 'text', data: text, type: 'STRING' },
        { name: 'clip_l14_similarity_score', data: columns.score, type: 'FLOAT' },
        { name: 'precise', data: precise, type: 'DOUBLE' },
      ],
      rowGroupSize: 40,
    }),
  );
  return { bytes, uid, score, precise };
}

/** A source that counts the bytes read from it. */
function counting(name: string, bytes: Uint8Array): { source: ByteSource; read: () => number } {
  const inner = bytesSource(name, bytes);
  let read = 0;
  return {
    source: {
      name,
      size: inner.size,
      async read(offset, length) {
        read += length;
        return inner.read(offset, length);
      },
    },
    read: () => read,
  };
}

describe('readMetadataColumns', () => {
  it('reads uid and the asked columns of several files, float32 kept float32, others float64', async () => {
    const a = metadataFile();
    const b = metadataFile();
    const files: Record<string, Uint8Array> = { 'a.parquet': a.bytes, 'b.parquet': b.bytes };
    const table = await readMetadataColumns(
      ['a.parquet', 'b.parquet'],
      ['clip_l14_similarity_score', 'precise'],
      async (n) => bytesSource(n, files[n]!),
    );
    const uids = Array.from({ length: 2 * ROWS }, (_, i) =>
      Array.from(table.uids.subarray(i * 4, i * 4 + 4), (w) => w.toString(16).padStart(8, '0')).join(''),
    );
    expect(uids).toEqual([...a.uid, ...b.uid]);
    expect(table.columns.clip_l14_similarity_score).toBeInstanceOf(Float32Array);
    expect([...table.columns.clip_l14_similarity_score!]).toEqual([...a.score, ...b.score]);
    expect(table.columns.precise).toBeInstanceOf(Float64Array);
    expect([...table.columns.precise!]).toEqual([...a.precise, ...b.precise]);
  });

  it('never fetches the columns it was not asked for', async () => {
    const { bytes, score } = metadataFile(undefined, 20_000);
    const counted = counting('m.parquet', bytes);
    const table = await readMetadataColumns(['m.parquet'], ['clip_l14_similarity_score'], async () => counted.source);
    expect([...table.columns.clip_l14_similarity_score!]).toEqual(score);
    // The text column is ~20 KB a row. Read: the footer once (hyparquet fetches the file's last 512 KiB
    // for it) and the uid and score chunks; never the ~2 MB of text before them.
    expect(bytes.length).toBeGreaterThan(2_500_000);
    expect(counted.read()).toBeLessThan((1 << 19) + 30_000);
  });

  it('names the file, the row in the file (past earlier row groups) and the field of a bad value', async () => {
    const { bytes } = metadataFile((c) => {
      c.score[95] = Number.NaN;
      c.uid[57] = 'not-a-uid';
    });
    const open = async () => bytesSource('m.parquet', bytes);
    await expect(readMetadataColumns(['m.parquet'], [], open)).rejects.toThrow(/^m\.parquet row 57 field uid: /);
    const fixedUid = metadataFile((c) => {
      c.score[95] = Number.NaN;
    });
    await expect(
      readMetadataColumns(['m.parquet'], ['clip_l14_similarity_score'], async () =>
        bytesSource('m.parquet', fixedUid.bytes),
      ),
    ).rejects.toThrow('m.parquet row 95 field clip_l14_similarity_score: is NaN, not a number');
    await expect(readMetadataColumns(['m.parquet'], ['clip_b32_similarity_score'], open)).rejects.toThrow(
      /^m\.parquet field clip_b32_similarity_score: has no column clip_b32_similarity_score \(columns: uid, text, clip_l14_similarity_score, precise\)/,
    );
  });
});
