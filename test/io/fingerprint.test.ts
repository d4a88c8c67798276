/**
 * The content fingerprint score files record per input (src/io/fingerprint.ts): whole-file SHA-256 up to
 * 16 MiB, checked against node:crypto; above it, sampled blocks that include the zip central directory,
 * so an .npz rewritten with its rows in another order at the same size is told apart.
 */
import { createHash } from 'node:crypto';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { FULL_HASH_BYTES, fingerprint, SAMPLE_BYTES } from '../../src/io/fingerprint.js';
import { encodeNpy } from '../../src/io/npy.js';
import { bytesSource } from '../../src/io/source.js';
import { rng } from '../cli/helpers.js';

function randomBytes(length: number, seed: number): Uint8Array {
  const next = rng(seed);
  const words = Uint32Array.from({ length: Math.ceil(length / 4) }, () => Math.floor(next() * 2 ** 32));
  return new Uint8Array(words.buffer, 0, length);
}

describe('fingerprint', () => {
  it('is the sha256 of a small file', async () => {
    const bytes = randomBytes(100_000, 1);
    const expected = createHash('sha256').update(bytes).digest('hex');
    expect(await fingerprint(bytesSource('a', bytes))).toBe(`sha256:${expected}`);
  });

  it('tells apart large .npz files whose rows were reordered at the same size', async () => {
    const rows = 6000;
    const dim = 768;
    const next = rng(2);
    const img = Uint16Array.from({ length: rows * dim }, () => Math.floor(next() * 0x3c00));
    const swapped = img.slice();
    // Swap two rows in the middle, away from every sampled block of the file.
    const a = 2000;
    const b = 2001;
    swapped.set(img.subarray(b * dim, (b + 1) * dim), a * dim);
    swapped.set(img.subarray(a * dim, (a + 1) * dim), b * dim);
    const npz = (m: Uint16Array) =>
      zipSync({ 'l14_img.npy': encodeNpy(m, [rows, dim]), 'l14_txt.npy': encodeNpy(img, [rows, dim]) }, { level: 0 });
    const one = npz(img);
    const two = npz(swapped);
    expect(one.length).toBe(two.length);
    expect(one.length).toBeGreaterThan(FULL_HASH_BYTES);
    const [f1, f2] = [await fingerprint(bytesSource('x.npz', one)), await fingerprint(bytesSource('x.npz', two))];
    expect(f1).toMatch(/^sampled-sha256:[0-9a-f]{64}$/);
    expect(f1).not.toBe(f2);
    expect(await fingerprint(bytesSource('y.npz', one.slice()))).toBe(f1);
  });

  it('changes with the size and with the last block of a large file', async () => {
    const bytes = randomBytes(FULL_HASH_BYTES + 3 * SAMPLE_BYTES, 3);
    const base = await fingerprint(bytesSource('a', bytes));
    const tail = bytes.slice();
    tail[tail.length - 1]! ^= 1;
    expect(await fingerprint(bytesSource('a', tail))).not.toBe(base);
    expect(await fingerprint(bytesSource('a', bytes.subarray(0, bytes.length - 1)))).not.toBe(base);
  });
});
