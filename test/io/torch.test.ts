/**
 * .pt and .safetensors readers against files written by torch 1.13 (test/fixtures/torch/make_torch_fixtures.py):
 * every value must equal what torch stored, and a pickle that is not tensor data must be refused unread.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openEmbeddingFile } from '../../src/io/layouts.js';
import { nodeFileSystem } from '../../src/io/node-files.js';
import { openSafetensors } from '../../src/io/safetensors.js';
import { bytesSource } from '../../src/io/source.js';
import { openTorchFile } from '../../src/io/torch.js';
import { expectInputError, expectSameBytes, FUZZ_RUNS, parsesOrInputError, readAllChunks } from './helpers.js';

const DIR = fileURLToPath(new URL('../fixtures/torch/', import.meta.url));
const source = (name: string) => bytesSource(name, new Uint8Array(readFileSync(DIR + name)));
const expected = (name: string) => new Uint8Array(readFileSync(`${DIR}expected/${name}.bin`));

describe('openTorchFile on files torch.save wrote', () => {
  it.each([
    ['f32_7x12.pt', 7, 12, 'f4'],
    ['f16_5x8.pt', 5, 8, 'f2'],
    ['f64_3x5.pt', 3, 5, 'f4'],
    ['bf16_3x6.pt', 3, 6, 'f4'],
    ['vector_10.pt', 1, 10, 'f4'],
    ['view_4x10.pt', 4, 10, 'f4'],
  ])('%s: shape, dtype and every value as torch stored them', async (name, rows, dim, dtype) => {
    const file = await openTorchFile(source(name));
    expect(file.keys).toEqual(['']);
    const reader = await file.open();
    expect([reader.rows, reader.dim, reader.dtype]).toEqual([rows, dim, dtype]);
    for (const chunkRows of [1, 2, 100]) expectSameBytes(await readAllChunks(reader, chunkRows), expected(name));
  });

  it("reads a dict of tensors by key, as DataComp's {'image_features': …} files", async () => {
    const file = await openTorchFile(source('in1k_like.pt'));
    expect(file.keys).toEqual(['image_features', 'labels']);
    const reader = await file.open('image_features');
    expect(reader.name).toBe('in1k_like.pt:image_features');
    expectSameBytes(await readAllChunks(reader, 4), expected('in1k_like.pt.image_features'));
    await expectInputError(() => file.open(), /in1k_like\.pt/, /'image_features', 'labels'/, /--target-key/);
    await expectInputError(() => file.open('nope'), /no tensor 'nope'/);
    await expectInputError(() => file.open('labels'), /Long tensor/, /float16/);
  });

  it('refuses a pickle that calls os.system, naming the file and the global, and runs nothing', async () => {
    const marker = '/tmp/clipsift-pwned';
    const before = existsSync(marker);
    const error = await expectInputError(
      () => openTorchFile(source('hostile_os_system.pt')),
      /^hostile_os_system\.pt/,
      /refusing to load/,
      /(posix|os)\.system/,
    );
    expect(error.field).toMatch(/system$/);
    expect(existsSync(marker)).toBe(before);
  });

  it('refuses a pickle of other objects, and the legacy format, with a reason', async () => {
    await expectInputError(() => openTorchFile(source('not_a_tensor.pt')), /mymodels\.Model/, /not a tensor/);
    await expectInputError(() => openTorchFile(source('legacy.pt')), /legacy torch\.save/, /re-save/);
    await expectInputError(() => openTorchFile(source('two.safetensors')), /not a PyTorch file/);
  });

  it('either reads or throws an InputError for any corruption of a torch file', async () => {
    const bytes = new Uint8Array(readFileSync(DIR + 'in1k_like.pt'));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: bytes.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        async (at, value) => {
          const copy = bytes.slice();
          copy[at] = value;
          await parsesOrInputError('bad.pt', async () => {
            const file = await openTorchFile(bytesSource('bad.pt', copy));
            for (const key of file.keys) {
              try {
                await readAllChunks(await file.open(key), 3);
              } catch (error) {
                // An int tensor is refused by dtype: that is an InputError too.
                if (!(error instanceof Error && error.name === 'InputError')) throw error;
              }
            }
          });
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('openSafetensors', () => {
  it('reads each tensor as written', async () => {
    const file = await openSafetensors(source('two.safetensors'));
    expect(file.keys).toEqual(['image_features', 'other']);
    const a = await file.open('image_features');
    expect([a.rows, a.dim, a.dtype]).toEqual([4, 12, 'f4']);
    expectSameBytes(await readAllChunks(a, 3), expected('two.safetensors.image_features'));
    const b = await file.open('other');
    expect([b.rows, b.dim, b.dtype]).toEqual([3, 12, 'f2']);
    expectSameBytes(await readAllChunks(b, 2), expected('two.safetensors.other'));
    await expectInputError(() => file.open(), /holds 2 tensors/);
  });

  it('refuses a header that points outside the file', async () => {
    const bytes = new Uint8Array(readFileSync(DIR + 'two.safetensors'));
    await expectInputError(
      () => openSafetensors(bytesSource('cut.safetensors', bytes.slice(0, bytes.length - 10))),
      /cut\.safetensors/,
      /outside the file/,
    );
  });
});

describe('openEmbeddingFile dispatches .pt and .safetensors', () => {
  it('opens by extension with the key', async () => {
    const pt = await openEmbeddingFile(nodeFileSystem, DIR + 'in1k_like.pt', { key: 'image_features' });
    expect([pt.rows, pt.dim]).toEqual([6, 16]);
    await pt.close();
    const st = await openEmbeddingFile(nodeFileSystem, DIR + 'two.safetensors', { key: 'other' });
    expect([st.rows, st.dim]).toEqual([3, 12]);
    await st.close();
  });
});
