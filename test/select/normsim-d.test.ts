import { describe, expect, it } from 'vitest';
import { normSim2D, removalSchedule } from '../../src/select/normsim-d.js';
import { bruteForce, clusteredRows, float64Engine } from './normsim-reference.js';

describe('removalSchedule', () => {
  it('spreads removals evenly and sums to the total', () => {
    for (const [total, iterations] of [
      [0, 5],
      [3, 5],
      [17, 5],
      [1000, 500],
      [499, 500],
    ] as const) {
      const sizes = removalSchedule(total, iterations);
      expect(sizes).toHaveLength(iterations);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});

describe('normSim2D (exact update)', () => {
  it('matches a brute-force float64 reference that rebuilds G every round', async () => {
    const m = clusteredRows(60, 10, 1);
    const reference = bruteForce(m, removalSchedule(60 - 25, 7));
    const result = await normSim2D(float64Engine, m, { finalSize: 25, iterations: 7 });
    expect([...result.rows]).toEqual(reference.kept);
    expect(result.iterations).toBe(7);
    // The stragglers (every 7th row) are the first to go.
    expect(result.rows.filter((r) => r % 7 === 0).length).toBeLessThan(25 / 7);
  });

  it('keeps everything when the final size is the input size, nothing when it is 0', async () => {
    const m = clusteredRows(12, 4, 2);
    expect([...(await normSim2D(float64Engine, m, { finalSize: 12 })).rows]).toEqual([...Array(12).keys()]);
    expect((await normSim2D(float64Engine, m, { finalSize: 0, iterations: 3 })).rows.length).toBe(0);
  });

  it('breaks ties with compareRows', async () => {
    // Four identical rows: every score ties; the rows compareRows orders first survive.
    const data = new Float32Array(4 * 2).fill(Math.SQRT1_2);
    const result = await normSim2D(
      float64Engine,
      { data, rows: 4, dim: 2 },
      { finalSize: 2, iterations: 1, compareRows: (a, b) => b - a },
    );
    expect([...result.rows]).toEqual([2, 3]);
  });

  it('rejects bad options', async () => {
    const m = clusteredRows(5, 3, 3);
    await expect(normSim2D(float64Engine, m, { finalSize: 6 })).rejects.toThrow(/final size/);
    await expect(normSim2D(float64Engine, m, { finalSize: 2, iterations: 0 })).rejects.toThrow(/iterations/);
    await expect(normSim2D(float64Engine, m, { finalSize: 2, sampleFraction: 0 })).rejects.toThrow(/sample fraction/);
  });
});

describe('normSim2D (sample mode)', () => {
  it('is deterministic for a seed, reaches the final size, and drops stragglers', async () => {
    const m = clusteredRows(70, 8, 4);
    const a = await normSim2D(float64Engine, m, { finalSize: 30, iterations: 10, sampleFraction: 0.3, seed: 5 });
    const b = await normSim2D(float64Engine, m, { finalSize: 30, iterations: 10, sampleFraction: 0.3, seed: 5 });
    expect([...a.rows]).toEqual([...b.rows]);
    expect(a.rows.length).toBe(30);
    expect(a.rows.filter((r) => r % 7 === 0).length).toBeLessThan(30 / 7);
  });

  it('with the whole selection as its sample, equals the exact mode', async () => {
    const m = clusteredRows(40, 6, 6);
    const exact = await normSim2D(float64Engine, m, { finalSize: 15, iterations: 5 });
    const sampled = await normSim2D(float64Engine, m, { finalSize: 15, iterations: 5, sampleFraction: 1 });
    expect([...sampled.rows]).toEqual([...exact.rows]);
  });
});
