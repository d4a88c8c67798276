/**
 * The CLI on signed (presigned) https URLs, served as S3 serves GET-presigned objects: by a Range server on
 * 127.0.0.1 whose signed paths answer 403 to a HEAD and to a missing or wrong query. score on signed URLs
 * writes the same bytes as score on the same files as local paths; select with a signed --given-uids keeps
 * the same subset; a file looked for beside a given one is refused in one line saying what to give; no
 * message carries a signature. Every run is compared with the same run on local files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RangeServer, startRangeServer } from '../io/servers.js';
import { makeDataCompDir, runInProcess, tempDir, writeTarget } from './helpers.js';

describe('signed URLs on the command line', () => {
  let http: RangeServer;
  let pool: string;
  let target: string;
  let scores: string;
  /** Path on the server → its signature (the query string S3 would check). */
  const signatures: Record<string, string> = {};
  const signedUrl = (path: string) => `${http.url}${path}${signatures[path]}`;
  const cli = (argv: string[]) => runInProcess(argv);

  beforeAll(async () => {
    pool = makeDataCompDir([
      { name: '00000000', rows: 40, seed: 1 },
      { name: '00000001', rows: 33, seed: 2, compressed: true },
    ]).dir;
    target = join(tempDir(), 'target.npy');
    writeTarget(target, 12, 768, 9);
    scores = tempDir();
    expect((await cli(['score', pool, '--out', scores, '--target', target, '--batch-size', '16'])).code).toBe(0);
    const files: Record<string, Uint8Array> = { '/target.npy': new Uint8Array(readFileSync(target)) };
    for (const name of readdirSync(pool)) files[`/pool/${name}`] = new Uint8Array(readFileSync(join(pool, name)));
    for (const name of readdirSync(scores).filter((n) => n.endsWith('.scores.parquet')))
      files[`/scores/${name}`] = new Uint8Array(readFileSync(join(scores, name)));
    let n = 0;
    for (const path of Object.keys(files))
      signatures[path] = `?X-Amz-Expires=3600&X-Amz-Signature=${(++n).toString(16).padStart(8, '0')}`;
    http = await startRangeServer(files, { signed: signatures });
  });
  afterAll(async () => {
    await http?.close();
  });

  it('scores signed shard files and a signed target into the same bytes as the local files, never with a HEAD', async () => {
    const local = tempDir();
    const signed = tempDir();
    const args = ['--batch-size', '16', '--threads', '1'];
    const shard = (dir: string, name: string) => `${dir}/00000001.${name}`;
    expect((await cli(['score', shard(pool, 'parquet'), '--out', local, '--target', target, ...args])).code).toBe(0);
    const from = http.log.length;
    const run = await cli([
      'score',
      signedUrl(shard('/pool', 'parquet')),
      signedUrl(shard('/pool', 'npz')),
      '--out',
      signed,
      '--target',
      signedUrl('/target.npy'),
      ...args,
    ]);
    expect(run.stderr).not.toMatch(/error|warning/i);
    expect(run.code).toBe(0);
    const name = '00000001.scores.parquet';
    expect(readFileSync(join(signed, name))).toEqual(readFileSync(join(local, name)));
    const log = http.log.slice(from);
    // Every request carried its file's own signature; none was a HEAD (S3 refuses one on a GET-signed URL).
    expect(log.length).toBeGreaterThan(0);
    expect(log.every((r) => r.method === 'GET' && r.query === signatures[r.path])).toBe(true);
    // Resuming against them: up to date, with the same signed inputs.
    const again = await cli([
      'score',
      signedUrl(shard('/pool', 'npz')),
      signedUrl(shard('/pool', 'parquet')),
      '--out',
      signed,
      '--target',
      signedUrl('/target.npy'),
      ...args,
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('up to date');
  });

  it('refuses a shard file whose partner was not given signed, in one line naming the partner without a signature', async () => {
    const run = await cli(['score', signedUrl('/pool/00000000.parquet'), '--out', tempDir()]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      `clipsift score: ${http.url}/pool/00000000.npz: HTTP 403 Forbidden; it was not given, and a signed URL reads only its own file: give this file's signed URL too`,
    ]);
  });

  it('names a signed URL without its signature when refusing it', async () => {
    http.statuses.set('/pool/00000000.npz', 404);
    try {
      const run = await cli([
        'score',
        signedUrl('/pool/00000000.parquet'),
        signedUrl('/pool/00000000.npz'),
        '--out',
        tempDir(),
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${http.url}/pool/00000000.npz: no such file (HTTP 404)`);
      expect(run.stderr).not.toContain('X-Amz');
    } finally {
      http.statuses.delete('/pool/00000000.npz');
    }
    const queued = await cli([
      'score',
      signedUrl('/pool/00000000.parquet'),
      signedUrl('/pool/00000000.npz'),
      '--out',
      tempDir(),
      '--queue',
      'redis://127.0.0.1:1',
    ]);
    expect(queued.code).toBe(2);
    expect(queued.stderr).toContain('--queue takes no signed URLs');
    expect(queued.stderr).not.toContain('X-Amz');
  });
});
