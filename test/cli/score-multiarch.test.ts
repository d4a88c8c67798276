/**
 * clipsift score with several --arch in one run: every score column carries its arch, NormSim goes to
 * --target-arch, and the columns match the float64 reference; select then uses them by name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSubsetUids } from '../select/cli-fixtures.js';
import {
  makeDataCompDir,
  ROOT,
  readScoreFile,
  referenceClipScore,
  referenceNegClip,
  referenceNormSim,
  runInProcess,
  tempDir,
  widen,
  writeTarget,
  worstError,
} from './helpers.js';

describe('clipsift score --arch l14 --arch b32', () => {
  it('writes clip_score/negclip_loss per arch and NormSim for --target-arch, each against the reference', async () => {
    const { dir, shards } = makeDataCompDir([{ name: 's', rows: 50, seed: 91 }]);
    const targetPath = join(tempDir(), 'target_b32.npy');
    const target = widen(writeTarget(targetPath, 12, 512, 5));
    const out = join(tempDir(), 'scores');
    const result = await runInProcess([
      'score',
      dir,
      '--arch',
      'l14',
      '--arch',
      'b32',
      '--target',
      targetPath,
      '--target-arch',
      'b32',
      '--out',
      out,
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const file = await readScoreFile(join(out, 's.scores.parquet'));
    expect([...file.columns].sort()).toEqual(
      ['uid', 'clip_score_b32', 'negclip_loss_b32', 'normsim_inf_b32', 'clip_score_l14', 'negclip_loss_l14'].sort(),
    );
    const m = shards[0]!.matrices;
    const neg = { batchSize: 32768, temperature: 0.01, repeats: 10, seed: 0 };
    for (const [arch, dim, img, txt] of [
      ['l14', 768, widen(m.l14_img), widen(m.l14_txt)],
      ['b32', 512, widen(m.b32_img), widen(m.b32_txt)],
    ] as const) {
      const col = (name: string) => file.rows.map((r) => r[`${name}_${arch}`]);
      expect(worstError(col('clip_score'), referenceClipScore(img, txt, dim))).toBeLessThanOrEqual(2e-6);
      expect(worstError(col('negclip_loss'), referenceNegClip(img, txt, dim, neg))).toBeLessThanOrEqual(1e-4);
    }
    expect(
      worstError(
        file.rows.map((r) => r.normsim_inf_b32),
        referenceNormSim(widen(m.b32_img), target, 512, Infinity),
      ),
    ).toBeLessThanOrEqual(2e-6);
    expect(JSON.parse(file.metadata['clipsift.parameters']!).arch).toBe('b32,l14');

    const subset = join(tempDir(), 'subset.npy');
    const selected = await runInProcess([
      'select',
      out,
      '--top',
      'negclip_loss_l14:0.5',
      '--top',
      'normsim_inf_b32:0.2',
      '--out',
      subset,
    ]);
    expect(selected.code, selected.stderr).toBe(0);
    expect(selected.stdout).toMatch(/10 rows kept/);
  });

  it('selects on negCLIPLoss of one arch and NormSim of another (official --arch_ncl) as the float64 reference does', async () => {
    const rows = 60;
    const { dir, shards } = makeDataCompDir([
      { name: 'a', rows, seed: 7 },
      { name: 'b', rows: 40, seed: 8 },
    ]);
    const targetPath = join(tempDir(), 'target_l14.npy');
    const target = widen(writeTarget(targetPath, 9, 768, 3));
    const out = join(tempDir(), 'scores');
    const scored = await runInProcess([
      'score',
      dir,
      '--arch',
      'b32',
      '--arch',
      'l14',
      '--target',
      targetPath,
      '--target-arch',
      'l14',
      '--out',
      out,
      '--threads',
      '2',
      '--quiet',
    ]);
    expect(scored.code, scored.stderr).toBe(0);
    // The reference: negCLIPLoss of the b32 pair, NormSim_∞ of the l14 pair against the l14 target, in float64
    // (one batch holds a whole shard, so the shuffle seed does not matter).
    const neg = { batchSize: 32768, temperature: 0.01, repeats: 10, seed: 0 };
    const pool: { uid: string; loss: number; normsim: number }[] = [];
    for (const shard of shards) {
      const m = shard.matrices;
      const loss = referenceNegClip(widen(m.b32_img), widen(m.b32_txt), 512, neg);
      const normsim = referenceNormSim(widen(m.l14_img), target, 768, Infinity);
      shard.uids.forEach((uid, i) => {
        pool.push({ uid, loss: loss[i]!, normsim: normsim[i]! });
      });
    }
    // The written scores against the reference; then cuts where the reference scores lie more than
    // 4× that error apart, so the kept set is decided by the definitions, not by rounding.
    const written = new Map<string, Record<string, unknown>>();
    for (const name of ['a', 'b'])
      for (const row of (await readScoreFile(join(out, `${name}.scores.parquet`))).rows)
        written.set(row.uid as string, row);
    expect(written.size).toBe(pool.length);
    let error = 0;
    for (const r of pool) {
      const row = written.get(r.uid)!;
      error = Math.max(error, Math.abs((row.negclip_loss_b32 as number) - r.loss));
      error = Math.max(error, Math.abs((row.normsim_inf_l14 as number) - r.normsim));
    }
    expect(error).toBeLessThan(1e-6);
    const cut = (values: number[], from: number, to: number) => {
      let best = from;
      for (let k = from; k <= to; k++) if (values[k - 1]! - values[k]! > values[best - 1]! - values[best]!) best = k;
      expect(values[best - 1]! - values[best]!).toBeGreaterThan(4 * error);
      return best;
    };
    // Steps in order, each fraction of the pool: the best k1 rows by negCLIPLoss, then the best k2 of those by NormSim.
    const byLoss = [...pool].sort((x, y) => y.loss - x.loss);
    const k1 = cut(
      byLoss.map((r) => r.loss),
      30,
      70,
    );
    const survivors = byLoss.slice(0, k1).sort((x, y) => y.normsim - x.normsim);
    const k2 = cut(
      survivors.map((r) => r.normsim),
      12,
      25,
    );
    const expected = survivors
      .slice(0, k2)
      .map((r) => r.uid)
      .sort();
    const subset = join(tempDir(), 'subset.npy');
    const selected = await runInProcess([
      'select',
      out,
      '--top',
      `negclip_loss_b32:${(k1 + 0.5) / 100}`,
      '--top',
      `normsim_inf_l14:${(k2 + 0.5) / 100}`,
      '--out',
      subset,
    ]);
    expect(selected.code, selected.stderr).toBe(0);
    expect(readSubsetUids(subset)).toEqual(expected);
  });
});

describe('several --arch through resume checks and the queue task', () => {
  it('a rerun is up to date, a run with other archs is refused, and the queued task writes the same file', async () => {
    const { dir } = makeDataCompDir([{ name: 'q', rows: 30, seed: 21 }]);
    const targetPath = join(tempDir(), 'target_b32.npy');
    writeTarget(targetPath, 5, 512, 4);
    const out = join(tempDir(), 'scores');
    const argv = ['score', dir, '--arch', 'l14', '--arch', 'b32', '--target', targetPath, '--target-arch', 'b32'];
    const local = ['--out', out, '--simd', 'baseline', '--threads', '1', '--quiet'];
    expect((await runInProcess([...argv, ...local])).code).toBe(0);
    const again = await runInProcess([...argv, ...local]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/up to date/);
    // The same out with one arch, or NormSim on the other arch: the file's parameters differ (arch).
    for (const other of [
      ['score', dir, '--arch', 'l14', '--arch', 'b32', '--out', out, '--quiet'],
      ['score', dir, '--arch', 'l14', '--out', out, '--quiet'],
    ]) {
      const refused = await runInProcess(other);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/arch/);
    }

    // What score --queue hands a worker, through JSON, run by a worker's task runner into another directory.
    const lib = join(ROOT, 'dist/lib');
    const { parseScoreOptions } = (await import(join(lib, 'cli/score.js'))) as typeof import('../../src/cli/score.js');
    const { shardTaskOf } = (await import(
      join(lib, 'cli/score-queue.js')
    )) as typeof import('../../src/cli/score-queue.js');
    const { openScoreShards } = (await import(
      join(lib, 'pipeline/shards.js')
    )) as typeof import('../../src/pipeline/shards.js');
    const { loadTarget } = (await import(
      join(lib, 'pipeline/target.js')
    )) as typeof import('../../src/pipeline/target.js');
    const { ShardTaskRunner } = (await import(
      join(lib, 'pipeline/task.js')
    )) as typeof import('../../src/pipeline/task.js');
    const queued = tempDir(); // the submitter makes --out
    const options = parseScoreOptions([...argv.slice(1), '--out', queued, '--queue', 'redis://127.0.0.1:1']);
    const [shard] = await openScoreShards(options.inputs, {
      arch: options.arch,
      extraArchs: options.extraArchs,
      keyColumn: undefined,
    });
    const target = await loadTarget(options.target, undefined, false);
    const task = JSON.parse(
      JSON.stringify(
        shardTaskOf(shard!, { ...options, queue: options.queue!, detach: false, runShards: 1 }, target, 'baseline'),
      ),
    );
    await shard!.close();
    expect(task.arch).toBe('b32');
    expect(task.extraArchs).toEqual(['l14']);
    const runner = new ShardTaskRunner(1);
    try {
      const result = await runner.run(task);
      expect(result.written).toBe(30);
    } finally {
      await runner.close();
    }
    expect(readFileSync(join(queued, 'q.scores.parquet'))).toEqual(readFileSync(join(out, 'q.scores.parquet')));
  });
});
