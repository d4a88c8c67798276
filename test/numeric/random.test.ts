import { describe, expect, it } from 'vitest';
import { permutation, RandomStream, splitmix32 } from '../../src/numeric/random.js';

describe('splitmix32', () => {
  it('matches a Python big-integer implementation of the same recurrence', () => {
    // Python: s = (s + 0x9e3779b9) & M; z = ((z ^ z>>16) * 0x85ebca6b) & M; z = ((z ^ z>>13) * 0xc2b2ae35) & M; z ^ z>>16
    const expected: Record<number, number[]> = {
      0: [2462723854, 1020716019, 454327756, 1275600319],
      1: [2527132011, 314344336, 2535364964, 2041432039],
      4294967295: [920564995, 4230986166, 697614773, 1778835764],
    };
    for (const [seed, values] of Object.entries(expected)) {
      const next = splitmix32(Number(seed));
      expect(values.map(() => next())).toEqual(values);
    }
  });
});

describe('permutation', () => {
  it('is a permutation, the same for the same seed, another for another seed', () => {
    const a = permutation(1000, 7);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, 7)).toEqual(a);
    expect(permutation(1000, 8)).not.toEqual(a);
  });
});

describe('RandomStream', () => {
  it('takes its state from splitmix32 of the seed (xoshiro128** first output is rotl(b·5, 7)·9)', () => {
    const b = splitmix32(3);
    b();
    const second = b();
    const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
    expect(new RandomStream(3).nextUint32()).toBe(Math.imul(rotl(Math.imul(second, 5), 7), 9) >>> 0);
  });
});
