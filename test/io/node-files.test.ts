import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutputError } from '../../src/io/errors.js';
import { listShards, openShard } from '../../src/io/layouts.js';
import { listDirectory, nodeFileSystem, openFileSource, writeFileAtomic } from '../../src/io/node-files.js';
import { expectInputError, expectSameBytes, REAL } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'clipsift-io-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('openFileSource', () => {
  it('reads any range, reopens after close, and refuses ranges past the end', async () => {
    const bytes = new Uint8Array(readFileSync(REAL + 'img_emb_0.npy'));
    const source = await openFileSource(REAL + 'img_emb_0.npy');
    expect(source.size).toBe(bytes.length);
    expectSameBytes(await source.read(100, 5000), bytes.subarray(100, 5100));
    await source.close();
    expectSameBytes(await source.read(0, 10), bytes.subarray(0, 10));
    await expectInputError(() => source.read(bytes.length - 4, 8), /truncated/);
    await source.close();
  });

  it('reports missing files and directories as InputError', async () => {
    await expectInputError(() => openFileSource(join(dir, 'nope.npy')), 'nope.npy', 'no such file');
    await expectInputError(() => openFileSource(dir), 'is not a regular file');
    await expectInputError(() => listDirectory(join(dir, 'nope')), 'no such directory');
  });
});

describe('a clip-retrieval folder on disk', () => {
  it('lists and opens shards through nodeFileSystem', async () => {
    for (const sub of ['img_emb', 'text_emb', 'metadata']) mkdirSync(join(dir, sub));
    copyFileSync(REAL + 'img_emb_0.npy', join(dir, 'img_emb/img_emb_0.npy'));
    copyFileSync(REAL + 'text_emb_0.npy', join(dir, 'text_emb/text_emb_0.npy'));
    copyFileSync(REAL + 'metadata_0.parquet', join(dir, 'metadata/metadata_0.parquet'));
    const [ref] = await listShards(nodeFileSystem, dir);
    const shard = await openShard(nodeFileSystem, ref!, { keyColumn: 'caption' });
    expect([shard.rows, shard.dim]).toEqual([9, 512]);
    let rows = 0;
    for await (const chunk of shard.image.readRowChunks(4)) rows += chunk.rows;
    expect(rows).toBe(9);
    expect((await shard.readKeys()).caption).toHaveLength(9);
    await shard.close();
  });
});

describe('writeFileAtomic', () => {
  const bytes = new Uint8Array([1, 2, 3]);

  it('writes a new file and leaves no temporary behind', async () => {
    await writeFileAtomic(join(dir, 'out.parquet'), bytes);
    expect(new Uint8Array(readFileSync(join(dir, 'out.parquet')))).toEqual(bytes);
    expect(readdirSync(dir)).toEqual(['out.parquet']);
  });

  it('refuses to overwrite without force, and overwrites with it', async () => {
    writeFileSync(join(dir, 'out.npy'), 'old');
    await expect(writeFileAtomic(join(dir, 'out.npy'), bytes)).rejects.toThrow(OutputError);
    expect(readFileSync(join(dir, 'out.npy'), 'utf8')).toBe('old');
    await writeFileAtomic(join(dir, 'out.npy'), bytes, { force: true });
    expect(new Uint8Array(readFileSync(join(dir, 'out.npy')))).toEqual(bytes);
    expect(readdirSync(dir)).toEqual(['out.npy']);
  });

  it('never overwrites an input, even with force or through a symlink', async () => {
    writeFileSync(join(dir, 'in.npy'), 'input');
    symlinkSync(join(dir, 'in.npy'), join(dir, 'alias.npy'));
    for (const target of ['in.npy', 'alias.npy']) {
      await expect(
        writeFileAtomic(join(dir, target), bytes, { force: true, inputs: [join(dir, 'in.npy')] }),
      ).rejects.toThrow(/is one of the inputs/);
    }
    expect(readFileSync(join(dir, 'in.npy'), 'utf8')).toBe('input');
  });

  it('says so when the output directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'out.npy'), bytes)).rejects.toThrow(
      /is not an existing directory/,
    );
  });

  it('lets exactly one of two racing writers create the file', async () => {
    const results = await Promise.allSettled([
      writeFileAtomic(join(dir, 'race.npy'), new Uint8Array([1])),
      writeFileAtomic(join(dir, 'race.npy'), new Uint8Array([2])),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(readdirSync(dir)).toEqual(['race.npy']);
  });
});
