// clipsift score --dry-run: shards and rows from the headers, flops checked against the formulas worked
// out here from the fixture's shapes, an estimate that says it is one, and nothing written.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DryRunReport } from '../../src/cli/score-dry-run.js';
import { makeDataCompDir, runInProcess, tempDir, writeTarget } from './helpers.js';

const DIM = 768;
const BATCH = 128;
const REPEATS = 3;
const ROWS = { d0: 300, d1: 130, d2: 77 } as const;

/** Σ over the batches of one shuffle of b_k², times the repeats; one batch is computed once. */
function pairsByHand(rows: number): number {
  if (rows <= BATCH) return rows * rows;
  const sizes: number[] = [];
  for (let left = rows; left > 0; left -= BATCH) sizes.push(Math.min(BATCH, left));
  return REPEATS * sizes.reduce((n, b) => n + b * b, 0);
}

function pool() {
  const { dir } = makeDataCompDir(Object.entries(ROWS).map(([name, rows], k) => ({ name, rows, seed: 40 + k })));
  return dir;
}

const options = ['--batch-size', String(BATCH), '--repeats', String(REPEATS), '--threads', '1', '--simd', 'baseline'];

describe('clipsift score --dry-run', () => {
  it('sizes shards, rows and the flops of each score as the formulas give, and writes nothing', async () => {
    const dir = pool();
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 50, DIM, 9);
    const out = join(tempDir(), 'never');
    const result = await runInProcess([
      'score',
      dir,
      '--out',
      out,
      '--target',
      target,
      ...options,
      '--dry-run',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(out)).toBe(false);
    const r = JSON.parse(result.stdout) as DryRunReport;

    expect(r.shards.map((s) => [s.shard, s.rows, s.status])).toEqual([
      ['d0', 300, 'to-score'],
      ['d1', 130, 'to-score'],
      ['d2', 77, 'to-score'],
    ]);
    // 300 rows: batches 128, 128, 44 in each of 3 shuffles; 130: 128 + 2; 77: one batch, once.
    expect(pairsByHand(300)).toBe(3 * (128 * 128 * 2 + 44 * 44));
    for (const s of r.shards) {
      expect(s.flops.clipScore, s.shard).toBe(2 * s.rows * DIM);
      expect(s.flops.negClipLoss, s.shard).toBe(2 * DIM * pairsByHand(s.rows));
      expect(s.flops.normSim, s.shard).toBe(2 * s.rows * 50 * DIM);
    }
    const rows = 300 + 130 + 77;
    expect(r.totals).toMatchObject({ shards: 3, toScore: 3, upToDate: 0, rows, rowsToScore: rows });
    const negclip = 2 * DIM * (pairsByHand(300) + pairsByHand(130) + pairsByHand(77));
    expect(r.totals.flops).toEqual({
      clipScore: 2 * rows * DIM,
      negClipLoss: negclip,
      normSim: 2 * rows * 50 * DIM,
      gram: 0,
      total: 2 * rows * DIM + negclip + 2 * rows * 50 * DIM,
    });
    expect(r.settings).toMatchObject({ batchSize: BATCH, repeats: REPEATS, p: 'inf', targetRows: 50 });
    expect(r.engine).toMatchObject({ threads: 1, simd: 'baseline', precision: 'f32' });
    expect(r.calibration.seconds).toBeGreaterThan(0);
    expect(r.estimate.seconds).toBeGreaterThan(0);
    expect(r.estimate.negClipLoss).toBeGreaterThan(0);
    expect(r.estimate.normSim).toBeGreaterThan(0);
    // Peak memory holds at least the largest shard's two float16 matrices and the float16 target.
    expect(r.memory.largestShard).toBe('d0');
    expect(r.memory.embeddings).toBe(2 * 300 * DIM * 2);
    expect(r.memory.target).toBe(50 * DIM * 2);
    expect(r.memory.total).toBeGreaterThan(r.memory.embeddings + r.memory.target + r.memory.wasm);
  });

  it('NormSim_2 through the Gram matrix: 2·rows·dim² per shard and 2·targetRows·dim² once', async () => {
    const dir = pool();
    const target = join(tempDir(), 'big-target.npy');
    writeTarget(target, DIM + 32, DIM, 10);
    const out = join(tempDir(), 'never');
    const args = ['score', dir, '--out', out, '--target', target, '--p', '2', ...options, '--dry-run', '--json'];
    const result = await runInProcess(args);
    expect(result.code, result.stderr).toBe(0);
    const r = JSON.parse(result.stdout) as DryRunReport;
    for (const s of r.shards) expect(s.flops.normSim, s.shard).toBe(2 * s.rows * DIM * DIM);
    expect(r.totals.flops.gram).toBe(2 * (DIM + 32) * DIM * DIM);
    expect(r.memory.target).toBe((DIM + 32) * DIM * 2 + 2 * DIM * DIM * 8);
    expect(existsSync(out)).toBe(false);
  });

  it('says which shards are up to date and touches nothing in an existing --out', async () => {
    const dir = pool();
    const out = join(tempDir(), 'scores');
    // Score one shard for real, then size the whole run.
    const first = await runInProcess(['score', join(dir, 'd2.npz'), '--out', out, ...options, '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    const before = readdirSync(out)
      .sort()
      .map((name) => [name, statSync(join(out, name)).mtimeMs, statSync(join(out, name)).size]);
    const result = await runInProcess(['score', dir, '--out', out, ...options, '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    const after = readdirSync(out)
      .sort()
      .map((name) => [name, statSync(join(out, name)).mtimeMs, statSync(join(out, name)).size]);
    expect(after).toEqual(before);
    const text = result.stdout;
    expect(text).toMatch(/^dry run: nothing is written/);
    expect(text).toMatch(/shards +3 \(2 to score, 1 up to date in /);
    expect(text).toMatch(/d2 +77 rows .* up-to-date/);
    expect(text).toMatch(/rows +430 to score \(507 in all\)/);
    // negCLIPLoss of d0 and d1 only, as formatted: 2·768·(pairs) FLOP.
    const negclip = 2 * DIM * (pairsByHand(300) + pairsByHand(130));
    expect(negclip).toBe(235_431_936);
    expect(text).toMatch(/negCLIPLoss +2·dim·repeats·Σ batch² \(per shard\) +235 MFLOP/);
    expect(text).toMatch(/time +~.* of scoring on this machine/);
    expect(text).toMatch(/an estimate, from a .* calibration run/);
    expect(text).toMatch(/memory +~.* at the peak — an estimate/);
  });

  it('refuses --queue as a usage error', async () => {
    const result = await runInProcess(['score', 'x', '--out', 'y', '--dry-run', '--queue', 'redis://127.0.0.1:1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--dry-run sizes a run on this machine/);
  });
});
