/**
 * The page's pool loading (src/web/pool-input.ts) on dropped folders, in Node with real File objects:
 * a dropped folder keeps its name in the paths (as src/web/dropped-files.ts gives them: the entries'
 * fullPath), so it reaches io's resolveInputs as a directory, the way `clipsift score <dir>` does.
 * Loose files are covered in Chromium (test/web/demo.test.ts); a folder drop cannot be driven there.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPool } from '../../src/web/pool-input.js';
import type { DroppedFile } from '../../src/web/protocol.js';
import { makeDataCompDir } from '../cli/helpers.js';
import { FASHION } from '../cli/input-cases.js';

function dropped(path: string, from: string): DroppedFile {
  return { path, file: new File([readFileSync(from)], path.split('/').pop()!) };
}

const load = (files: DroppedFile[]) => loadPool({ kind: 'files', files, target: null, arch: 'l14' }, () => undefined);

describe('the page on dropped folders', () => {
  it('reads a dropped clip-retrieval folder, and the same files dropped flat in a folder, as shard_0', async () => {
    const folder = await load([
      dropped('clip/img_emb/img_emb_0.npy', join(FASHION, 'img_emb_0.npy')),
      dropped('clip/text_emb/text_emb_0.npy', join(FASHION, 'text_emb_0.npy')),
      dropped('clip/metadata/metadata_0.parquet', join(FASHION, 'metadata_0.parquet')),
    ]);
    const flat = await load(
      ['img_emb_0.npy', 'text_emb_0.npy', 'metadata_0.parquet'].map((name) =>
        dropped(`flat/${name}`, join(FASHION, name)),
      ),
    );
    for (const pool of [folder, flat]) {
      expect(pool.shards.map((s) => [s.name, s.rows, s.dim])).toEqual([['shard_0', 9, 512]]);
      expect(pool.ids).toEqual(Array.from({ length: 9 }, (_, i) => `img_emb_0.npy:${i}`));
      expect(pool.captions[0]).toBe('calvins t - shirt in black');
    }
    const [a, b] = [await folder.shards[0]!.read(), await flat.shards[0]!.read()];
    expect(b.img.data).toEqual(a.img.data);
    expect(b.txt.data).toEqual(a.txt.data);
  });

  it('reads two dropped DataComp folders, each as the CLI reads a directory', async () => {
    const one = makeDataCompDir([{ name: 'a', rows: 5, seed: 1 }]).dir;
    const two = makeDataCompDir([
      { name: 'b', rows: 4, seed: 2 },
      { name: 'c', rows: 3, seed: 3 },
    ]).dir;
    const files = [
      ...readdirSync(one).map((name) => dropped(`one/${name}`, join(one, name))),
      ...readdirSync(two).map((name) => dropped(`two/${name}`, join(two, name))),
    ];
    const pool = await load(files);
    expect(pool.shards.map((s) => [s.name, s.rows])).toEqual([
      ['a', 5],
      ['b', 4],
      ['c', 3],
    ]);
    expect(pool.hasUids).toBe(true);
  });
});
