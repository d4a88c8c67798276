/**
 * score and select on pools that live behind URLs: a DataComp metadata directory in s3rver (listed by
 * prefix), shard files and a target over a Range-honouring HTTP server, score files written to and resumed
 * from s3://, select reading s3:// score directories and https:// given-uids, writing s3:// subsets. Every
 * result is compared byte for byte with the same run on local files. Both servers run on 127.0.0.1 and stop
 * in teardown.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listS3, openS3Source, putS3Object } from '../../src/io/s3.js';
import {
  publishDir,
  type RangeServer,
  startLoggingProxy,
  startRangeServer,
  startS3,
  type S3Server,
} from '../io/servers.js';
import { makeDataCompDir, runInProcess, tempDir, writeTarget } from './helpers.js';

describe('remote pools', () => {
  let s3: S3Server;
  let http: RangeServer;
  let pool: string;
  let target: string;

  async function s3Bytes(url: string): Promise<Uint8Array> {
    const source = await openS3Source(url, { env: s3.env });
    return source.read(0, source.size);
  }
  const cli = (argv: string[]) => runInProcess(argv);

  beforeAll(async () => {
    s3 = await startS3(['pool']);
    for (const [key, value] of Object.entries(s3.env)) vi.stubEnv(key, value);
    pool = makeDataCompDir([
      { name: '00000000', rows: 40, seed: 1 },
      { name: '00000001', rows: 33, seed: 2, compressed: true },
    ]).dir;
    target = join(tempDir(), 'target.npy');
    writeTarget(target, 12, 768, 9);
    http = await startRangeServer({
      '/target.npy': new Uint8Array(readFileSync(target)),
      ...(await publishDir(s3, pool, 's3://pool/metadata', '/metadata')),
    });
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await http?.close();
    await s3?.close();
  });

  it('scores an s3:// metadata dir into s3:// score files identical to a local run, and resumes against them', async () => {
    const local = tempDir();
    const args = ['--target', target, '--batch-size', '16', '--threads', '1'];
    expect((await cli(['score', pool, '--out', local, ...args])).code).toBe(0);
    const remote = await cli(['score', 's3://pool/metadata', '--out', 's3://pool/scores', ...args]);
    expect(remote.stderr).not.toMatch(/error|warning/i);
    expect(remote.code).toBe(0);
    for (const name of ['00000000.scores.parquet', '00000001.scores.parquet']) {
      expect(await s3Bytes(`s3://pool/scores/${name}`)).toEqual(new Uint8Array(readFileSync(join(local, name))));
    }
    // The stats records and their summary sit beside the score files in the bucket, as in a directory.
    expect(await listS3('s3://pool/scores/', { env: s3.env })).toEqual([
      '00000000.scores.parquet',
      '00000000.stats.json',
      '00000001.scores.parquet',
      '00000001.stats.json',
      '_stats.json',
    ]);
    const stats = JSON.parse(new TextDecoder().decode(await s3Bytes('s3://pool/scores/_stats.json')));
    expect(stats.shards).toEqual({ scored: 2, failed: 0, missing: 0 });
    expect(stats.rows.written).toBe(73);
    const again = await cli(['score', 's3://pool/metadata', '--out', 's3://pool/scores', ...args]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('all 2 score files in s3://pool/scores are up to date');
    const other = await cli(['score', 's3://pool/metadata', '--out', 's3://pool/scores', ...args, '--seed', '5']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/s3:\/\/pool\/scores\/0000000\d\.scores\.parquet: exists with other parameters/);
  });

  it('resuming against s3:// reads each finished score file once (one HEAD, no range twice) and lists --out twice', async () => {
    const args = ['--batch-size', '16', '--threads', '1', '--quiet'];
    const first = await cli(['score', 's3://pool/metadata/00000000.parquet', '--out', 's3://pool/resume', ...args]);
    expect(first.code, first.stderr).toBe(0);
    // The resumed run (through a proxy that logs what it asks of the store) plans, reports the finished
    // shard (--json), reads its identities for the cross-shard duplicate check, and scores the other.
    const proxy = await startLoggingProxy(s3.endpoint);
    process.env.AWS_ENDPOINT_URL = proxy.url;
    try {
      const resumed = await cli(['score', 's3://pool/metadata', '--out', 's3://pool/resume', ...args, '--json']);
      expect(resumed.code, resumed.stderr).toBe(0);
      const report = JSON.parse(resumed.stdout) as { shards: { shard: string; status: string; written: number }[] };
      expect(report.shards.map((s) => [s.shard, s.status, s.written])).toEqual([
        ['00000000', 'up-to-date', 40],
        ['00000001', 'scored', 33],
      ]);
    } finally {
      process.env.AWS_ENDPOINT_URL = s3.endpoint;
      await proxy.close();
    }
    const finished = proxy.log.filter((r) => r.path === '/pool/resume/00000000.scores.parquet');
    expect(finished.filter((r) => r.method === 'HEAD')).toHaveLength(1);
    const gets = finished.filter((r) => r.method === 'GET').map((r) => r.range);
    expect(gets.length).toBeGreaterThan(0);
    expect(gets.every((range) => range !== undefined)).toBe(true);
    expect(new Set(gets).size, `ranges read: ${gets.join(' ')}`).toBe(gets.length);
    // _stats.json: one listing names the records and a second tells none changed meanwhile; the records'
    // sizes come from the listings, so each record is opened only to be read (00000000's also for --json).
    const listings = proxy.log.filter((r) => r.method === 'GET' && /[?&]list-type=2/.test(r.path));
    expect(listings.filter((r) => /[?&]prefix=resume%2F/.test(r.path))).toHaveLength(2);
    const heads = (name: string) =>
      proxy.log.filter((r) => r.method === 'HEAD' && r.path === `/pool/resume/${name}`).length;
    expect([heads('00000000.stats.json'), heads('00000001.stats.json')]).toEqual([2, 1]);
  });

  it('scores https:// shard files with an https:// target, identical to the local files', async () => {
    const local = tempDir();
    const viaHttp = tempDir();
    const shard = '00000001.parquet';
    expect((await cli(['score', join(pool, shard), '--out', local, '--target', target])).code).toBe(0);
    const run = await cli([
      'score',
      `${http.url}/metadata/${shard}`,
      '--out',
      viaHttp,
      '--target',
      `${http.url}/target.npy`,
    ]);
    expect(run.stderr).not.toMatch(/error|warning/i);
    expect(run.code).toBe(0);
    const name = '00000001.scores.parquet';
    expect(readFileSync(join(viaHttp, name))).toEqual(readFileSync(join(local, name)));
    // Only ranged reads went over the wire.
    expect(http.log.filter((r) => r.method === 'GET').every((r) => r.range !== undefined)).toBe(true);
  });

  it('opens each https:// input and target once (one HEAD each) and downloads the target once', async () => {
    const out = tempDir();
    const from = http.log.length;
    const run = await cli([
      'score',
      `${http.url}/metadata/00000000.parquet`,
      '--out',
      out,
      '--target',
      `${http.url}/target.npy`,
      '--quiet',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const log = http.log.slice(from);
    const heads = (path: string) => log.filter((r) => r.method === 'HEAD' && r.path === path).length;
    for (const path of ['/metadata/00000000.parquet', '/metadata/00000000.npz', '/target.npy'])
      expect(heads(path), path).toBe(1);
    // The target's bytes were fetched once in all: read, and hashed for its identity on the way.
    const targetBytes = log
      .filter((r) => r.method === 'GET' && r.path === '/target.npy')
      .map((r) => /^bytes=(\d+)-(\d+)$/.exec(r.range!)!)
      .reduce((n, [, start, end]) => n + Number(end) - Number(start) + 1, 0);
    // (The npy reader itself reads a 12-byte prefix, then its header from byte 10: 2 bytes twice.)
    const size = readFileSync(target).length;
    expect(targetBytes).toBeGreaterThanOrEqual(size);
    expect(targetBytes - size).toBeLessThan(64);
  });

  it('run opens (and fingerprints) each https:// input once for all its steps', async () => {
    const out = tempDir();
    const from = http.log.length;
    const shard = `${http.url}/metadata/00000001.parquet`;
    const run = await cli(['run', shard, '--out', out, '--top', 'negclip_loss:0.5', '--batch-size', '16', '--quiet']);
    expect(run.code, run.stderr).toBe(0);
    const log = http.log.slice(from);
    for (const path of ['/metadata/00000001.parquet', '/metadata/00000001.npz'])
      expect(log.filter((r) => r.method === 'HEAD' && r.path === path).length, path).toBe(1);
  });

  it('selects from s3:// score files with https:// given-uids into an s3:// subset identical to the local one', async () => {
    const local = tempDir();
    const scores = tempDir();
    expect((await cli(['score', pool, '--out', scores, '--target', target, '--batch-size', '16'])).code).toBe(0);
    for (const name of readdirSync(scores)) {
      await putS3Object(`s3://pool/sel/${name}`, new Uint8Array(readFileSync(join(scores, name))), {
        env: s3.env,
        force: true,
      });
    }
    const steps = ['--top', 'negclip_loss:0.5', '--top', 'normsim_inf:0.3'];
    const given = join(local, 'given.npy');
    expect((await cli(['select', scores, '--out', given, '--top', 'clip_score:0.8'])).code).toBe(0);
    http.files.set('/given.npy', new Uint8Array(readFileSync(given)));

    const localOut = join(local, 'subset.npy');
    const a = await cli(['select', scores, '--out', localOut, '--given-uids', given, ...steps, '--json']);
    expect(a.code).toBe(0);
    const b = await cli([
      'select',
      's3://pool/sel',
      '--out',
      's3://pool/subset.npy',
      '--given-uids',
      `${http.url}/given.npy`,
      ...steps,
      '--json',
    ]);
    expect(b.stderr).toBe('');
    expect(await s3Bytes('s3://pool/subset.npy')).toEqual(new Uint8Array(readFileSync(localOut)));
    const summaryA = JSON.parse(a.stdout);
    const summaryB = JSON.parse(b.stdout);
    expect({ ...summaryB, out: null }).toEqual({ ...summaryA, out: null });
    const refused = await cli(['select', 's3://pool/sel', '--out', 's3://pool/subset.npy', ...steps]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('s3://pool/subset.npy: already exists; refusing to overwrite it without --force');
  });

  it('scores and selects through 5xx bursts, resets mid-body, slow bodies and wrong Content-Length: the same files', async () => {
    const faults = ['status500', 'status503', 'reset', 'slow', 'longLength'] as const;
    // The first request for every (path, range) fails, cycling through the faults; its retry is served.
    const seen = new Set<string>();
    let failed = 0;
    http.fault = ({ method, path, index }) => {
      const key = `${method} ${path} ${http.log[index]!.range ?? ''}`;
      if (method !== 'GET' || seen.has(key)) return 'none';
      seen.add(key);
      return faults[failed++ % faults.length]!;
    };
    try {
      const shard = '00000000.parquet';
      const local = tempDir();
      const viaHttp = tempDir();
      expect((await cli(['score', join(pool, shard), '--out', local, '--target', target])).code).toBe(0);
      const run = await cli([
        'score',
        `${http.url}/metadata/${shard}`,
        '--out',
        viaHttp,
        '--target',
        `${http.url}/target.npy`,
      ]);
      expect(run.stderr).not.toMatch(/error|warning/i);
      expect(run.code).toBe(0);
      expect(failed).toBeGreaterThan(faults.length); // every fault was met at least once
      const name = '00000000.scores.parquet';
      expect(readFileSync(join(viaHttp, name))).toEqual(readFileSync(join(local, name)));

      // select over the score file served the same way: the same subset as from disk.
      http.files.set(`/scores/${name}`, new Uint8Array(readFileSync(join(local, name))));
      const steps = ['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.5'];
      const fromDisk = join(local, 'subset.npy');
      const fromHttp = join(viaHttp, 'subset.npy');
      expect((await cli(['select', join(local, name), '--out', fromDisk, ...steps])).code).toBe(0);
      const before = failed;
      const selected = await cli(['select', `${http.url}/scores/${name}`, '--out', fromHttp, ...steps]);
      expect(selected.stderr).toBe('');
      expect(failed).toBeGreaterThan(before);
      expect(readFileSync(fromHttp)).toEqual(readFileSync(fromDisk));

      // A server that keeps failing: one line naming the URL and the last status, and no score file.
      http.fault = ({ method }) => (method === 'GET' ? 'status503' : 'none');
      const broken = tempDir();
      const gaveUp = await cli(['score', `${http.url}/metadata/${shard}`, '--out', broken, '--target', target]);
      expect(gaveUp.code).toBe(1);
      expect(gaveUp.stderr).toMatch(
        new RegExp(
          `^clipsift score: ${http.url}/metadata/0000000.\\.(npz|parquet): failed after 6 attempts; last: HTTP 503 `,
        ),
      );
      expect(gaveUp.stderr.trim().split('\n')).toHaveLength(1);
      expect(readdirSync(broken)).toEqual([]);
    } finally {
      http.fault = () => 'none';
    }
  });

  it('inspects an s3:// prefix as a directory: every embedding file under it, described as the local ones', async () => {
    const local = await cli(['inspect', '--json', '--quiet', pool]);
    expect(local.code, local.stderr).toBe(0);
    const remote = await cli(['inspect', '--json', '--quiet', 's3://pool/metadata']);
    expect(remote.code, remote.stderr).toBe(0);
    const reports = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { file: string });
    const want = reports(local.stdout);
    const got = reports(remote.stdout);
    expect(want.length).toBeGreaterThan(1);
    expect(got.map((r) => r.file)).toEqual(want.map((r) => `s3://pool/metadata/${basename(r.file)}`));
    expect(got.map(({ file: _, ...rest }) => rest)).toEqual(want.map(({ file: _, ...rest }) => rest));
  });

  it('names the URL in one line when an input is missing', async () => {
    const missing = await cli([
      'select',
      's3://pool/nothing-here',
      '--out',
      join(tempDir(), 'x.npy'),
      '--top',
      'clip_score:0.5',
    ]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('s3://pool/nothing-here: no such file or directory');
    const gone = await cli(['score', `${http.url}/metadata/99999999.parquet`, '--out', tempDir()]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(`${http.url}/metadata/99999999.parquet`);
  });
});
