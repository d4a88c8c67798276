import { readFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { memoryFileSystem } from '../../src/io/file-system.js';
import {
  detectLayout,
  listDataCompShards,
  listShards,
  openEmbeddingFile,
  openShard,
  type Shard,
} from '../../src/io/layouts.js';
import { writeParquetTable } from '../../src/io/parquet.js';
import { encodeNpy } from '../../src/io/npy.js';
import {
  expectedBytes,
  expectInputError,
  expectSameBytes,
  fixtureBytes,
  halfToNumber,
  REAL,
  readAllChunks,
} from './helpers.js';

function metadataParquet(uids: string[]): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'uid', data: uids, type: 'STRING' },
        { name: 'url', data: uids.map((u) => `https://example.com/${u}.jpg`), type: 'STRING' },
        { name: 'text', data: uids.map((_, i) => `caption ${i}`), type: 'STRING' },
        { name: 'clip_l14_similarity_score', data: uids.map((_, i) => i / 10), type: 'DOUBLE' },
      ],
    }),
  );
}

const UIDS = [
  '0123456789abcdef0123456789abcdef',
  'fedcba9876543210fedcba9876543210',
  'a'.repeat(32),
  'b'.repeat(32),
  'c'.repeat(32),
];

describe('DataComp metadata directories', () => {
  const fs = memoryFileSystem({
    'pool/00000000.parquet': metadataParquet(UIDS),
    'pool/00000000.npz': fixtureBytes('datacomp_stored.npz'),
    'pool/00000001.parquet': metadataParquet(UIDS),
    'pool/00000001.npz': fixtureBytes('datacomp_compressed.npz'),
    'pool/00000001_stats.json': new TextEncoder().encode('{}'),
  });

  it('pairs each parquet with its npz and reads the arch the caller picks', async () => {
    expect(await detectLayout(fs, 'pool')).toBe('datacomp');
    const refs = await listShards(fs, 'pool');
    expect(refs.map((r) => r.name)).toEqual(['00000000', '00000001']);
    for (const ref of refs) {
      for (const arch of ['l14', 'b32'] as const) {
        const shard = await openShard(fs, ref, { arch });
        expect([shard.rows, shard.dim, shard.image.dtype]).toEqual([5, arch === 'l14' ? 768 : 512, 'f2']);
        expectSameBytes(await readAllChunks(shard.image, 2), expectedBytes(`datacomp.npz.${arch}_img`));
        expectSameBytes(await readAllChunks(shard.text, 3), expectedBytes(`datacomp.npz.${arch}_txt`));
        expect(await shard.readKeys()).toEqual({ uid: UIDS });
        expect((await shard.readMetadata(['text'], { rowStart: 1, rowEnd: 2 })).text).toEqual(['caption 1']);
        await shard.close();
      }
    }
  });

  it("skips clipsift's own score files and atomic-write temporaries written beside the metadata", async () => {
    const scores = writeParquetTable({
      columns: { uid: UIDS, clip_score: Float32Array.from(UIDS, (_, i) => i / 10) },
      metadata: {},
    });
    const withOutputs = memoryFileSystem({
      'pool/00000000.parquet': metadataParquet(UIDS),
      'pool/00000000.npz': fixtureBytes('datacomp_stored.npz'),
      'pool/00000000.scores.parquet': scores,
      'pool/00000001.parquet': metadataParquet(UIDS),
      'pool/00000001.npz': fixtureBytes('datacomp_compressed.npz'),
      'pool/00000001.scores.parquet': scores,
      // A score file for a shard that is not here, and writes killed midway.
      'pool/elsewhere.scores.parquet': scores,
      'pool/.00000001.scores.parquet.4242.0a1b2c3d.tmp': scores,
      'pool/.subset.npy.4242.deadbeef.tmp': new Uint8Array(3),
    });
    expect(await detectLayout(withOutputs, 'pool')).toBe('datacomp');
    const refs = await listShards(withOutputs, 'pool');
    expect(refs.map((r) => [r.name, r.files.metadata, r.npz])).toEqual([
      ['00000000', 'pool/00000000.parquet', 'pool/00000000.npz'],
      ['00000001', 'pool/00000001.parquet', 'pool/00000001.npz'],
    ]);
    expect(await listDataCompShards(withOutputs, 'pool')).toEqual(refs);
  });

  it('names both files and both counts when rows are misaligned', async () => {
    const bad = memoryFileSystem({
      'p/s.parquet': metadataParquet(UIDS.slice(0, 4)),
      'p/s.npz': fixtureBytes('datacomp_stored.npz'),
    });
    const [ref] = await listShards(bad, 'p');
    await expectInputError(() => openShard(bad, ref!), 'p/s.npz:l14_img.npy', 'has 5 rows', 'p/s.parquet has 4');
  });

  it('names the malformed uid with its file and row', async () => {
    const bad = memoryFileSystem({
      'p/s.parquet': metadataParquet([...UIDS.slice(0, 4), 'not-a-uid']),
      'p/s.npz': fixtureBytes('datacomp_stored.npz'),
    });
    const shard = await openShard(bad, (await listShards(bad, 'p'))[0]!);
    await expectInputError(() => shard.readKeys(), 'p/s.parquet row 4', /not 32 hex/);
  });

  it('reports a parquet without its npz', async () => {
    const bad = memoryFileSystem({
      'p/s.parquet': metadataParquet(UIDS),
      'p/t.npz': fixtureBytes('datacomp_stored.npz'),
    });
    await expectInputError(() => listShards(bad, 'p'), 'p/s.parquet', 'p/s.npz is missing');
  });

  it('checks the embedding width against the arch', async () => {
    const bad = memoryFileSystem({
      'p/s.parquet': metadataParquet(UIDS.concat(UIDS, ['d'.repeat(32), 'e'.repeat(32)]).slice(0, 7)),
      'p/s.npz': fixtureBytes('stored.npz'),
    });
    await expectInputError(
      async () => openShard(bad, (await listShards(bad, 'p'))[0]!),
      'l14_img',
      /dimension 24, but l14 embeddings are 768-d/,
    );
  });
});

