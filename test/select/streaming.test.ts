/**
 * The streaming select against the in-memory one (selectFromTable) on the same tables: kept uids, the
 * count after each step, every threshold and the errors must be identical, whatever the block sizes.
 * Tables are built to stress the hard cases: heavy ties at the threshold, −0 and +0, repeated uids
 * across rows, extreme floats, given-uid restrictions, fractions 0 and 1, and NaN scores.
 */
import { describe, expect, it } from 'vitest';
import { sortUids, UID_WORDS, uidCount } from '../../src/io/uid.js';
import type { SelectionStep } from '../../src/select/steps.js';
import {
  binOfRank,
  floatKey,
  keyFloat,
  mergeSortedUids,
  type ScoreBlock,
  type ScorePasses,
  streamSelect,
} from '../../src/select/streaming.js';
import { selectFromTable, type ScoreTable } from '../../src/select/table.js';
import { rng } from '../cli/helpers.js';
import { concatArrays } from '../io/helpers.js';

/** Passes over `table` in blocks of random sizes (a fresh split each pass), copying what is asked. */
function passesOver(
  table: ScoreTable,
  seed: number,
  log?: { columns: readonly string[]; uids: boolean }[],
): ScorePasses {
  const next = rng(seed);
  const rows = uidCount(table.uids);
  return async function* (columns, withUids) {
    log?.push({ columns, uids: withUids });
    for (let start = 0; start < rows; ) {
      const count = Math.min(rows - start, 1 + Math.floor(next() * 40));
      const block: ScoreBlock = {
        start,
        rows: count,
        columns: Object.fromEntries(columns.map((c) => [c, table.columns[c]!.slice(start, start + count)])),
        ...(withUids ? { uids: table.uids.slice(start * UID_WORDS, (start + count) * UID_WORDS) } : {}),
      };
      yield block;
      start += count;
    }
  };
}

function mergedUids(runs: Uint32Array[], chunk = 7): Uint32Array {
  return concatArrays(Uint32Array, [...mergeSortedUids(runs, chunk)]);
}

/** A table whose scores come from a small set (ties), with ±0, extremes, and repeated uids. */
function randomTable(seed: number, rows: number): ScoreTable {
  const next = rng(seed);
  const palette = [-0, 0, 1, -1, 0.5, 1e-40, -1e-40, 3.4e38, -3.4e38, Infinity, -Infinity, 2.5, 2.5000002];
  const uids = new Uint32Array(rows * UID_WORDS);
  for (let i = 0; i < rows; i++) {
    // Few distinct uids in the high words, so equal and near-equal uids are common; sometimes a repeat.
    if (i > 0 && next() < 0.1) {
      uids.copyWithin(i * UID_WORDS, Math.floor(next() * i) * UID_WORDS, (Math.floor(next() * i) + 1) * UID_WORDS);
      uids.set(uids.slice((i - 1) * UID_WORDS, i * UID_WORDS), i * UID_WORDS);
      continue;
    }
    for (let w = 0; w < UID_WORDS; w++)
      uids[i * UID_WORDS + w] = w < 2 ? Math.floor(next() * 3) : (next() * 2 ** 32) >>> 0;
  }
  const column = () =>
    Float32Array.from({ length: rows }, () =>
      next() < 0.6 ? palette[Math.floor(next() * palette.length)]! : next() * 4 - 2,
    );
  return { uids, columns: { a: column(), b: column(), c: column() } };
}

async function expectSameAsInMemory(table: ScoreTable, steps: SelectionStep[], seed: number, given?: Uint32Array) {
  let expected: ReturnType<typeof selectFromTable> | undefined;
  let expectedError: string | undefined;
  try {
    expected = selectFromTable(table, steps, given);
  } catch (err) {
    expectedError = (err as Error).message;
  }
  const run = streamSelect(passesOver(table, seed), steps, { ...(given ? { givenUids: given } : {}), runUids: 5 });
  if (expectedError !== undefined) {
    await expect(run).rejects.toThrow(expectedError);
    return;
  }
  const got = await run;
  expect(got.summary).toEqual(expected!.summary);
  expect(got.keptRows).toBe(expected!.rows.length);
  expect(mergedUids(got.runs)).toEqual(expected!.uids);
}

