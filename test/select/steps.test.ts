import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runSteps, type ScoreColumns, type SelectionStep } from '../../src/select/steps.js';

/** Independent reference: full sort by (score desc, uid asc) of the survivors, set semantics. */
function referenceSelect(
  columns: Record<string, number[]>,
  uids: string[],
  steps: SelectionStep[],
  pool: number[],
): { kept: number[]; counts: number[]; thresholds: (number | null)[] } {
  let survivors = [...pool];
  const counts: number[] = [];
  const thresholds: (number | null)[] = [];
  for (const step of steps) {
    const scores = columns[step.column]!;
    if (step.kind === 'top') {
      const count = Math.floor(pool.length * step.fraction);
      const ordered = [...survivors].sort((a, b) => {
        const d = scores[b]! - scores[a]!;
        if (d !== 0) return d;
        return uids[a]! < uids[b]! ? -1 : uids[a]! > uids[b]! ? 1 : 0;
      });
      const kept = ordered.slice(0, count);
      thresholds.push(kept.length ? scores[kept[kept.length - 1]!]! : null);
      survivors = kept.sort((a, b) => a - b);
    } else {
      survivors = survivors.filter((r) => scores[r]! >= step.value);
      thresholds.push(step.value);
    }
    counts.push(survivors.length);
  }
  return { kept: survivors, counts, thresholds };
}

function tableOf(columns: Record<string, number[]>, uids: string[]): ScoreColumns {
  return {
    columns: Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, Float32Array.from(v)])),
    compareRows: (a, b) => (uids[a]! < uids[b]! ? -1 : uids[a]! > uids[b]! ? 1 : 0),
    describeRow: (row) => `uid ${uids[row]}`,
  };
}

// Scores from a small set of float32-exact values, so ties are frequent.
const score = fc.integer({ min: -4, max: 4 }).map((v) => v / 4);
const stepArb = fc.oneof(
  fc.record({
    kind: fc.constant('top' as const),
    column: fc.constantFrom('a', 'b'),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.record({ kind: fc.constant('min' as const), column: fc.constantFrom('a', 'b'), value: score }),
);

describe('runSteps', () => {
  it('matches a sort-based reference on random tables with many ties', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }).chain((n) =>
          fc.record({
            a: fc.array(score, { minLength: n, maxLength: n }),
            b: fc.array(score, { minLength: n, maxLength: n }),
            uids: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: n, maxLength: n }),
            poolMask: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
            steps: fc.array(stepArb, { maxLength: 4 }),
          }),
        ),
        ({ a, b, uids, poolMask, steps }) => {
          const pool = poolMask.flatMap((inPool, row) => (inPool ? [row] : []));
          const expected = referenceSelect({ a, b }, uids, steps, pool);
          const result = runSteps(tableOf({ a, b }, uids), steps, Uint32Array.from(pool));
          expect([...result.rows]).toEqual(expected.kept);
          expect(result.summary.poolSize).toBe(pool.length);
          expect(result.summary.steps.map((s) => s.kept)).toEqual(expected.counts);
          expect(result.summary.steps.map((s) => s.threshold)).toEqual(expected.thresholds);
          expect(result.summary.kept).toBe(expected.kept.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps fractions relative to the pool, not to the survivors', () => {
    // 10 rows; a = 9..0, b = 0..9. Top 50 % by a keeps rows 0..4; then top 20 % by b keeps
    // ⌊10·0.2⌋ = 2 rows of those (3 and 4), not ⌊5·0.2⌋ = 1.
    const a = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
    const b = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const uids = a.map((_, i) => String.fromCharCode(97 + i));
    const result = runSteps(tableOf({ a, b }, uids), [
      { kind: 'top', column: 'a', fraction: 0.5 },
      { kind: 'top', column: 'b', fraction: 0.2 },
    ]);
    expect([...result.rows]).toEqual([3, 4]);
    expect(result.summary.steps.map((s) => [s.kept, s.threshold])).toEqual([
      [5, 5],
      [2, 3],
    ]);
  });

  it('breaks ties by uid, whatever the row order', () => {
    const uids = ['d', 'b', 'a', 'c'];
    const result = runSteps(tableOf({ a: [1, 1, 1, 1] }, uids), [{ kind: 'top', column: 'a', fraction: 0.5 }]);
    expect([...result.rows].map((r) => uids[r]).sort()).toEqual(['a', 'b']);
  });

  it('treats -0 and +0 as one score, tied by uid', () => {
    const uids = ['b', 'a'];
    const result = runSteps(tableOf({ a: [0, -0] }, uids), [{ kind: 'top', column: 'a', fraction: 0.5 }]);
    expect([...result.rows]).toEqual([1]);
  });

  it('given-uids restrict the pool and set N', () => {
    const a = [5, 4, 3, 2, 1, 0];
    const uids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const result = runSteps(
      tableOf({ a }, uids),
      [{ kind: 'top', column: 'a', fraction: 0.5 }],
      Uint32Array.of(1, 3, 5, 4),
    );
    expect(result.summary.poolSize).toBe(4);
    expect([...result.rows].sort()).toEqual([1, 3]);
  });

  it('min keeps scores ≥ value and reports the value as threshold', () => {
    const result = runSteps(tableOf({ a: [0.1, 0.2, 0.3] }, ['a', 'b', 'c']), [
      { kind: 'min', column: 'a', value: Math.fround(0.2) },
    ]);
    expect([...result.rows]).toEqual([1, 2]);
    expect(result.summary.steps[0]!.threshold).toBe(Math.fround(0.2));
  });

  it('rejects NaN scores in a used column, naming the rows', () => {
    const table = tableOf({ a: [0.1, NaN, 0.3], b: [NaN, NaN, NaN] }, ['x', 'y', 'z']);
    expect(() => runSteps(table, [{ kind: 'top', column: 'a', fraction: 0.5 }])).toThrow(
      /column a is NaN in 1 row: uid y/,
    );
    // NaN outside the pool, or in a column no step uses, is no error.
    expect(() => runSteps(table, [{ kind: 'top', column: 'a', fraction: 0.5 }], Uint32Array.of(0, 2))).not.toThrow();
  });

  it('rejects unknown columns and fractions outside [0, 1]', () => {
    const table = tableOf({ a: [1] }, ['x']);
    expect(() => runSteps(table, [{ kind: 'top', column: 'zz', fraction: 0.5 }])).toThrow(
      /unknown score column "zz" \(columns: a\)/,
    );
    expect(() => runSteps(table, [{ kind: 'top', column: 'a', fraction: 1.5 }])).toThrow(
      /fraction must be in \[0, 1\]/,
    );
    expect(() => runSteps(table, [{ kind: 'top', column: 'a', fraction: NaN }])).toThrow(/fraction/);
  });
});
