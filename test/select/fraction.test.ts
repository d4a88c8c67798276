// Exact ⌊N·f⌋ from the decimal written: checked against counting k·10^e ≤ N·digits over integers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { floorTimes, parseDecimalRatio } from '../../src/select/fraction.js';
import { runSteps } from '../../src/select/steps.js';

/** Reference: the largest k ≤ n with k·100 ≤ n·p (p a whole percentage), found by counting. */
function percentCount(n: number, p: number): number {
  let k = 0;
  while (k < n && (k + 1) * 100 <= n * p) k++;
  return k;
}

describe('exact fractions', () => {
  it('29 % and 57 % of 100 rows are 29 and 57 (binary floating point gives 28 and 56)', () => {
    expect(Math.floor(100 * 0.29)).toBe(28); // the bug this guards against
    expect(floorTimes(100, '29%')).toBe(29);
    expect(floorTimes(100, '0.29')).toBe(29);
    expect(floorTimes(100, 0.29)).toBe(29);
    expect(floorTimes(100, '57%')).toBe(57);
    expect(floorTimes(100, 0.57)).toBe(57);
    expect(floorTimes(1000, '0.1e-1')).toBe(10);
    expect(floorTimes(7, '.5')).toBe(3);
  });

  it('every whole percentage of every pool up to 400 rows matches integer counting', () => {
    for (let n = 0; n <= 400; n += 1)
      for (let p = 0; p <= 100; p++) {
        const expected = percentCount(n, p);
        expect(floorTimes(n, `${p}%`)).toBe(expected);
        expect(floorTimes(n, p / 100)).toBe(expected);
      }
  });

  it('matches k·den ≤ n·num for random decimals', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 0, max: 999_999 }), (n, millionths) => {
        const text = `0.${String(millionths).padStart(6, '0')}`;
        const count = floorTimes(n, text);
        // count·10^6 ≤ n·millionths < (count+1)·10^6
        expect(BigInt(count) * 1000000n <= BigInt(n) * BigInt(millionths)).toBe(true);
        expect((BigInt(count) + 1n) * 1000000n > BigInt(n) * BigInt(millionths)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts only plain decimals', () => {
    for (const bad of ['', '.', '%', '-0.1', '+0.1', '0x10', ' 0.5', '0.5 ', 'Infinity', 'NaN', '1_0', '0b1', '1e'])
      expect(parseDecimalRatio(bad), bad).toBeUndefined();
    expect(parseDecimalRatio('12.50%')).toEqual({ numerator: 1250n, denominator: 10000n });
    expect(parseDecimalRatio('3e2')).toEqual({ numerator: 300n, denominator: 1n });
  });

  it('runSteps keeps ⌊N·f⌋ exactly for number and decimal fractions', () => {
    const scores = Float32Array.from({ length: 100 }, (_, i) => i);
    const table = { columns: { a: scores }, compareRows: (x: number, y: number) => x - y };
    expect(runSteps(table, [{ kind: 'top', column: 'a', fraction: 0.29 }]).rows.length).toBe(29);
    expect(runSteps(table, [{ kind: 'top', column: 'a', fraction: 0.57, decimal: '57%' }]).rows.length).toBe(57);
    expect(() => runSteps(table, [{ kind: 'top', column: 'a', fraction: 0.5, decimal: '0x1' }])).toThrow(/decimal/);
  });
});
