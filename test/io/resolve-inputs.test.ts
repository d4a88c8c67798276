/**
 * io's one input resolver (resolveInputs) over an in-memory file system, as the page uses it: every
 * accepted layout → the shards and files expected, and every refusal → one line naming the file.
 * The CLI runs the same resolver over the disk (test/cli/score-inputs.test.ts, with the same cases as
 * the page's e2e test in test/web/demo.test.ts).
 */
import { readFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { describe, expect, it } from 'vitest';
import { memoryFileSystem } from '../../src/io/file-system.js';
import { openShard, resolveInputs } from '../../src/io/layouts.js';
import { encodeNpy } from '../../src/io/npy.js';
import { expectInputError, fixtureBytes, REAL } from './helpers.js';

const real = (name: string) => new Uint8Array(readFileSync(REAL + name));
const img = real('img_emb_0.npy');
const txt = real('text_emb_0.npy');
const meta = real('metadata_0.parquet');
const npy = (rows: number, dim = 4) => encodeNpy(new Float32Array(rows * dim).fill(0.5), [rows, dim]);
const uidParquet = (rows: number) =>
  new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'uid', data: Array.from({ length: rows }, (_, i) => `${i}`.padStart(32, '0')), type: 'STRING' },
      ],
    }),
  );

async function resolved(files: Record<string, Uint8Array>, inputs: string[]) {
  const fs = memoryFileSystem(files);
  return (await resolveInputs(fs, inputs)).map(({ ref, input }) => ({
    name: ref.name,
    layout: ref.layout,
    files: ref.files,
    input,
  }));
}

describe('resolveInputs: what is accepted', () => {
  it('reads a clip-retrieval folder, the same files flat in a directory, and the files given', async () => {
    const part = {
      name: 'shard_0',
      layout: 'clip-retrieval',
    };
    expect(
      await resolved(
        { 'cr/img_emb/img_emb_0.npy': img, 'cr/text_emb/text_emb_0.npy': txt, 'cr/metadata/metadata_0.parquet': meta },
        ['cr'],
      ),
    ).toEqual([
      {
        ...part,
        files: {
          image: 'cr/img_emb/img_emb_0.npy',
          text: 'cr/text_emb/text_emb_0.npy',
          metadata: 'cr/metadata/metadata_0.parquet',
        },
        input: 'cr',
      },
    ]);
    const flat = { 'flat/img_emb_0.npy': img, 'flat/text_emb_0.npy': txt, 'flat/metadata_0.parquet': meta };
    const flatFiles = { image: 'flat/img_emb_0.npy', text: 'flat/text_emb_0.npy', metadata: 'flat/metadata_0.parquet' };
    expect(await resolved(flat, ['flat'])).toEqual([{ ...part, files: flatFiles, input: 'flat' }]);
    expect(await resolved(flat, ['flat/metadata_0.parquet', 'flat/text_emb_0.npy', 'flat/img_emb_0.npy'])).toEqual([
      { ...part, files: flatFiles, input: 'flat/metadata_0.parquet' },
    ]);
    // One file of a part given alone finds the others beside it (flat, or in the folder layout).
    expect(await resolved(flat, ['flat/img_emb_0.npy'])).toEqual([
      { ...part, files: flatFiles, input: 'flat/img_emb_0.npy' },
    ]);
    expect(
      await resolved({ 'cr/img_emb/img_emb_0.npy': img, 'cr/text_emb/text_emb_0.npy': txt }, [
        'cr/text_emb/text_emb_0.npy',
      ]),
    ).toEqual([
      {
        ...part,
        files: { image: 'cr/img_emb/img_emb_0.npy', text: 'cr/text_emb/text_emb_0.npy' },
        input: 'cr/text_emb/text_emb_0.npy',
      },
    ]);
  });

  it('reads DataComp directories and shard files, a partner found beside a file given alone', async () => {
    const files = {
      'pool/b.parquet': uidParquet(5),
      'pool/b.npz': fixtureBytes('datacomp_stored.npz'),
      'pool/a.parquet': uidParquet(5),
      'pool/a.npz': fixtureBytes('datacomp_stored.npz'),
      'pool/target.npy': npy(3),
      // clipsift's own outputs, if --out was the input directory once: not inputs.
      'pool/a.scores.parquet': new Uint8Array(3),
      'pool/a.stats.json': new Uint8Array(3),
      'pool/_stats.json': new Uint8Array(3),
    };
    const shard = (name: string, input: string) => ({
      name,
      layout: 'datacomp',
      files: { image: `pool/${name}.npz`, text: `pool/${name}.npz`, metadata: `pool/${name}.parquet` },
      input,
    });
    expect(await resolved(files, ['pool'])).toEqual([shard('a', 'pool'), shard('b', 'pool')]);
    expect(await resolved(files, ['pool/b.npz', 'pool/a.parquet'])).toEqual([
      shard('b', 'pool/b.npz'),
      shard('a', 'pool/a.parquet'),
    ]);
  });

  it('reads a plain image and text pair, with an optional metadata parquet, named after the image file', async () => {
    const files = { 'x/pairs_img.npy': npy(5), 'x/pairs_txt.npy': npy(5), 'x/pairs.parquet': uidParquet(5) };
    expect(await resolved(files, ['x/pairs_txt.npy', 'x/pairs_img.npy', 'x/pairs.parquet'])).toEqual([
      {
        name: 'pairs_img',
        layout: 'pair',
        files: { image: 'x/pairs_img.npy', text: 'x/pairs_txt.npy', metadata: 'x/pairs.parquet' },
        input: 'x/pairs_img.npy',
      },
    ]);
    const fs = memoryFileSystem(files);
    const [found] = await resolveInputs(fs, ['x']);
    expect(found!.ref.layout).toBe('pair');
    const shard = await openShard(fs, found!.ref, { keyColumn: 'uid' });
    expect([shard.rows, shard.dim, shard.keyColumns]).toEqual([5, 4, ['uid']]);
    const plain = await openShard(fs, found!.ref);
    expect(plain.keyColumns).toEqual(['file', 'row']);
    expect((await plain.readKeys()).file).toEqual(new Array(5).fill('pairs_img.npy'));
  });
});

