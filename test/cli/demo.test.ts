// `clipsift demo`: runs on the built-in pool and prints the table; --json carries the same counts.
import { describe, expect, it } from 'vitest';
import { generateSamplePool, ROW_KINDS } from '../../src/sample/pool.js';
import { runCli } from '../select/cli-fixtures.js';

describe('clipsift demo', () => {
  it('prints a table with a line per method and example captions', async () => {
    const result = await runCli(['demo', '--rows', '1500', '--iterations', '50', '--threads', '1']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.some((l) => ROW_KINDS.every((k) => l.includes(k)))).toBe(true);
    for (const label of ['CLIPScore top 30%', 'negCLIPLoss top 30%', 'NormSim∞ 20%', 'NormSim₂-D 20%']) {
      expect(lines.some((l) => l.includes(label))).toBe(true);
    }
    expect(result.stdout).toMatch(/kept by CLIPScore but dropped by negCLIPLoss/);
  });

  it('--json reports counts consistent with the pool', async () => {
    const result = await runCli([
      'demo',
      '--rows',
      '1500',
      '--iterations',
      '50',
      '--threads',
      '1',
      '--seed',
      '3',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    const pool = generateSamplePool({ rows: 1500, seed: 3 });
    for (const kind of ROW_KINDS) expect(report.totalByKind[kind]).toBe(pool.kinds.filter((k) => k === kind).length);
    expect(report.methods.map((m: { kept: number }) => m.kept)).toEqual([450, 450, 300, 300, 300]);
    for (const m of report.methods) {
      expect(Object.values(m.keptByKind as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(m.kept);
    }
    for (const e of report.examples) expect(pool.captions[e.row]).toBe(e.caption);
  });

  it('rejects bad options', async () => {
    const result = await runCli(['demo', '--rows', '10']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--rows must be at least 100/);
  });
});
