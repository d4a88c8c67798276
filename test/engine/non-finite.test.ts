// No non-finite score leaves the engine: temperatures whose float32 reciprocal overflows are refused up front,
// rows so long their scores would overflow are refused (naming the row), and a score that still came out
// NaN/Inf is an error, never a value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, maxFiniteNorm, type Engine } from 'clipsift';
import { clipScoreRef, negClipLossRef } from './reference.js';

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ threads: 1 });
});
afterAll(async () => {
  await engine?.close();
});

const DIM = 4;
/** rows × 4 unit vectors, the same pattern for image and text with a twist. */
function unitRows(rows: number, twist: number): Float32Array {
  const data = new Float32Array(rows * DIM);
  for (let r = 0; r < rows; r++) {
    const a = (r + 1) * 0.7 + twist;
    const v = [Math.cos(a), Math.sin(a), Math.cos(2 * a) * 0.5, 0.25];
    const n = Math.hypot(...v);
    v.forEach((x, j) => {
      data[r * DIM + j] = x / n;
    });
  }
  return data;
}

describe('non-finite scores', () => {
  const img = { data: unitRows(6, 0), rows: 6, dim: DIM };
  const txt = { data: unitRows(6, 0.1), rows: 6, dim: DIM };

  it('refuses temperatures whose float32 reciprocal overflows, or whose scores would, before any work', async () => {
    for (const temperature of [1e-39, 1e-45, 1e38, 3e38, 2 ** 101])
      expect(() => engine.negClipLoss(img, txt, { temperature }), String(temperature)).toThrow(
        /temperature must be between 2\^-120 .* and 2\^100 .*float32, got/,
      );
  });

  it('scores finitely at the ends of the accepted range, against a float64 reference', async () => {
    for (const temperature of [2 ** -120, 1e-30, 2 ** 100]) {
      const scores = await engine.negClipLoss(img, txt, { temperature, batchSize: 6 });
      expect(scores.every(Number.isFinite), String(temperature)).toBe(true);
      const reference = negClipLossRef(img, txt, 6, temperature, [[0, 1, 2, 3, 4, 5]]);
      // Relative to the scale of the values, which grows with τ·log(b) at the top end.
      const scale = Math.max(1, ...Array.from(reference, Math.abs));
      scores.forEach((s, i) => {
        expect(Math.abs(s - reference[i]!) / scale).toBeLessThan(1e-5);
      });
    }
  });

  it('refuses a finite float32 row of norm ~3e38 for CLIPScore and negCLIPLoss, naming it', async () => {
    const huge = { ...img, data: img.data.slice() };
    huge.data.set([3e38, 0, 0, 0], 2 * DIM);
    expect(Number.isFinite(huge.data[2 * DIM]!)).toBe(true);
    expect(() => engine.clipScore(huge, txt)).toThrow(
      /image embeddings: row 2 has norm 3\.00e\+38, beyond .*not be finite/,
    );
    expect(() => engine.negClipLoss(txt, huge)).toThrow(/text embeddings: row 2 has norm 3\.00e\+38/);
    // The other rows are not poisoned when the row is normalised instead.
    const scores = await engine.negClipLoss(huge, txt, { normalize: true });
    expect(scores.every(Number.isFinite)).toBe(true);
    // Just under the limit still scores finitely.
    const limit = maxFiniteNorm(0.01);
    const big = { ...img, data: img.data.slice() };
    big.data.set([limit * 0.99, 0, 0, 0], 2 * DIM);
    const clip = await engine.clipScore(big, txt);
    expect(clip.every(Number.isFinite)).toBe(true);
    expect(clip[2]).toBeCloseTo(clipScoreRef(big, txt)[2]!, -10);
    expect((await engine.negClipLoss(big, txt)).every(Number.isFinite)).toBe(true);
  });

  it('tells a row of the largest finite float32s (overlarge) from a row holding Infinity (non-finite), in that order', () => {
    const max = { ...img, data: img.data.slice() };
    max.data.fill(3.4028234663852886e38, 1 * DIM, 2 * DIM);
    expect(() => engine.negClipLoss(max, txt)).toThrow(/image embeddings: row 1 has norm 6\.81e\+38, beyond/);
    const inf = { ...txt, data: txt.data.slice() };
    inf.data[3 * DIM + 2] = Infinity;
    // Both inputs bad: the non-finite value is named first, whichever input it is in.
    expect(() => engine.negClipLoss(max, inf)).toThrow(/text embeddings: row 3 has a non-finite value/);
    expect(() => engine.clipScore(max, inf)).toThrow(/text embeddings: row 3 has a non-finite value/);
  });

  it('throws rather than return a NormSim that overflowed', async () => {
    const target = await engine.prepareTarget({ data: Float32Array.of(1e20, 0, 0, 0), rows: 1, dim: DIM });
    const candidates = { data: Float32Array.of(1e20, 0, 0, 0, 0, 1, 0, 0), rows: 2, dim: DIM };
    await expect(engine.normSim(candidates, target)).rejects.toThrow(/NormSim of row 0 is Infinity, not finite/);
  });
});
