/**
 * The cut of `clipsift run` (src/pipeline/survivors.ts) against select's own steps: per-shard cuts,
 * after a JSON round trip (as they travel through Redis), pick exactly the rows runTableSteps keeps,
 * on tables full of ties (few distinct scores), with uids repeated across shards, for top steps with
 * floor and DataComp rounding, min steps, fractions 0 and 1.
 */
import { describe, expect, it } from 'vitest';
import { UID_WORDS } from '../../src/io/uid.js';
import { survivingRows, thresholdCuts } from '../../src/pipeline/survivors.js';
import type { SelectionStep } from '../../src/select/steps.js';
import { runTableSteps } from '../../src/select/table.js';
import { rng } from '../cli/helpers.js';

/** `rows` rows in shards of `shardRows`; uids repeat only across shards, as in score files. */
function table(rows: number, seed: number, shardRows: number[] = [rows]) {
  const next = rng(seed);
  const uids = new Uint32Array(rows * UID_WORDS);
  for (let i = 0; i < uids.length; i++) uids[i] = Math.floor(next() * 2 ** 32);
  // Some uids repeat in later shards (the same pair in two shards).
  let start = 0;
  for (const count of shardRows) {
    for (let r = start; r < start + count; r++) {
      if (start > 0 && next() < 0.05) {
        const from = Math.floor(next() * start);
        uids.copyWithin(r * UID_WORDS, from * UID_WORDS, (from + 1) * UID_WORDS);
      }
    }
    start += count;
  }
  // Few distinct values: ties everywhere, and -0 beside 0.
  const column = () =>
    Float32Array.from({ length: rows }, () => [-0, 0, 0.25, 0.5, 0.5, 1, Math.fround(0.1)][Math.floor(next() * 7)]!);
  return { uids, columns: { clip_score: column(), negclip_loss: column() } };
}

const cases: SelectionStep[][] = [
  [{ kind: 'top', column: 'negclip_loss', fraction: 0.3, decimal: '0.3' }],
  [{ kind: 'top', column: 'negclip_loss', fraction: 0.9, decimal: '0.9' }],
  [
    { kind: 'top', column: 'clip_score', fraction: 0.6, decimal: '0.6' },
    { kind: 'top', column: 'negclip_loss', fraction: 0.3, decimal: '0.3' },
  ],
  [
    { kind: 'min', column: 'clip_score', value: 0.25 },
    { kind: 'top', column: 'negclip_loss', fraction: 0.2, decimal: '0.2' },
  ],
  [{ kind: 'top', column: 'negclip_loss', fraction: 0.3, decimal: '0.3', rounding: 'datacomp' }],
  [{ kind: 'top', column: 'negclip_loss', fraction: 0, decimal: '0' }],
  [{ kind: 'top', column: 'negclip_loss', fraction: 1, decimal: '1' }],
];

describe('run cuts', () => {
  it('reproduce the steps shard by shard, after a JSON round trip', () => {
    for (const [k, steps] of cases.entries()) {
      for (const seed of [1, 2, 3]) {
        const shardRows = [0, 37, 120, 5, 200];
        const rows = shardRows.reduce((a, b) => a + b, 0);
        const t = table(rows, seed * 100 + k, shardRows);
        const pool: Uint32Array = Uint32Array.from({ length: rows }, (_, i) => i);
        const stages = [pool];
        for (const step of steps) stages.push(runTableSteps(t, [step], stages[stages.length - 1]!, rows).rows);
        const expected = runTableSteps(t, steps, pool, rows).rows;
        const names = shardRows.map((_, s) => `shard-${s}`);
        const cuts = JSON.parse(
          JSON.stringify(
            Object.fromEntries(
              thresholdCuts(
                t.uids,
                steps.map((s) => ({ name: s.column, values: t.columns[s.column as 'clip_score']! })),
                stages,
                { names, rows: shardRows },
              ),
            ),
          ),
        );
        const got: number[] = [];
        let start = 0;
        for (const [s, count] of shardRows.entries()) {
          const local = {
            clip_score: t.columns.clip_score.subarray(start, start + count),
            negclip_loss: t.columns.negclip_loss.subarray(start, start + count),
          };
          const uids = t.uids.subarray(start * UID_WORDS, (start + count) * UID_WORDS);
          for (const row of survivingRows(uids, local, cuts[names[s]!])) got.push(row + start);
          start += count;
        }
        expect(got, `case ${k}, seed ${seed}`).toEqual([...expected]);
      }
    }
  });

  it('lists the shorter of the kept and dropped tied uids', () => {
    const t = table(100, 9);
    t.columns.negclip_loss.fill(0.5);
    const pool: Uint32Array = Uint32Array.from({ length: 100 }, (_, i) => i);
    for (const [fraction, kind] of [
      ['0.1', 'keep'],
      ['0.9', 'drop'],
    ] as const) {
      const step: SelectionStep = {
        kind: 'top',
        column: 'negclip_loss',
        fraction: Number(fraction),
        decimal: fraction,
      };
      const kept = runTableSteps(t, [step], pool, 100).rows;
      const cuts = thresholdCuts(t.uids, [{ name: 'negclip_loss', values: t.columns.negclip_loss }], [pool, kept], {
        names: ['only'],
        rows: [100],
      });
      const tied = cuts.get('only')![0]!.tied as Record<string, string[]>;
      expect(Object.keys(tied)).toEqual([kind]);
      expect(tied[kind]!.length).toBe(10);
    }
  });
});
