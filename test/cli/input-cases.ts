/**
 * The inputs both shells must accept (or refuse) alike, written once: test/cli/score-inputs.test.ts
 * gives them to `clipsift score` as paths, test/web/demo.test.ts drops the same files on the page.
 * Built from the real OpenAI ViT-B/32 fashion pairs (test/fixtures/real), renamed and cut as each
 * case needs; messages are written relative to the case's directory (the page sees bare names).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../../src/io/npy.js';
import { tempDir } from './helpers.js';

export const FASHION = fileURLToPath(new URL('../fixtures/real/openai-b32-fashion-9pairs/', import.meta.url));

export interface InputCase {
  /** What the case is, for test names. */
  title: string;
  /** Its own directory, holding exactly its files. */
  dir: string;
  /** The files, in the order given on the command line and dropped on the page. */
  inputs: string[];
  /** The shard the files make when accepted (score file `<shard>.scores.parquet`). */
  shard?: string;
  /** The one-line refusal, with paths relative to `dir`, when refused. */
  error?: string;
}

/** float16 rows of an .npy numpy wrote (version 1: header length from its preamble). */
export function npyHalfRows(path: string): Uint16Array {
  const bytes = readFileSync(path);
  const data = bytes.subarray(10 + bytes.readUInt16LE(8));
  return new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** float16 rows of one of the fashion .npy files. */
export function fashionRows(name: 'img_emb_0.npy' | 'text_emb_0.npy'): Uint16Array {
  return npyHalfRows(join(FASHION, name));
}

/**
 * A clip-retrieval folder (img_emb/, text_emb/, metadata/) of the fashion pairs in `parts` parts, each
 * a copy of the 9 pairs: img_emb_<i>.npy, text_emb_<i>.npy, metadata_<i>.parquet.
 */
export function clipRetrievalFolder(parts = 1): string {
  const dir = tempDir('clipsift-cr-');
  for (let part = 0; part < parts; part++) {
    for (const [sub, name, as] of [
      ['img_emb', 'img_emb_0.npy', `img_emb_${part}.npy`],
      ['text_emb', 'text_emb_0.npy', `text_emb_${part}.npy`],
      ['metadata', 'metadata_0.parquet', `metadata_${part}.parquet`],
    ] as const) {
      mkdirSync(join(dir, sub), { recursive: true });
      copyFileSync(join(FASHION, name), join(dir, sub, as));
    }
  }
  return dir;
}

/** Writes every case under `root` (one directory each) and returns them. */
export function writeInputCases(root: string): InputCase[] {
  const cases: InputCase[] = [];
  const add = (
    title: string,
    files: Record<string, string | Uint8Array>,
    rest: Omit<InputCase, 'title' | 'dir' | 'inputs'>,
  ) => {
    const dir = join(root, title.replace(/[^a-z0-9]+/gi, '-'));
    mkdirSync(dir, { recursive: true });
    for (const [name, from] of Object.entries(files)) {
      if (typeof from === 'string') copyFileSync(join(FASHION, from), join(dir, name));
      else writeFileSync(join(dir, name), from);
    }
    cases.push({ title, dir, inputs: Object.keys(files).map((name) => join(dir, name)), ...rest });
  };
  add(
    'clip-retrieval files given flat',
    {
      'img_emb_0.npy': 'img_emb_0.npy',
      'text_emb_0.npy': 'text_emb_0.npy',
      'metadata_0.parquet': 'metadata_0.parquet',
    },
    { shard: 'shard_0' },
  );
  add(
    'an image and a text .npy with a metadata parquet',
    {
      'fashion_text.npy': 'text_emb_0.npy',
      'fashion_image.npy': 'img_emb_0.npy',
      'fashion.parquet': 'metadata_0.parquet',
    },
    { shard: 'fashion_image' },
  );
  add(
    'an image and a text .npy',
    { 'pairs_img.npy': 'img_emb_0.npy', 'pairs_txt.npy': 'text_emb_0.npy' },
    { shard: 'pairs_img' },
  );
  const eight = fashionRows('text_emb_0.npy').slice(0, 8 * 512);
  add(
    'a text .npy one row short',
    { 'short_img.npy': 'img_emb_0.npy', 'short_txt.npy': encodeNpy(eight, [8, 512]) },
    { error: 'short_txt.npy: has 8 rows but short_img.npy has 9; rows must be aligned' },
  );
  add(
    'two .npy files that do not say which is which',
    { 'a.npy': 'img_emb_0.npy', 'b.npy': 'text_emb_0.npy' },
    {
      error:
        'a.npy + b.npy: two plain files must say which is which: put img or image in one name and txt or text in the other',
    },
  );
  add(
    'a clip-retrieval text file without its image file',
    { 'text_emb_0.npy': 'text_emb_0.npy', 'metadata_0.parquet': 'metadata_0.parquet' },
    { error: 'text_emb_0.npy: has no image embeddings: img_emb_0.npy is missing' },
  );
  return cases;
}
