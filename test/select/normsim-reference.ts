// Float64 references for NormSim_2-D tests: test data, a definition-level engine stand-in, brute force.
import type { EmbeddingMatrix, NormSimEngine } from '../../src/select/normsim-d.js';
import { RandomStream } from '../../src/numeric/random.js';

/** Unit rows from a few clusters plus stragglers, float32. */
export function clusteredRows(rows: number, dim: number, seed: number): EmbeddingMatrix {
  const random = new RandomStream(seed);
  const centres = Array.from({ length: 3 }, () => Array.from({ length: dim }, () => random.normal()));
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const centre = centres[r % 3]!;
    const spread = r % 7 === 0 ? 3 : 0.6; // every 7th row strays far from its cluster
    const v = centre.map((c) => c + spread * random.normal());
    const norm = Math.hypot(...v);
    v.forEach((x, i) => {
      data[r * dim + i] = x / norm;
    });
  }
  return { data, rows, dim };
}

const valueAt = (m: EmbeddingMatrix, r: number, i: number) => m.data[r * m.dim + i]!;

/** A float64 stand-in for the engine, straight from the definition NormSim_2(x) = sqrt(Σ_t (x·t)²). */
export const float64Engine: NormSimEngine<EmbeddingMatrix> = {
  prepareTarget: async (target) => target,
  normSim: async (candidates, target) => {
    const out = new Float32Array(candidates.rows);
    for (let i = 0; i < candidates.rows; i++) {
      let sum = 0;
      for (let t = 0; t < target.rows; t++) {
        let dot = 0;
        for (let k = 0; k < candidates.dim; k++) dot += valueAt(candidates, i, k) * valueAt(target, t, k);
        sum += dot * dot;
      }
      out[i] = Math.sqrt(sum);
    }
    return out;
  },
};

/**
 * Brute force: rebuild G = Σ_{s∈S} s sᵀ from scratch each round (float64), score xᵀGx, drop the lowest
 * `size` rows (ties: higher index goes). Also returns the smallest score gap at each cut, so a test can
 * check that float32 rounding cannot flip the choice.
 */
export function bruteForce(m: EmbeddingMatrix, schedule: number[]): { kept: number[]; minGap: number } {
  let current = Array.from({ length: m.rows }, (_, i) => i);
  let minGap = Infinity;
  for (const size of schedule) {
    if (size === 0) continue;
    const g = new Float64Array(m.dim * m.dim);
    for (const s of current)
      for (let a = 0; a < m.dim; a++)
        for (let b = 0; b < m.dim; b++) g[a * m.dim + b]! += valueAt(m, s, a) * valueAt(m, s, b);
    const score = new Map<number, number>();
    for (const x of current) {
      let q = 0;
      for (let a = 0; a < m.dim; a++)
        for (let b = 0; b < m.dim; b++) q += valueAt(m, x, a) * g[a * m.dim + b]! * valueAt(m, x, b);
      score.set(x, q);
    }
    const ordered = [...current].sort((a, b) => score.get(b)! - score.get(a)! || a - b);
    const keep = ordered.length - size;
    if (keep > 0)
      minGap = Math.min(minGap, Math.sqrt(score.get(ordered[keep - 1]!)!) - Math.sqrt(score.get(ordered[keep]!)!));
    current = ordered.slice(0, keep).sort((a, b) => a - b);
  }
  return { kept: current, minGap };
}
