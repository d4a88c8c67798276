/**
 * clipsift run --queue: the run's stages as BullMQ flows on three `clipsift worker` processes and a
 * redis-server of the test's own. The subset file, the negCLIPLoss score files and the survivor NormSim
 * files match the local `clipsift run` byte for byte, also when a worker is SIGKILLed mid-run.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  makeDataCompDir,
  runInProcess,
  tempDir,
  writeDataCompShard,
  writeTarget,
  type ShardSpec,
} from '../cli/helpers.js';
import { clipsift, killAll, sleep, TestRedis, waitFor } from './cluster-helpers.js';

const SCORE = ['--batch-size', '256', '--temperature', '0.07', '--repeats', '3', '--seed', '5', '--simd', 'baseline'];
const STEPS = ['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'];
/** Short locks so a killed worker's job is back within ~3 s. */
const FAST_LOCKS = ['--lock-duration', '2000', '--stalled-interval', '1000', '--threads', '1'];

afterEach(async () => {
  await killAll();
});

const shardsOf = (count: number, rows: number, seed: number): ShardSpec[] =>
  Array.from({ length: count }, (_, k) => ({
    name: `shard-${String(k).padStart(2, '0')}`,
    rows: rows + 31 * k,
    seed: seed + k,
  }));

/** Every file a run writes (score files, survivor files, the subset), by path relative to its directory. */
function runFiles(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.scores.parquet') || name === 'subset.npy') files.set(name, readFileSync(join(dir, name)));
  }
  for (const name of readdirSync(join(dir, 'normsim_inf')).sort())
    files.set(`normsim_inf/${name}`, readFileSync(join(dir, 'normsim_inf', name)));
  return files;
}

function expectSameFiles(got: string, expected: string): void {
  const a = runFiles(got);
  const b = runFiles(expected);
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, bytes] of b) expect(a.get(name)!.equals(bytes), `${name} differs from the local run`).toBe(true);
}