describe('clip-retrieval folders (the real fashion embeddings)', () => {
  const real = (name: string) => new Uint8Array(readFileSync(REAL + name));
  const files = {
    'fashion/img_emb/img_emb_0.npy': real('img_emb_0.npy'),
    'fashion/text_emb/text_emb_0.npy': real('text_emb_0.npy'),
    'fashion/metadata/metadata_0.parquet': real('metadata_0.parquet'),
  };

  async function openOnly(options = {}): Promise<Shard> {
    const fs = memoryFileSystem(files);
    expect(await detectLayout(fs, 'fashion')).toBe('clip-retrieval');
    const refs = await listShards(fs, 'fashion');
    expect(refs).toHaveLength(1);
    return openShard(fs, refs[0]!, options);
  }

  it('reads 9 aligned pairs whose matched cosine is the 0.318 measured upstream', async () => {
    const shard = await openOnly();
    expect([shard.rows, shard.dim, shard.image.dtype]).toEqual([9, 512, 'f2']);
    const img = new Uint16Array((await readAllChunks(shard.image, 4)).buffer);
    const txt = new Uint16Array((await readAllChunks(shard.text, 5)).buffer);
    let total = 0;
    for (let r = 0; r < 9; r++) {
      let dot = 0;
      let norm = 0;
      for (let j = 0; j < 512; j++) {
        const a = halfToNumber(img[r * 512 + j]!);
        dot += a * halfToNumber(txt[r * 512 + j]!);
        norm += a * a;
      }
      expect(Math.sqrt(norm)).toBeCloseTo(1, 2); // stored L2-normalised
      total += dot;
    }
    expect(total / 9).toBeCloseTo(0.318, 3);
  });

  it('keys rows by (file, row) without a key column, or by the column given', async () => {
    const byRow = await openOnly();
    expect(byRow.keyColumns).toEqual(['file', 'row']);
    const keys = await byRow.readKeys();
    expect(keys.file).toEqual(new Array(9).fill('img_emb_0.npy'));
    expect(Array.from(keys.row as Int32Array)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const byPath = await openOnly({ keyColumn: 'image_path' });
    expect(byPath.keyColumns).toEqual(['image_path']);
    expect((await byPath.readKeys()).image_path).toEqual((await byPath.readMetadata(['image_path'])).image_path);
    await expectInputError(() => openOnly({ keyColumn: 'uid' }), 'metadata_0.parquet', "no key column 'uid'");
  });

  it('names the files and counts when text and image rows differ', async () => {
    const eight = encodeNpy(new Uint16Array(8 * 512), [8, 512]);
    const fs = memoryFileSystem({ ...files, 'fashion/text_emb/text_emb_0.npy': eight });
    await expectInputError(
      async () => openShard(fs, (await listShards(fs, 'fashion'))[0]!),
      'fashion/text_emb/text_emb_0.npy',
      'has 8 rows',
      'fashion/img_emb/img_emb_0.npy has 9',
    );
  });
});

describe('plain embedding files', () => {
  const fs = memoryFileSystem({
    't/target.npy': fixtureBytes('f32_5x3.npy'),
    't/many.npz': fixtureBytes('stored.npz'),
    't/one.npz': fixtureBytes('commented.npz'),
    't/notes.txt': new Uint8Array(1),
  });

  it('opens .npy, and .npz by key or when it holds one array', async () => {
    expectSameBytes(await readAllChunks(await openEmbeddingFile(fs, 't/target.npy'), 2), expectedBytes('f32_5x3.npy'));
    expectSameBytes(
      await readAllChunks(await openEmbeddingFile(fs, 't/many.npz', { key: 'b32_txt' }), 2),
      expectedBytes('stored.npz.b32_txt'),
    );
    expectSameBytes(
      await readAllChunks(await openEmbeddingFile(fs, 't/one.npz'), 2),
      expectedBytes('stored.npz.b32_img'),
    );
  });

  it('asks for --target-key when an npz holds several arrays', async () => {
    await expectInputError(() => openEmbeddingFile(fs, 't/many.npz'), 't/many.npz', /--target-key/, /b32_img/);
  });

  it('refuses a target of another dimension and unknown file types', async () => {
    await expectInputError(
      () => openEmbeddingFile(fs, 't/target.npy', { dim: 768 }),
      't/target.npy',
      'dimension 3, expected 768',
    );
    await expectInputError(() => openEmbeddingFile(fs, 't/notes.txt'), 't/notes.txt', /not an \.npy/);
  });
});