describe('streaming select', () => {
  it('keys order float32 bit patterns exactly as the floats (−0 just below +0) and map back', () => {
    const values = Float32Array.from([-Infinity, -3.4e38, -1, -1e-40, -0, 0, 1e-40, 1, 3.4e38, Infinity]);
    const bits = new Uint32Array(values.buffer);
    const keys = Array.from(bits, floatKey);
    for (let i = 1; i < keys.length; i++) expect(keys[i]!).toBeGreaterThan(keys[i - 1]!);
    keys.forEach((key, i) => {
      expect(Object.is(keyFloat(key), values[i])).toBe(true);
    });
    expect(binOfRank(Float64Array.of(2, 0, 3), 3)).toEqual({ bin: 2, above: 0 });
    expect(binOfRank(Float64Array.of(2, 0, 3), 4)).toEqual({ bin: 0, above: 3 });
    expect(() => binOfRank(Float64Array.of(1), 2)).toThrow(RangeError);
  });

  it('matches the in-memory select on random tables with ties, ±0, extremes and repeated uids', async () => {
    const next = rng(7);
    const fractions = [0, 1, 0.5, 0.3, 0.2, 0.99, 0.01, 1 / 3, 0.29, 0.57, 0.07];
    // As the CLI passes them: the decimal written decides ⌊N·f⌋ (0.29 of 100 is 29, not 28).
    const decimals = ['0.29', '29%', '0.57', '57%', '0.07', '1e-1', '0.3', '100%', '0'];
    for (let trial = 0; trial < 120; trial++) {
      const table = randomTable(1000 + trial, 1 + Math.floor(next() * 300));
      const steps: SelectionStep[] = [];
      for (let s = 0; s < 1 + Math.floor(next() * 3); s++) {
        const column = 'abc'[Math.floor(next() * 3)]!;
        const pick = next();
        if (pick < 0.4)
          steps.push({ kind: 'top', column, fraction: fractions[Math.floor(next() * fractions.length)]! });
        else if (pick < 0.6) {
          const decimal = decimals[Math.floor(next() * decimals.length)]!;
          const fraction = decimal.endsWith('%') ? Number(decimal.slice(0, -1)) / 100 : Number(decimal);
          steps.push({ kind: 'top', column, fraction, decimal });
        } else if (pick < 0.75)
          steps.push({
            kind: 'top',
            column,
            fraction: fractions[Math.floor(next() * fractions.length)]!,
            rounding: 'datacomp',
          });
        else steps.push({ kind: 'min', column, value: [0, -0, 0.5, -1, 2.5][Math.floor(next() * 5)]! });
      }
      let given: Uint32Array | undefined;
      if (trial % 4 === 3) {
        // Half the table's uids plus some that are not in it, in any order, with repeats.
        const picks = Array.from({ length: uidCount(table.uids) }, (_, i) => i).filter(() => next() < 0.5);
        given = new Uint32Array((picks.length + 2) * UID_WORDS);
        picks.forEach((row, k) => {
          given!.set(table.uids.subarray(row * UID_WORDS, (row + 1) * UID_WORDS), k * UID_WORDS);
        });
        given.fill(0xffffffff, picks.length * UID_WORDS);
      }
      await expectSameAsInMemory(table, steps, trial, given);
    }
  });

  it('counts ⌊N·f⌋ from the decimal written, as the in-memory select (29% of 100 rows is 29)', async () => {
    const table = randomTable(21, 100);
    table.columns.a = Float32Array.from({ length: 100 }, (_, i) => i);
    for (const step of [
      { kind: 'top', column: 'a', fraction: 0.29 },
      { kind: 'top', column: 'a', fraction: 0.29, decimal: '29%' },
      { kind: 'top', column: 'a', fraction: 0.57, decimal: '0.57' },
    ] satisfies SelectionStep[]) {
      const got = await streamSelect(passesOver(table, 4), [step]);
      expect(got.summary.steps[0]!.kept).toBe(step.fraction === 0.29 ? 29 : 57);
      await expectSameAsInMemory(table, [step], 4);
    }
    await expectSameAsInMemory(table, [{ kind: 'top', column: 'a', fraction: 1.5, decimal: '150%' }], 4);
  });

  it('matches DataComp rounding (threshold at index int(N·f), every row at or above it kept), ties included', async () => {
    const table = randomTable(22, 200);
    table.columns.a!.fill(0.25, 0, 120);
    for (const fraction of [0, 0.1, 0.5, 0.9, 1])
      await expectSameAsInMemory(
        table,
        [
          { kind: 'min', column: 'b', value: -1 },
          { kind: 'top', column: 'a', fraction, rounding: 'datacomp' },
        ],
        5,
      );
  });

  it('matches when every score ties, so the uid order alone decides', async () => {
    const table = randomTable(5, 257);
    table.columns.a!.fill(0.25);
    await expectSameAsInMemory(
      table,
      [
        { kind: 'top', column: 'a', fraction: 0.3 },
        { kind: 'top', column: 'a', fraction: 0.1 },
      ],
      3,
    );
  });

  it('reports NaN scores as the in-memory select does, naming uids', async () => {
    const table = randomTable(11, 50);
    table.columns.b![7] = NaN;
    table.columns.b![30] = NaN;
    await expectSameAsInMemory(
      table,
      [
        { kind: 'top', column: 'a', fraction: 0.5 },
        { kind: 'top', column: 'b', fraction: 0.2 },
      ],
      1,
    );
    await expect(streamSelect(passesOver(table, 1), [{ kind: 'top', column: 'b', fraction: 0.2 }])).rejects.toThrow(
      /^column b is NaN in 2 rows: uid [0-9a-f]{32}, uid [0-9a-f]{32}$/,
    );
  });

  it('reads uids only in the passes that need them', async () => {
    const table = randomTable(12, 100);
    table.columns.a = Float32Array.from({ length: 100 }, (_, i) => i); // no ties: no tie-break pass
    const log: { columns: readonly string[]; uids: boolean }[] = [];
    await streamSelect(passesOver(table, 2, log), [
      { kind: 'top', column: 'a', fraction: 0.3 },
      { kind: 'top', column: 'b', fraction: 0.2 },
    ]);
    expect(log[0]!.uids).toBe(false);
    expect(log[log.length - 1]!.uids).toBe(true); // the collecting pass
    expect(log.filter((p) => p.uids).length).toBeLessThanOrEqual(2);
  });

  it('merges sorted runs into one sorted set without repeats, in chunks', () => {
    const next = rng(3);
    const all: number[][] = [];
    const runs = Array.from({ length: 6 }, () => {
      const uids = new Uint32Array(Math.floor(next() * 30) * UID_WORDS);
      for (let i = 0; i < uids.length; i++) uids[i] = Math.floor(next() * 3);
      return sortUids(uids, { unique: true });
    });
    for (const run of runs) all.push(Array.from(run));
    const expected = sortUids(Uint32Array.from(all.flat()), { unique: true });
    expect(mergedUids(runs, 1)).toEqual(expected);
    expect(mergedUids(runs, 4)).toEqual(expected);
    expect(mergedUids([], 4)).toEqual(new Uint32Array(0));
  });
});
