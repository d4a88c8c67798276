/**
 * clipsift score --queue on pools behind URLs: an s3:// metadata directory in s3rver and shard files over
 * a Range-honouring HTTP server, scored by a `clipsift worker` on a redis-server of the test's own. The
 * workers get the shards as the URLs they are (not as paths under the submitter's working directory), and
 * the score files match a local run of the same shards byte for byte. Every server runs on 127.0.0.1 and
 * stops in teardown.
 */
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeDataCompDir, runInProcess, tempDir, writeTarget } from '../cli/helpers.js';
import { publishDir, type RangeServer, startRangeServer, startS3, type S3Server } from '../io/servers.js';
import { clipsift, expectSameScoreFiles, killAll, scoreFiles, TestRedis, waitFor } from './cluster-helpers.js';

const SCORE = ['--batch-size', '16', '--repeats', '2', '--seed', '3', '--simd', 'baseline', '--quiet'];
const FAST_LOCKS = ['--lock-duration', '2000', '--stalled-interval', '1000', '--threads', '1'];
const SHARDS = ['00000000', '00000001', '00000002'];

describe('clipsift score --queue on remote pools', { timeout: 300_000 }, () => {
  let s3: S3Server;
  let http: RangeServer;
  let target: string;
  let pool: string;
  let local: string;

  beforeAll(async () => {
    s3 = await startS3(['pool']);
    // The workers are children of this process: they inherit the store's endpoint and credentials.
    for (const [key, value] of Object.entries(s3.env)) vi.stubEnv(key, value);
    pool = makeDataCompDir([
      { name: SHARDS[0]!, rows: 40, seed: 1 },
      { name: SHARDS[1]!, rows: 33, seed: 2, compressed: true },
      { name: SHARDS[2]!, rows: 21, seed: 3 },
    ]).dir;
    target = join(tempDir(), 'target.npy');
    writeTarget(target, 12, 768, 9);
    http = await startRangeServer(await publishDir(s3, pool, 's3://pool/metadata', '/metadata'));
    local = tempDir();
    const result = await runInProcess(['score', pool, '--out', local, '--target', target, ...SCORE, '--threads', '1']);
    expect(result.code, result.stderr).toBe(0);
    expect([...scoreFiles(local).keys()]).toEqual(SHARDS.map((s) => `${s}.scores.parquet`));
  });
  afterEach(async () => {
    await killAll();
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await http?.close();
    await s3?.close();
  });

  /** Scores `inputs` through the queue with one worker into a new directory; returns it. */
  async function scoreOnQueue(inputs: string[]): Promise<string> {
    const redis = await TestRedis.start(tempDir('clipsift-redis-'));
    const worker = clipsift(['worker', '--queue', redis.url, ...FAST_LOCKS]);
    await waitFor('the worker to connect', () => /waiting for shard jobs/.test(worker.stderr()));
    const out = join(tempDir(), 'queued');
    const submitter = clipsift(['score', ...inputs, '--out', out, '--target', target, ...SCORE, '--queue', redis.url]);
    expect(await submitter.exited, `${submitter.stderr()}\nworker:\n${worker.stderr()}`).toBe(0);
    // The worker scored the shards (the submitter only plans), and never saw a URL turned into a path.
    expect(worker.stderr()).toMatch(/wrote \d+ rows/);
    expect(worker.stderr()).not.toMatch(/s3:\/[^/]|https?:\/[^/]/);
    return out;
  }

  it('an s3:// metadata directory: the worker reads the shards from the store, files as the local run', async () => {
    expectSameScoreFiles(await scoreOnQueue(['s3://pool/metadata']), local);
  });

  it('shard files over http(s): the worker fetches each URL, files as a local run of the same files', async () => {
    const names = SHARDS.slice(0, 2).map((s) => `${s}.parquet`);
    const reference = tempDir();
    const result = await runInProcess([
      'score',
      ...names.map((name) => join(pool, name)),
      '--out',
      reference,
      '--target',
      target,
      ...SCORE,
      '--threads',
      '1',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect([...scoreFiles(reference).keys()]).toEqual(SHARDS.slice(0, 2).map((s) => `${s}.scores.parquet`));
    expectSameScoreFiles(await scoreOnQueue(names.map((name) => `${http.url}/metadata/${name}`)), reference);
  });
});
