/**
 * NormSim is row by row: a row's score does not depend on which other rows are scored with it. clipsift
 * run relies on it (it scores NormSim for a shard's survivors only and must get the bits of scoring the
 * whole shard), so it is checked here for both precisions, p = ∞, 2 (direct and through the Gram matrix)
 * and 3, at 1 and 2 threads, with a subset whose rows fall at every position of the kernel's tiles.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from 'clipsift';
import { pairedEmbeddings } from '../cli/helpers.js';

describe('NormSim of a subset of rows', { timeout: 120_000 }, () => {
  it('is bit for bit the NormSim of those rows scored with all the others', async () => {
    const dim = 768;
    const rows = 1031;
    const { img } = pairedEmbeddings(rows, dim, 11);
    // Every third row and a few runs of neighbours: subset rows land on every tile position.
    const pick = Array.from({ length: rows }, (_, i) => i).filter((i) => i % 3 === 0 || (i > 500 && i < 517));
    const sub = new Uint16Array(pick.length * dim);
    for (const [k, row] of pick.entries()) sub.set(img.subarray(row * dim, (row + 1) * dim), k * dim);
    for (const precision of ['f32', 'i16'] as const) {
      for (const threads of [1, 2]) {
        const engine = await createEngine({ threads, simd: 'baseline', precision });
        try {
          for (const [targetRows, p] of [
            [40, Infinity],
            [40, 2],
            [900, 2],
            [40, 3],
          ] as const) {
            const target = await engine.prepareTarget(
              { data: pairedEmbeddings(targetRows, dim, 12).img, rows: targetRows, dim },
              { p },
            );
            const full = await engine.normSim({ data: img, rows, dim }, target);
            const part = await engine.normSim({ data: sub, rows: pick.length, dim }, target);
            const differing = pick.filter((row, k) => !Object.is(part[k], full[row]));
            expect(differing, `${precision}, ${threads} threads, p = ${p}, ${targetRows} target rows`).toEqual([]);
          }
        } finally {
          await engine.close();
        }
      }
    }
  });
});
