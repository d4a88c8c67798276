/**
 * Every parquet codec a real writer produces, read by the one parquet reader (src/io/parquet.ts) through
 * each shell that reads parquet: clipsift/io, `clipsift inspect`, and the demo page's pool loader.
 * The files were written by DuckDB (test/fixtures/parquet-codecs/make.mjs); their values follow a
 * formula, so the expectations below are computed from it, not from any reader.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { memoryFileSystem } from '../../src/io/file-system.js';
import { openEmbeddingFile } from '../../src/io/layouts.js';
import { encodeNpy } from '../../src/io/npy.js';
import { openParquet } from '../../src/io/parquet.js';
import { bytesSource } from '../../src/io/source.js';
import { loadPool } from '../../src/web/pool-input.js';
import { runInProcess } from '../cli/helpers.js';

const DIR = fileURLToPath(new URL('../fixtures/parquet-codecs/', import.meta.url));
const ROWS = 250;
const DIM = 8;
/** File name → the codec its footer must name (DuckDB's 'lz4' option writes LZ4_RAW). */
const CODECS: Record<string, string> = {
  uncompressed: 'UNCOMPRESSED',
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  zstd: 'ZSTD',
  brotli: 'BROTLI',
  lz4_raw: 'LZ4_RAW',
};

/** The embedding DuckDB wrote: value j of row i is float32(((8i + j) mod 97) / 97). */
const expectedEmbeddings = Float32Array.from({ length: ROWS * DIM }, (_, k) => (k % 97) / 97);
const expectedUids = Array.from({ length: ROWS }, (_, i) => i.toString(16).padStart(32, '0'));
const expectedTexts = Array.from({ length: ROWS }, (_, i) => `caption ${i}`);
const norms = Array.from({ length: ROWS }, (_, i) =>
  Math.sqrt(expectedEmbeddings.subarray(i * DIM, (i + 1) * DIM).reduce((s, x) => s + x * x, 0)),
);

function bytes(codec: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(join(DIR, `${codec}.parquet`)));
}

describe.each(Object.entries(CODECS))('parquet written by DuckDB with %s', (codec, footerCodec) => {
  it(`is really ${footerCodec}-compressed`, () => {
    const b = bytes(codec);
    const meta = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    const codecs = meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec));
    expect(new Set(codecs)).toEqual(new Set([footerCodec]));
  });

  it('clipsift/io reads its strings and embeddings', async () => {
    const file = await openParquet(bytesSource(`${codec}.parquet`, bytes(codec)));
    const { uid, text } = await file.readColumns(['uid', 'text']);
    expect(uid).toEqual(expectedUids);
    expect(text).toEqual(expectedTexts);
    const fs = memoryFileSystem({ [`${codec}.parquet`]: bytes(codec) });
    const reader = await openEmbeddingFile(fs, `${codec}.parquet`);
    expect([reader.rows, reader.dim, reader.dtype]).toEqual([ROWS, DIM, 'f4']);
    const all = new Float32Array(ROWS * DIM);
    for await (const chunk of reader.readRowChunks(64)) all.set(chunk.data, chunk.start * DIM);
    expect(all).toEqual(expectedEmbeddings);
    await reader.close();
  });

  it('clipsift inspect describes it', async () => {
    const result = await runInProcess(['inspect', join(DIR, `${codec}.parquet`), '--json', '--quiet']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.table).toEqual({ rows: ROWS, columns: ['uid', 'text', 'embedding'] });
    expect(report.arrays).toHaveLength(1);
    const { stats } = report.arrays[0];
    expect([report.arrays[0].rows, report.arrays[0].dim]).toEqual([ROWS, DIM]);
    expect(stats.minNorm).toBeCloseTo(Math.min(...norms), 5);
    expect(stats.maxNorm).toBeCloseTo(Math.max(...norms), 5);
    expect(stats.zeroRows).toBe(0);
  });

  it("the demo page's loader reads it as clip-retrieval metadata and as a target", async () => {
    const img = encodeNpy(expectedEmbeddings, [ROWS, DIM]);
    const txt = encodeNpy(
      expectedEmbeddings.map((x) => 1 - x),
      [ROWS, DIM],
    );
    const file = (name: string, data: Uint8Array<ArrayBuffer>) => ({ path: name, file: new File([data], name) });
    const pool = await loadPool(
      {
        kind: 'files',
        files: [file('img_emb_0.npy', img), file('text_emb_0.npy', txt), file('metadata_0.parquet', bytes(codec))],
        target: new File([bytes(codec)], `${codec}.parquet`),
        arch: 'l14',
      },
      () => undefined,
    );
    expect(pool.rows).toBe(ROWS);
    expect(pool.captions).toEqual(expectedTexts);
    expect(pool.target?.rows).toBe(ROWS);
    expect(pool.target?.data).toEqual(expectedEmbeddings);
  });
});
