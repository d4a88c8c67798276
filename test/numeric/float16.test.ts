import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromFloat16Bits, toFloat16Bits } from '../../src/numeric/float16.js';

/** Every finite float16 value, ascending, from the bit patterns (an independent decoding by formula). */
function allFinitePositiveHalves(): number[] {
  const values: number[] = [];
  for (let e = 0; e < 31; e++) {
    for (let m = 0; m < 1024; m++) values.push(e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15));
  }
  return values;
}
const halves = allFinitePositiveHalves();
// 65536 stands for infinity (pattern 0x7c00, an even one), so 65520 ties up to it as numpy does.
const table = [...halves, 65536];

describe('float16', () => {
  it('decodes every bit pattern to the value of its fields', () => {
    for (let bits = 0; bits < 0x7c00; bits++) expect(fromFloat16Bits(bits)).toBe(halves[bits]);
    expect(fromFloat16Bits(0x7c00)).toBe(Infinity);
    expect(fromFloat16Bits(0xfc00)).toBe(-Infinity);
    expect(fromFloat16Bits(0x7e00)).toBeNaN();
  });

  it('round-trips every finite pattern', () => {
    for (let bits = 0; bits < 0x7c00; bits++) {
      expect(toFloat16Bits(fromFloat16Bits(bits))).toBe(bits);
      expect(toFloat16Bits(-fromFloat16Bits(bits))).toBe(bits | 0x8000);
    }
  });

  it('rounds to the nearest float16, ties to even', () => {
    fc.assert(
      fc.property(fc.double({ min: -70000, max: 70000, noNaN: true }), (x) => {
        const bits = toFloat16Bits(x);
        const y = fromFloat16Bits(bits);
        const ax = Math.abs(x);
        // Nearest by brute force over the sorted table (binary search for the bracket).
        let lo = 0;
        let hi = table.length - 1;
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if (table[mid]! <= ax) lo = mid;
          else hi = mid;
        }
        if (ax >= 65536) {
          expect(Math.abs(y)).toBe(Infinity);
          return;
        }
        const below = table[lo]!;
        const above = table[hi]!;
        const expected =
          ax - below < above - ax ? below : ax - below > above - ax ? above : lo % 2 === 0 ? below : above;
        expect(Math.abs(y)).toBe(expected === 65536 ? Infinity : expected);
      }),
      { numRuns: 5000 },
    );
  });

  it('rounds exact midpoints to even', () => {
    // Between 1 and 1 + 2^-10 the midpoint goes down to 1 (even mantissa); the next one goes up.
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(2 ** -25)).toBe(0);
    expect(toFloat16Bits(3 * 2 ** -25)).toBe(2);
    expect(toFloat16Bits(65519)).toBe(0x7bff);
  });
});
