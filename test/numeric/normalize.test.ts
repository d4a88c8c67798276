import { describe, expect, it } from 'vitest';
import { fromFloat16Bits, toFloat16Bits } from '../../src/numeric/float16.js';
import { normalizeRows } from '../../src/numeric/normalize.js';

/** float64 reference: each value over the float64 norm, rounded once to float32. */
function reference(values: number[], dim: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < values.length / dim; r++) {
    const row = values.slice(r * dim, (r + 1) * dim);
    const norm = Math.sqrt(row.reduce((s, v) => s + v * v, 0));
    row.forEach((v, k) => {
      out[r * dim + k] = norm > 0 ? v / norm : 0;
    });
  }
  return out;
}

describe('normalizeRows', () => {
  const values = [3, 4, 0, 0, 0, 0, -1, 2, 2, 1e-3, 0, 0];

  it('gives unit rows within a float32 ulp of the float64 reference; zero rows stay zero', () => {
    const data = Float32Array.from(values);
    const out = normalizeRows(data, 3);
    const want = reference(Array.from(data), 3);
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - want[i]!)).toBeLessThanOrEqual(2 ** -23);
    expect(Array.from(out.subarray(3, 6))).toEqual([0, 0, 0]);
    expect(Array.from(data)).toEqual(Array.from(Float32Array.from(values))); // the input is untouched by default
  });

  it('normalises float32 in place when given the input as out', () => {
    const data = Float32Array.from(values);
    const copy = normalizeRows(data, 3);
    expect(normalizeRows(data, 3, data)).toBe(data);
    expect(data).toEqual(copy);
  });

  it('decodes float16 bit patterns exactly before normalising', () => {
    const bits = Uint16Array.from(values, toFloat16Bits);
    const out = normalizeRows(bits, 3);
    const want = reference(Array.from(bits, fromFloat16Bits), 3);
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - want[i]!)).toBeLessThanOrEqual(2 ** -23);
  });

  it('refuses an out of another length', () => {
    expect(() => normalizeRows(new Float32Array(6), 3, new Float32Array(3))).toThrow(/out has 3 values/);
  });
});