describe('resolveInputs: one line naming the file for what is refused', () => {
  it('names missing partners, unpaired and unnamed files', async () => {
    const cases: [Record<string, Uint8Array>, string[], ...(string | RegExp)[]][] = [
      [
        { 'd/text_emb_0.npy': txt },
        ['d/text_emb_0.npy'],
        'd/text_emb_0.npy: has no image embeddings: d/img_emb_0.npy is missing',
      ],
      [{ 'd/img_emb_3.npy': img }, ['d'], 'd/img_emb_3.npy: has no text embeddings: d/text_emb_3.npy is missing'],
      [
        { 'p/s.parquet': uidParquet(5) },
        ['p/s.parquet'],
        'p/s.parquet: has no embeddings beside it: p/s.npz is missing',
      ],
      [
        { 'p/s.parquet': uidParquet(5), 'p/t.npz': fixtureBytes('datacomp_stored.npz') },
        ['p'],
        'p/s.parquet: has no embeddings beside it: p/s.npz is missing',
      ],
      [
        { 'alone.npz': fixtureBytes('datacomp_stored.npz') },
        ['alone.npz'],
        'alone.npz: is one .npz on its own: give it with its DataComp metadata alone.parquet beside it, or give an image and a text embedding file together',
      ],
      [
        { 'a.npy': npy(2), 'b.npy': npy(2) },
        ['a.npy', 'b.npy'],
        'a.npy + b.npy: two plain files must say which is which',
      ],
      [{ 'a_img.npy': npy(2) }, ['a_img.npy'], 'a_img.npy: is one embedding file on its own'],
      [
        { 'a_img.npy': npy(2), 'a_txt.npy': npy(2), 'c_img.npy': npy(2) },
        ['a_img.npy', 'a_txt.npy', 'c_img.npy'],
        'a_img.npy, a_txt.npy, c_img.npy: are more than two plain embedding files',
      ],
      [{ 'notes.txt': new Uint8Array(3) }, ['notes.txt'], 'notes.txt: is not an embedding or metadata file'],
      [
        { 'x.scores.parquet': new Uint8Array(3) },
        ['x.scores.parquet'],
        'x.scores.parquet: is an output of clipsift score',
      ],
      [{ '_stats.json': new Uint8Array(3) }, ['_stats.json'], '_stats.json: is an output of clipsift score'],
      [{ 'd/notes.txt': new Uint8Array(3) }, ['d'], /^d: is neither a DataComp metadata directory/],
      [{}, ['nope'], 'nope: no such file or directory'],
      [
        { 'a/img_emb_0.npy': img, 'b/img_emb_0.npy': img, 'a/text_emb_0.npy': txt },
        ['a/img_emb_0.npy', 'b/img_emb_0.npy'],
        'b/img_emb_0.npy: is clip-retrieval part 0 again (a/img_emb_0.npy is too); give one of them',
      ],
    ];
    for (const [files, inputs, ...patterns] of cases) {
      await expectInputError(() => resolveInputs(memoryFileSystem(files), inputs), ...patterns);
    }
  });

  it('names the text file and both counts when a pair is misaligned', async () => {
    const fs = memoryFileSystem({ 'img.npy': npy(9), 'txt.npy': npy(8) });
    const [found] = await resolveInputs(fs, ['img.npy', 'txt.npy']);
    await expectInputError(
      () => openShard(fs, found!.ref),
      'txt.npy: has 8 rows but img.npy has 9; rows must be aligned',
    );
  });
});
