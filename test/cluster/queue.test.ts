/**
 * clipsift score --queue with clipsift worker processes on a redis-server of the test's own: the score
 * files match a local run byte for byte, through worker kills, a poisoned shard, and Redis restarts with
 * and without its append-only file. Every test stops its workers and its Redis (see afterEach).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDataCompDir, runInProcess, tempDir, writeTarget, type ShardSpec } from '../cli/helpers.js';
import {
  clipsift,
  expectSameScoreFiles,
  killAll,
  scoreFiles,
  sleep,
  TestRedis,
  waitFor,
  type Child,
} from './cluster-helpers.js';
import type { ScoreReport } from '../../src/cli/score-report.js';

const SCORE = ['--batch-size', '128', '--temperature', '0.07', '--repeats', '3', '--seed', '9', '--simd', 'baseline'];
/** Short locks so a killed worker's shard is back within ~3 s. */
const FAST_LOCKS = ['--lock-duration', '2000', '--stalled-interval', '1000', '--threads', '1'];

afterEach(async () => {
  await killAll();
});

/** A pool, a target, and the local run's score files to compare with. */
async function pool(specs: ShardSpec[]): Promise<{ dir: string; target: string; local: string }> {
  const { dir } = makeDataCompDir(specs);
  const target = join(tempDir(), 'target.npy');
  writeTarget(target, 50, 768, 4);
  const local = join(tempDir(), 'local');
  const result = await runInProcess([
    'score',
    dir,
    '--out',
    local,
    '--target',
    target,
    ...SCORE,
    '--threads',
    '1',
    '--quiet',
  ]);
  expect(result.code, result.stderr).toBe(0);
  return { dir, target, local };
}

function workers(redis: TestRedis, n: number, extra: string[] = []): Child[] {
  return Array.from({ length: n }, () => clipsift(['worker', '--queue', redis.url, ...FAST_LOCKS, ...extra]));
}

function submit(redis: TestRedis, dir: string, out: string, target: string, extra: string[] = []): Child {
  return clipsift([
    'score',
    dir,
    '--out',
    out,
    '--target',
    target,
    ...SCORE,
    '--queue',
    redis.url,
    '--quiet',
    ...extra,
  ]);
}

const shardsOf = (count: number, rows: number, seed: number): ShardSpec[] =>
  Array.from({ length: count }, (_, k) => ({
    name: `shard-${String(k).padStart(2, '0')}`,
    rows: rows + 17 * k,
    seed: seed + k,
  }));

