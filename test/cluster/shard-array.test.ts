/**
 * `clipsift score --shard I/N`: the parts of a shard array are disjoint, cover every shard, are
 * balanced by rows, and all N tasks together write byte for byte the files of one run without --shard.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assignShards, parseShardSlice } from '../../src/cluster/shard-array.js';
import { makeDataCompDir, runInProcess, tempDir, rng } from '../cli/helpers.js';

const SCORE_OPTIONS = [
  '--batch-size',
  '16',
  '--temperature',
  '0.07',
  '--repeats',
  '2',
  '--seed',
  '3',
  '--threads',
  '1',
];

/** The score files (the stats records beside them name their writer, time and seconds). */
function filesOf(dir: string): Map<string, Buffer> {
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.scores.parquet'))
    .sort();
  return new Map(names.map((name) => [name, readFileSync(join(dir, name))]));
}

describe('shard arrays', () => {
  it('assigns every shard to exactly one part, balanced by rows, whatever the listing order', () => {
    const next = rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const shards = Array.from({ length: 1 + Math.floor(next() * 40) }, (_, k) => ({
        name: `s${String(k).padStart(3, '0')}`,
        rows: Math.floor(next() * 1000),
      }));
      const count = 1 + Math.floor(next() * 12);
      const assignment = assignShards(shards, count);
      const shuffled = [...shards].sort(() => next() - 0.5);
      expect(assignShards(shuffled, count)).toEqual(assignment);
      expect([...assignment.keys()].sort()).toEqual(shards.map((s) => s.name));
      const load = new Array<number>(count).fill(0);
      for (const shard of shards) {
        const part = assignment.get(shard.name)!;
        expect(part).toBeGreaterThanOrEqual(0);
        expect(part).toBeLessThan(count);
        load[part] += shard.rows;
      }
      // Greedy onto the lightest part: no part exceeds another by more than the biggest shard.
      const biggest = Math.max(...shards.map((s) => s.rows));
      expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(biggest);
    }
  });

  it('deals shards round-robin in name order when sizes are unknown', () => {
    const shards = ['c', 'a', 'd', 'b', 'e'].map((name) => ({ name }));
    expect(Object.fromEntries(assignShards(shards, 2))).toEqual({ a: 0, b: 1, c: 0, d: 1, e: 0 });
  });

  it('parses I/N and refuses anything else', () => {
    expect(parseShardSlice('3/16')).toEqual({ index: 3, count: 16 });
    expect(parseShardSlice('0/1')).toEqual({ index: 0, count: 1 });
    for (const bad of ['4/4', '1/0', '-1/3', '1', 'a/b', '1/2/3', '1.5/3']) {
      expect(() => parseShardSlice(bad), bad).toThrow(/--shard/);
    }
  });

  it('all N tasks together write exactly the files of one run, byte for byte, for every I', async () => {
    const { dir } = makeDataCompDir(
      [40, 90, 25, 60, 33, 71, 12].map((rows, k) => ({ name: `shard-${k}`, rows, seed: 100 + k })),
    );
    const whole = join(tempDir(), 'whole');
    const local = await runInProcess(['score', dir, '--out', whole, ...SCORE_OPTIONS, '--quiet']);
    expect(local.stderr).toBe('');
    expect(local.code).toBe(0);
    const expected = filesOf(whole);
    expect(expected.size).toBe(7);

    for (const count of [3, 9]) {
      const parts = join(tempDir(), `parts-${count}`);
      const seen = new Set<string>();
      for (let index = 0; index < count; index++) {
        const before = new Set(readdirSafe(parts));
        const result = await runInProcess([
          'score',
          dir,
          '--out',
          parts,
          ...SCORE_OPTIONS,
          '--quiet',
          '--shard',
          `${index}/${count}`,
        ]);
        expect(result.stderr).toBe('');
        expect(result.code, result.stdout).toBe(0);
        const added = readdirSafe(parts).filter((name) => !before.has(name));
        for (const name of added) {
          expect(seen.has(name)).toBe(false);
          seen.add(name);
        }
        if (count > 7 && index >= 7) expect(result.stdout).toMatch(/has no shards/);
      }
      const got = filesOf(parts);
      expect([...got.keys()]).toEqual([...expected.keys()]);
      for (const [name, bytes] of expected) expect(got.get(name)!.equals(bytes), name).toBe(true);
      // A second round is a resume: nothing left to do for any task.
      const again = await runInProcess([
        'score',
        dir,
        '--out',
        parts,
        ...SCORE_OPTIONS,
        '--quiet',
        '--shard',
        `0/${count}`,
      ]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/up to date/);
    }
  });

  it('refuses a malformed --shard with a usage error', async () => {
    const { dir } = makeDataCompDir([{ name: 'only', rows: 10, seed: 1 }]);
    const result = await runInProcess(['score', dir, '--out', join(tempDir(), 'x'), '--shard', '2/2']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^clipsift score: --shard: I must be between 0 and N-1 = 1, got '2\/2'/);
  });
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
