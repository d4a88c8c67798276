import { describe, expect, it } from 'vitest';
import { formatUid, parseUids, uidCount } from '../../src/io/uid.js';
import { selectFromTable } from '../../src/select/table.js';

const hex = (n: number) => n.toString(16).padStart(32, '0');

describe('selectFromTable', () => {
  it('breaks ties by numeric uid and returns sorted unique uids', () => {
    // Uids whose word order differs from their row order: rows 0..3 carry uids 3, 1, 2, 0 (times 2^100).
    const texts = [3, 1, 2, 0].map((k) => (k.toString(16) + '0'.repeat(31)).slice(0, 32));
    const table = { uids: parseUids(texts, 't'), columns: { s: Float32Array.of(1, 1, 1, 1) } };
    const result = selectFromTable(table, [{ kind: 'top', column: 's', fraction: 0.5 }]);
    expect([...result.rows]).toEqual([1, 3]);
    expect(Array.from({ length: uidCount(result.uids) }, (_, i) => formatUid(result.uids, i))).toEqual([
      texts[3],
      texts[1],
    ]);
  });

  it('restricts the pool to given uids and reports how many matched', () => {
    const texts = Array.from({ length: 10 }, (_, i) => hex(100 + i));
    const scores = Float32Array.from({ length: 10 }, (_, i) => i);
    const given = parseUids([hex(102), hex(105), hex(107), hex(108), hex(999), hex(105)], 'given');
    const result = selectFromTable(
      { uids: parseUids(texts, 't'), columns: { s: scores } },
      [{ kind: 'top', column: 's', fraction: 0.5 }],
      given,
    );
    expect(result.summary.poolSize).toBe(4);
    expect(result.summary.given).toEqual({ uids: 5, matchedRows: 4 });
    expect([...result.rows]).toEqual([7, 8]);
  });

  it('with no steps and no score column, keeps every row', () => {
    const result = selectFromTable({ uids: parseUids([hex(5), hex(3), hex(5)], 't'), columns: {} }, []);
    expect(result.summary.poolSize).toBe(3);
    expect([...result.rows]).toEqual([0, 1, 2]);
    expect(Array.from({ length: uidCount(result.uids) }, (_, i) => formatUid(result.uids, i))).toEqual([
      hex(3),
      hex(5),
    ]);
  });

  it('names the uid of a NaN row', () => {
    const table = { uids: parseUids([hex(1), hex(2)], 't'), columns: { s: Float32Array.of(0, NaN) } };
    expect(() => selectFromTable(table, [{ kind: 'min', column: 's', value: 0 }])).toThrow(`uid ${hex(2)}`);
  });
});
