import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  concatScoreTables,
  encodeScoreFile,
  isScoreColumn,
  METADATA_KEYS,
  normSimColumn,
  openScoreFile,
  parameterDifferences,
  readScoreTable,
  scoreFileName,
  scoreMetadata,
  type ScoreParameters,
} from '../../src/io/score-file.js';
import { bytesSource } from '../../src/io/source.js';
import { formatUid, uidCount } from '../../src/io/uid.js';
import { bytesOf, expectInputError, expectSameBytes } from './helpers.js';

const UIDS = ['0'.repeat(31) + '1', 'f'.repeat(32), '0123456789abcdef0123456789abcdef'];

const PARAMETERS: ScoreParameters = {
  format: 1,
  shard: '00000000',
  inputs: [{ name: '00000000.npz', bytes: 10, fingerprint: 'sha256:' + '0'.repeat(64) }],
  arch: 'l14',
  batchSize: 32768,
  temperature: 0.01,
  repeats: 10,
  seed: 0,
  shardSeed: 123,
  target: null,
  p: null,
  normalize: false,
  skipInvalid: false,
};

describe('score-file names', () => {
  it('names NormSim columns by p and tells score columns from keys', () => {
    expect([Infinity, 2, 3, 1.5].map(normSimColumn)).toEqual([
      'normsim_inf',
      'normsim_2',
      'normsim_p3',
      'normsim_p1.5',
    ]);
    expect(['clip_score', 'negclip_loss', 'normsim_inf', 'normsim_p3'].every(isScoreColumn)).toBe(true);
    expect(['uid', 'key', 'file', 'row', 'kept', 'caption'].some(isScoreColumn)).toBe(false);
    expect(scoreFileName('00001234')).toBe('00001234.scores.parquet');
  });
});

describe('encodeScoreFile', () => {
  it('writes keys first, float32 scores as FLOAT and the metadata, as hyparquet reads them', async () => {
    const clip = new Float32Array([0.25, -0.125, 1e-8]);
    const loss = new Float32Array([-1.5, 2.5, 3.25]);
    const bytes = encodeScoreFile({
      keys: { uid: UIDS },
      scores: { clip_score: clip, negclip_loss: loss },
      metadata: scoreMetadata(PARAMETERS, { clipsiftVersion: '9.9.9', engineVariant: 'baseline' }),
    });
    // hyparquet's own footer parser and row reader, independent of our wrapper.
    const footer = parquetMetadata(bytes);
    expect(footer.schema.slice(1).map((e) => [e.name, e.type, e.repetition_type])).toEqual([
      ['uid', 'BYTE_ARRAY', 'REQUIRED'],
      ['clip_score', 'FLOAT', 'REQUIRED'],
      ['negclip_loss', 'FLOAT', 'REQUIRED'],
    ]);
    const kv = Object.fromEntries((footer.key_value_metadata ?? []).map(({ key, value }) => [key, value]));
    expect(JSON.parse(kv['clipsift.parameters']!)).toEqual(PARAMETERS);
    expect(kv['clipsift.version']).toBe('9.9.9');
    expect(kv['clipsift.engine']).toBe('baseline');
    const rows = await parquetReadObjects({ file: bytes.slice().buffer });
    expect(rows.map((r) => r.uid)).toEqual(UIDS);
    expectSameBytes(bytesOf(Float32Array.from(rows.map((r) => r.clip_score as number))), bytesOf(clip));

    // And back through the reader.
    const file = await openScoreFile(bytesSource('s.scores.parquet', bytes));
    expect(file.rows).toBe(3);
    expect(file.keyColumns).toEqual(['uid']);
    expect(file.scoreColumns).toEqual(['clip_score', 'negclip_loss']);
    expect(parameterDifferences(file.parameters, PARAMETERS)).toEqual([]);
    expect(parameterDifferences(file.parameters, { ...PARAMETERS, repeats: 5 })).toEqual(['repeats 10 ≠ 5']);
    const table = await file.readTable(['negclip_loss']);
    expect(Array.from({ length: uidCount(table.uids) }, (_, i) => formatUid(table.uids, i))).toEqual(UIDS);
    expectSameBytes(bytesOf(table.columns.negclip_loss!), bytesOf(loss));
    expect(Object.keys(table.columns)).toEqual(['negclip_loss']);
  });

  it('reads key columns of every type back as written', async () => {
    const bytes = encodeScoreFile({
      keys: {
        file: ['a.npy', 'a.npy', 'b.npy'],
        row: Int32Array.of(0, 1, 0),
        big: BigInt64Array.of(-1n, 2n ** 40n, 0n),
      },
      scores: { clip_score: new Float32Array(3) },
    });
    const file = await openScoreFile(bytesSource('k.parquet', bytes));
    expect(file.keyColumns).toEqual(['file', 'row', 'big']);
    expect(file.parameters).toBeUndefined();
    expect(await file.readKeys()).toEqual({
      file: ['a.npy', 'a.npy', 'b.npy'],
      row: Int32Array.of(0, 1, 0),
      big: BigInt64Array.of(-1n, 2n ** 40n, 0n),
    });
  });

  it('refuses a key named like a score and a score named like a key', () => {
    expect(() => encodeScoreFile({ keys: { clip_score: ['a'] }, scores: {} })).toThrow(/key column clip_score/);
    expect(() => encodeScoreFile({ keys: { uid: ['a'] }, scores: { kept: new Float32Array(1) } })).toThrow(
      /score column kept/,
    );
  });
});

describe('readScoreTable', () => {
  const file = (columns: Parameters<typeof encodeScoreFile>[0]) =>
    bytesSource('f.scores.parquet', encodeScoreFile(columns));

  it('names the file and field when the uid or a score column is missing', async () => {
    await expectInputError(
      () => readScoreTable(file({ keys: { key: ['x'] }, scores: { clip_score: new Float32Array(1) } }), ['clip_score']),
      'f.scores.parquet',
      /has no uid column/,
    );
    await expectInputError(
      () =>
        readScoreTable(file({ keys: { uid: [UIDS[0]!] }, scores: { clip_score: new Float32Array(1) } }), [
          'normsim_inf',
        ]),
      'f.scores.parquet',
      /has no score column normsim_inf \(score columns: clip_score\)/,
    );
  });

  it('concatenates tables in order', () => {
    const a = { uids: Uint32Array.of(1, 2, 3, 4), columns: { clip_score: Float32Array.of(0.5) } };
    const b = { uids: Uint32Array.of(5, 6, 7, 8, 9, 10, 11, 12), columns: { clip_score: Float32Array.of(0.25, 1) } };
    const t = concatScoreTables([a, b], ['clip_score']);
    expect(Array.from(t.uids)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(t.columns.clip_score!)).toEqual([0.5, 0.25, 1]);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    );
    expect(METADATA_KEYS.parameters).toBe('clipsift.parameters');
  });
});
