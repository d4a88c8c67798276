import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatUid, parseUids, uidCount } from '../../src/io/uid.js';
import { intersectUids, unionUids } from '../../src/select/subset-algebra.js';

const hexDigit = fc.constantFrom(...'0123456789abcdef'.split(''));
// Few distinct prefixes so the two sets overlap and differ in every word position.
const uidArb = fc
  .tuple(fc.constantFrom('00000000', 'ffffffff', '80000000'), fc.array(hexDigit, { minLength: 24, maxLength: 24 }))
  .map(([head, tail]) => (head + tail.join('')).slice(0, 28) + tail.slice(0, 4).join(''));
const listOf = (texts: string[]) => parseUids(texts, 'test');
const textsOf = (uids: Uint32Array) => Array.from({ length: uidCount(uids) }, (_, i) => formatUid(uids, i));

describe('subset algebra', () => {
  it('union and intersect match string-set references, sorted and without repeats', () => {
    fc.assert(
      fc.property(
        fc.array(uidArb, { maxLength: 30 }),
        fc.array(uidArb, { maxLength: 30 }),
        fc.array(fc.nat(29), { maxLength: 10 }),
        (a, b, shared) => {
          // Plant common uids (with repeats) so intersections are not almost always empty.
          const bb = [...b, ...shared.filter((k) => k < a.length).map((k) => a[k]!)];
          const union = [...new Set([...a, ...bb])].sort();
          const inB = new Set(bb);
          const intersection = [...new Set(a.filter((u) => inB.has(u)))].sort();
          expect(textsOf(unionUids(listOf(a), listOf(bb)))).toEqual(union);
          expect(textsOf(intersectUids(listOf(a), listOf(bb)))).toEqual(intersection);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('handles empty sets', () => {
    const a = listOf(['0123456789abcdef0123456789abcdef']);
    expect(textsOf(unionUids(a, new Uint32Array(0)))).toEqual(['0123456789abcdef0123456789abcdef']);
    expect(uidCount(intersectUids(a, new Uint32Array(0)))).toBe(0);
  });
});
