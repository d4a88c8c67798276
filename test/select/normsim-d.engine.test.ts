// NormSim_2-D on the real engine (built package: run `npm run build` first) against the float64 brute force.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from 'clipsift';
import { normSim2D, removalSchedule } from '../../src/select/normsim-d.js';
import { bruteForce, clusteredRows } from './normsim-reference.js';

describe('normSim2D with the engine', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await createEngine({ threads: 1 });
  });
  afterAll(async () => {
    await engine?.close();
  });

  for (const [rows, dim, finalSize, iterations] of [
    [90, 24, 40, 9], // removed chunks smaller than dim: the direct-product target
    [80, 12, 20, 3], // chunks of 20 rows, larger than dim: the Gram target
  ] as const) {
    it(`keeps what the brute force keeps (${rows} rows, dim ${dim}, ${iterations} rounds)`, async () => {
      const m = clusteredRows(rows, dim, rows);
      const reference = bruteForce(m, removalSchedule(rows - finalSize, iterations));
      // The comparison is only meaningful if float32 rounding cannot flip a cut.
      expect(reference.minGap).toBeGreaterThan(1e-4);
      const result = await normSim2D(engine, m, { finalSize, iterations });
      expect([...result.rows]).toEqual(reference.kept);
    });
  }
});