describe('clipsift run --queue', { timeout: 300_000 }, () => {
  it('three workers, one SIGKILLed mid-run, write the files of the local run byte for byte', async () => {
    const { dir } = makeDataCompDir(shardsOf(6, 3000, 800));
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 60, 768, 8);
    const local = join(tempDir(), 'local');
    const result = await runInProcess([
      'run',
      dir,
      '--out',
      local,
      '--target',
      target,
      ...SCORE,
      ...STEPS,
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(result.code, result.stderr).toBe(0);

    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const team = Array.from({ length: 3 }, () => clipsift(['worker', '--queue', redis.url, ...FAST_LOCKS]));
    await waitFor('the workers to connect', () => team.every((w) => /waiting for shard jobs/.test(w.stderr())));
    const out = join(tempDir(), 'queued');
    const submitter = clipsift([
      'run',
      dir,
      '--out',
      out,
      '--target',
      target,
      ...SCORE,
      ...STEPS,
      '--queue',
      redis.url,
    ]);
    // Kill the first worker that starts a shard, with its shard in hand.
    let victim: (typeof team)[number] | undefined;
    await waitFor('a worker to start a shard', () => {
      victim = team.find((w) => /scoring shard-\d+/.test(w.stderr()));
      return victim !== undefined;
    });
    victim!.process.kill('SIGKILL');
    await victim!.exited;
    const shard = /scoring (shard-\d+)/.exec(victim!.stderr())![1]!;
    expect(victim!.stderr()).not.toMatch(new RegExp(`${shard}: wrote`));

    expect(await submitter.exited, submitter.stderr()).toBe(0);
    expect(submitter.stdout()).toMatch(/NormSim computed for 5,539 rows of 18,465 rows \(30% of the pool\)/);
    expectSameFiles(out, local);
    // The stages ran on the workers: another worker took over the victim's shard, and ran the threshold,
    // the NormSim jobs and the subset.
    const survivors = team.filter((w) => w !== victim);
    const logs = survivors.map((w) => w.stderr()).join('\n');
    expect(logs).toMatch(new RegExp(`scoring ${shard}`));
    expect(logs).toMatch(/threshold of 6 shards: done/);
    expect(logs).toMatch(/NormSim of \d+ survivors: done/);
    expect(logs).toMatch(/subset of 6 shards: done/);

    // A second submission finds every file done: nothing is scored again, and the subset is the same.
    const again = clipsift(['run', dir, '--out', out, '--target', target, ...SCORE, ...STEPS, '--queue', redis.url]);
    expect(await again.exited, again.stderr()).toBe(0);
    expect(again.stderr()).toMatch(/0 shard jobs enqueued \(6 already scored\)/);
    expectSameFiles(out, local);
  });

  it('--detach enqueues and returns; the workers finish the run alone, byte for byte', async () => {
    const { dir } = makeDataCompDir(shardsOf(3, 1500, 700));
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 40, 768, 6);
    const args = ['--target', target, ...SCORE, ...STEPS];
    const local = join(tempDir(), 'local');
    const result = await runInProcess(['run', dir, '--out', local, ...args, '--threads', '1', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const out = join(tempDir(), 'detached');
    // No worker yet: the submitter only enqueues.
    const submitter = clipsift(['run', dir, '--out', out, ...args, '--queue', redis.url, '--detach']);
    expect(await submitter.exited, submitter.stderr()).toBe(0);
    expect(submitter.stdout()).toMatch(
      /^enqueued the run on redis:\/\/127\.0\.0\.1:\d+\/0: 3 negCLIPLoss shard jobs and the threshold job, which enqueues the rest; .*follow with: clipsift status --queue redis:/,
    );
    expect(existsSync(join(out, 'subset.npy'))).toBe(false);
    const team = Array.from({ length: 2 }, () => clipsift(['worker', '--queue', redis.url, ...FAST_LOCKS]));
    await waitFor('the subset job done', () => team.some((w) => /subset of 3 shards: done/.test(w.stderr())), 120_000);
    expectSameFiles(out, local);
    const logs = team.map((w) => w.stderr()).join('\n');
    expect(logs).toMatch(/threshold of 3 shards: done/);
    expect(logs).toMatch(/NormSim of \d+ survivors: done/);
  });

  it('a shard with bad input fails its job alone: the run stops at the threshold, naming the shard and the rows', async () => {
    const specs = shardsOf(3, 200, 900);
    specs[1] = {
      ...specs[1]!,
      edit: (m) => {
        m.l14_img[5 * 768 + 3] = 0x7e00; // NaN
      },
    };
    const { dir } = makeDataCompDir(specs);
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 10, 768, 3);
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const team = Array.from({ length: 2 }, () => clipsift(['worker', '--queue', redis.url, ...FAST_LOCKS]));
    const out = join(tempDir(), 'poisoned');
    const submitter = clipsift([
      'run',
      dir,
      '--out',
      out,
      '--target',
      target,
      ...SCORE,
      ...STEPS,
      '--queue',
      redis.url,
      '--attempts',
      '1',
    ]);
    expect(await submitter.exited).toBe(1);
    expect(submitter.stderr()).toMatch(
      /the negCLIPLoss and threshold stage failed on the cluster:\n {2}shard-01: .*1 row holds NaN or Inf \(rows 5\)/,
    );
    // The other shards were scored; no NormSim and no subset.
    expect(readdirSync(out).filter((n) => n.endsWith('.scores.parquet'))).toEqual([
      'shard-00.scores.parquet',
      'shard-02.scores.parquet',
    ]);
    expect(readdirSync(out)).not.toContain('subset.npy');
    // The threshold job failed with its child (BullMQ's failParentOnFailure) instead of running.
    const logs = team.map((w) => w.stderr()).join('\n');
    expect(logs).toMatch(/threshold of 3 shards: failed \(attempt 1, no more\): child .*negclip-1 failed/);
    expect(logs).not.toMatch(/threshold of 3 shards: done|NormSim of/);
  });

  it('plans the negCLIPLoss stage as clipsift score does: every conflicting file counted, a changed input warned about', async () => {
    const specs = shardsOf(2, 300, 1500);
    const { dir } = makeDataCompDir(specs);
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 20, 768, 3);
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const run = (out: string) =>
      clipsift(['run', dir, '--out', out, '--target', target, ...SCORE, ...STEPS, '--queue', redis.url]);
    const scoreInto = async (out: string, score: string[]) => {
      const result = await runInProcess(['score', dir, '--out', out, ...score, '--threads', '1', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
    };

    // Both score files were computed with another seed: refused before anything is enqueued, both counted.
    const other = join(tempDir(), 'other-seed');
    await scoreInto(
      other,
      SCORE.map((arg, k) => (SCORE[k - 1] === '--seed' ? '6' : arg)),
    );
    const refused = run(other);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(
      /shard-00\.scores\.parquet: exists with other parameters: seed 6 ≠ 5.* \(and 1 more score file\); pass --force to overwrite, or use another --out/,
    );

    // The negCLIPLoss files of this run, then shard-01's embeddings change: it is scored again, and said so.
    const out = join(tempDir(), 'changed');
    await scoreInto(out, SCORE);
    writeDataCompShard(dir, { ...specs[1]!, seed: specs[1]!.seed + 100 });
    const submitter = run(out);
    await waitFor('the warning', () => /scoring shard-01 again/.test(submitter.stderr()), 60_000);
    expect(submitter.stderr()).toMatch(
      /warning: \S*shard-01\.scores\.parquet: shard-01\.npz changed content.* since it was written; scoring shard-01 again/,
    );
    expect(submitter.stderr()).not.toMatch(/scoring shard-00 again/);
  });

  it('--force replaces the files of a run with other parameters, as the local run --force does', async () => {
    const { dir } = makeDataCompDir(shardsOf(3, 400, 1700));
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 20, 768, 5);
    const args = ['--target', target, ...STEPS, '--threads', '1', '--quiet'];
    const withSeed = (seed: string) => SCORE.map((arg, k) => (SCORE[k - 1] === '--seed' ? seed : arg));
    const local = join(tempDir(), 'local');
    const reference = await runInProcess(['run', dir, '--out', local, ...withSeed('5'), ...args]);
    expect(reference.code, reference.stderr).toBe(0);
    const out = join(tempDir(), 'forced');
    const before = await runInProcess(['run', dir, '--out', out, ...withSeed('6'), ...args]);
    expect(before.code, before.stderr).toBe(0);

    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const team = Array.from({ length: 2 }, () => clipsift(['worker', '--queue', redis.url, ...FAST_LOCKS]));
    await waitFor('the workers to connect', () => team.every((w) => /waiting for shard jobs/.test(w.stderr())));
    const submit = (extra: string[]) =>
      clipsift(['run', dir, '--out', out, ...withSeed('5'), ...args, '--queue', redis.url, ...extra]);
    const refused = submit([]);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/exists with other parameters: seed 6 ≠ 5.*pass --force to overwrite/);
    const forced = submit(['--force']);
    expect(await forced.exited, forced.stderr()).toBe(0);
    expectSameFiles(out, local);
  });

  it('survives Redis killed and restarted without its data mid-run: the stage is enqueued again', async () => {
    const { dir } = makeDataCompDir(shardsOf(6, 1200, 950));
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 30, 768, 9);
    const local = join(tempDir(), 'local');
    const args = ['--target', target, ...SCORE, ...STEPS];
    const result = await runInProcess(['run', dir, '--out', local, ...args, '--threads', '1', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const team = Array.from({ length: 2 }, () => clipsift(['worker', '--queue', redis.url, ...FAST_LOCKS]));
    const out = join(tempDir(), 'restarted');
    const submitter = clipsift(['run', dir, '--out', out, ...args, '--queue', redis.url]);
    await waitFor('a first shard written', () => team.some((w) => /wrote \d+ rows/.test(w.stderr())));
    await redis.kill();
    await sleep(1500);
    await redis.startAgain();
    expect(await submitter.exited, submitter.stderr()).toBe(0);
    expect(submitter.stderr()).toMatch(/missing from Redis .*enqueued again/);
    expectSameFiles(out, local);
  });
});