describe('clipsift score --queue', { timeout: 300_000 }, () => {
  it('three workers score a multi-shard pool into the files of a local run, byte for byte', async () => {
    const { dir, target, local } = await pool(shardsOf(8, 150, 300));
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const team = workers(redis, 3);
    const out = join(tempDir(), 'queued');
    const submitter = submit(redis, dir, out, target);
    expect(await submitter.exited, submitter.stderr()).toBe(0);
    expect(submitter.stdout()).toMatch(/^scored [\d,]+ rows in 8 shards on the cluster/);
    expectSameScoreFiles(out, local);
    // Work was shared: more than one worker wrote score files.
    const busy = team.filter((w) => /wrote \d+ rows/.test(w.stderr()));
    expect(busy.length).toBeGreaterThan(1);
    // Each worker left the stats record of the shards it scored; the submitter summarised them all.
    const stats = JSON.parse(readFileSync(join(out, '_stats.json'), 'utf8'));
    expect(stats.shards).toEqual({ scored: 8, failed: 0, missing: 0 });
    expect(stats.records.map((r: { shard: string }) => r.shard)).toEqual(shardsOf(8, 150, 300).map((s) => s.name));
    expect(new Set(stats.records.map((r: { pid: number }) => r.pid)).size).toBe(busy.length);

    const status = clipsift(['status', '--queue', redis.url, '--out', out]);
    expect(await status.exited).toBe(0);
    expect(status.stdout()).toMatch(/8\/8 shards done, 0 running, 0 waiting, 0 failed/);
    // A second submission finds every file complete and enqueues nothing.
    const again = submit(redis, dir, out, target);
    expect(await again.exited).toBe(0);
    expect(again.stdout()).toMatch(/all 8 score files .* are up to date/);
  });

  it('a worker killed with SIGKILL mid-shard loses nothing: another takes the shard over (several moments)', async () => {
    // Shards big enough that scoring one takes a while, so the kill lands in the middle of it.
    const { dir, target, local } = await pool(shardsOf(3, 20000, 500));
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    for (const delay of [0, 150, 400]) {
      const out = join(tempDir(), `killed-${delay}`);
      const [victim] = workers(redis, 1);
      const submitter = submit(redis, dir, out, target);
      await waitFor('the victim to start a shard', () => /scoring shard-\d+/.test(victim!.stderr()));
      await sleep(delay);
      victim!.process.kill('SIGKILL');
      await victim!.exited;
      const shard = /scoring (shard-\d+)/.exec(victim!.stderr())![1]!;
      // It died with the shard in hand (no file written for it by the victim).
      expect(victim!.stderr()).not.toMatch(new RegExp(`${shard}: wrote`));
      const rescuers = workers(redis, 2);
      expect(await submitter.exited, submitter.stderr()).toBe(0);
      expectSameScoreFiles(out, local);
      expect(rescuers.map((w) => w.stderr()).join('')).toMatch(new RegExp(`${shard}: wrote`));
      for (const w of rescuers) w.process.kill('SIGKILL');
      await Promise.all(rescuers.map((w) => w.exited));
    }
  });

  it('a poisoned shard fails alone after its attempts with the local error; the others are written', async () => {
    const specs = shardsOf(4, 120, 700);
    specs[2]!.edit = (m) => m.l14_img.fill(0x7e00, 5 * 768, 6 * 768); // row 5 of shard-02 is NaN
    const { dir } = makeDataCompDir(specs);
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 50, 768, 4);
    // The local CLI's one-line reason for that shard.
    const alone = await runInProcess([
      'score',
      join(dir, 'shard-02.parquet'),
      '--out',
      join(tempDir(), 'alone'),
      '--target',
      target,
      ...SCORE,
      '--quiet',
    ]);
    expect(alone.code).toBe(1);
    const reason = /^clipsift score: (.*)$/m.exec(alone.stderr)![1]!;
    expect(reason).toMatch(/NaN/);

    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const team = workers(redis, 2);
    const out = join(tempDir(), 'poisoned');
    const submitter = submit(redis, dir, out, target, ['--attempts', '2', '--json']);
    expect(await submitter.exited).toBe(1);
    expect(submitter.stderr()).toContain('clipsift score: 1 of 4 shards failed:');
    expect(submitter.stderr()).toContain(`  shard-02: ${reason}\n`);
    expect([...scoreFiles(out).keys()]).toEqual(['shard-00', 'shard-01', 'shard-03'].map((s) => `${s}.scores.parquet`));
    // --json: the cluster's shards as the workers recorded them, the failed one with the local reason.
    const doc = JSON.parse(submitter.stdout()) as ScoreReport;
    expect(doc).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(doc.shards.map((s) => [s.shard, s.status, s.rows, s.written])).toEqual([
      ['shard-00', 'scored', 120, 120],
      ['shard-01', 'scored', 137, 137],
      ['shard-02', 'failed', 154, null],
      ['shard-03', 'scored', 171, 171],
    ]);
    expect(doc.shards[2]!.error).toBe(reason);
    expect(doc.shards[0]!.engine).toMatchObject({ threads: 1, simd: 'baseline', precision: 'f32' });
    expect(JSON.parse(readFileSync(join(out, '_stats.json'), 'utf8')).shards).toEqual({
      scored: 3,
      failed: 1,
      missing: 0,
    });
    // Tried exactly twice.
    const attempts = team.map((w) => w.stderr().match(/shard-02: failed/g)?.length ?? 0).reduce((a, b) => a + b, 0);
    expect(attempts).toBe(2);
    const status = clipsift(['status', '--queue', redis.url, '--out', out]);
    expect(await status.exited).toBe(1);
    expect(status.stdout()).toContain(`failed shard-02: ${reason}`);
  });

  for (const aof of [false, true]) {
    it(`survives Redis killed and restarted mid-run ${aof ? 'with' : 'without'} its append-only file`, async () => {
      const { dir, target, local } = await pool(shardsOf(6, 1200, 900));
      const redis = await TestRedis.start(tempDir('clipsift-redis-'), aof);
      const team = workers(redis, 2);
      const out = join(tempDir(), `restart-${aof}`);
      const submitter = submit(redis, dir, out, target);
      await waitFor('a first shard written', () => team.some((w) => /wrote \d+ rows/.test(w.stderr())));
      await redis.kill();
      await sleep(1500);
      await redis.startAgain();
      expect(await submitter.exited, submitter.stderr()).toBe(0);
      expectSameScoreFiles(out, local);
      if (!aof) expect(submitter.stderr()).toMatch(/missing from Redis .* enqueued again/);
    });
  }

  it('--simd auto on a submitter that could run relaxed SIMD resumes the baseline files its workers wrote', async () => {
    const { dir, target, local } = await pool(shardsOf(2, 100, 1300));
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    workers(redis, 1);
    const out = join(tempDir(), 'auto');
    // The submitter's Node compiles relaxed SIMD; the workers' (and the local run's) do not.
    const auto = [...SCORE.slice(0, -2), '--simd', 'auto'];
    const submitAuto = () =>
      clipsift(
        ['score', dir, '--out', out, '--target', target, ...auto, '--queue', redis.url, '--quiet'],
        ['--experimental-wasm-relaxed-simd'],
      );
    const first = submitAuto();
    expect(await first.exited, first.stderr()).toBe(0);
    // --simd auto means baseline on the cluster: the files of the local baseline run.
    expectSameScoreFiles(out, local);
    const again = submitAuto();
    expect(await again.exited, again.stderr()).toBe(0);
    expect(again.stdout()).toMatch(/all 2 score files .* are up to date/);
  });

  it('--force replaces score files computed with other parameters on the cluster too', async () => {
    const { dir, target, local } = await pool(shardsOf(2, 100, 1500));
    const out = join(tempDir(), 'forced');
    const seeded = await runInProcess([
      'score',
      dir,
      '--out',
      out,
      '--target',
      target,
      ...SCORE.map((arg, k) => (SCORE[k - 1] === '--seed' ? '10' : arg)),
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(seeded.code, seeded.stderr).toBe(0);
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    workers(redis, 1);
    // Without --force: refused before anything is enqueued.
    const refused = submit(redis, dir, out, target);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/exists with other parameters: seed 10 ≠ 9.*pass --force to overwrite/);
    const forced = submit(redis, dir, out, target, ['--force', '--attempts', '1']);
    expect(await forced.exited, forced.stderr()).toBe(0);
    expectSameScoreFiles(out, local);
  });

  it('--detach enqueues and returns; status follows; a worker of another variant fails the job with the reason', async () => {
    const { dir, target, local } = await pool(shardsOf(3, 100, 1100));
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const out = join(tempDir(), 'detached');
    const submitter = submit(redis, dir, out, target, ['--detach']);
    expect(await submitter.exited, submitter.stderr()).toBe(0);
    expect(submitter.stdout()).toMatch(/^enqueued 3 shard jobs on redis:\/\/127\.0\.0\.1:\d+\/0/);
    const before = clipsift(['status', '--queue', redis.url]);
    expect(await before.exited).toBe(0);
    expect(before.stdout()).toMatch(/0\/3 shards done, 0 running, 3 waiting, 0 failed/);
    workers(redis, 1);
    await waitFor('three score files', () => existsSync(out) && scoreFiles(out).size === 3);
    expectSameScoreFiles(out, local);

    // relaxed SIMD cannot run on Node 20 without a flag: the job fails with the engine's reason.
    const relaxedOut = join(tempDir(), 'relaxed');
    mkdirSync(relaxedOut);
    const relaxed = clipsift([
      'score',
      dir,
      '--out',
      relaxedOut,
      ...SCORE.slice(0, -2),
      '--simd',
      'relaxed',
      '--queue',
      redis.url,
      '--attempts',
      '1',
      '--quiet',
    ]);
    expect(await relaxed.exited).toBe(1);
    expect(relaxed.stderr()).toMatch(
      /shard-00: clipsift: simd 'relaxed' was asked for, but this runtime \(node\) cannot compile relaxed SIMD/,
    );
  });
});
