/**
 * The CLI on signed (presigned) https URLs, served as S3 serves GET-presigned objects: by a Range server on
 * 127.0.0.1 whose signed paths answer 403 to a HEAD and to a missing or wrong query. score on signed URLs
 * writes the same bytes as score on the same files as local paths; select with a signed --given-uids keeps
 * the same subset; a file looked for beside a given one is refused in one line saying what to give; no
 * message carries a signature. Every run is compared with the same run on local files.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import { type RangeServer, startRangeServer, startSignedServer } from '../io/servers.js';
import { makeDataCompDir, pairedEmbeddings, runInProcess, tempDir, writeTarget } from './helpers.js';

describe('signed URLs on the command line', () => {
  let http: RangeServer;
  let pool: string;
  let target: string;
  let scores: string;
  let given: string;
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
    given = join(tempDir(), 'given.npy');
    expect((await cli(['select', scores, '--out', given, '--top', 'clip_score:0.8'])).code).toBe(0);
    const files: Record<string, Uint8Array> = {
      '/target.npy': new Uint8Array(readFileSync(target)),
      '/given.npy': new Uint8Array(readFileSync(given)),
    };
    http = await startSignedServer(
      files,
      [
        ['/pool', pool],
        ['/scores', scores, (n) => n.endsWith('.scores.parquet')],
      ],
      signatures,
    );
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
    // Sized by --dry-run (the target's headers read through the same file system), named without signatures.
    const dry = await cli([
      'score',
      signedUrl(shard('/pool', 'parquet')),
      signedUrl(shard('/pool', 'npz')),
      '--out',
      tempDir(),
      '--target',
      signedUrl('/target.npy'),
      '--dry-run',
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout + dry.stderr).not.toContain('X-Amz');
    expect(dry.stdout).toContain('33');
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

  it('selects from signed score files with a signed --given-uids: the same subset and summary as from the local files', async () => {
    const names = readdirSync(scores).filter((n) => n.endsWith('.scores.parquet'));
    const steps = ['--top', 'negclip_loss:0.5', '--top', 'normsim_inf:0.3', '--json'];
    const local = join(tempDir(), 'subset.npy');
    const a = await cli(['select', scores, '--out', local, '--given-uids', given, ...steps]);
    expect(a.code, a.stderr).toBe(0);
    const signed = join(tempDir(), 'subset.npy');
    const from = http.log.length;
    const b = await cli([
      'select',
      ...names.map((name) => signedUrl(`/scores/${name}`)),
      '--out',
      signed,
      '--given-uids',
      signedUrl('/given.npy'),
      ...steps,
    ]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(readFileSync(signed)).toEqual(readFileSync(local));
    expect({ ...JSON.parse(b.stdout), out: null }).toEqual({ ...JSON.parse(a.stdout), out: null });
    const log = http.log.slice(from);
    expect(log.some((r) => r.path === '/given.npy')).toBe(true);
    expect(log.every((r) => r.method === 'GET' && r.query === signatures[r.path])).toBe(true);
    // A score file named twice is counted once, and the note names it without its signature.
    const twice = signedUrl(`/scores/${names[0]}`);
    const again = await cli([
      'select',
      twice,
      twice,
      '--out',
      join(tempDir(), 'subset.npy'),
      '--top',
      'clip_score:0.5',
      '--partial',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`${http.url}/scores/${names[0]} is also given as ${http.url}/scores/${names[0]}`);
    expect(again.stderr).not.toContain('X-Amz');
    // A --given-uids whose signature the server refuses: one line naming it without the query.
    const refused = await cli([
      'select',
      signedUrl(`/scores/${names[0]}`),
      '--out',
      join(tempDir(), 'subset.npy'),
      '--top',
      'clip_score:0.5',
      '--partial',
      '--given-uids',
      `${http.url}/given.npy?X-Amz-Signature=ffffffff`,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([`clipsift select: ${http.url}/given.npy: HTTP 403 Forbidden`]);
    const queued = await cli([
      'select',
      signedUrl(`/scores/${names[0]}`),
      '--out',
      join(tempDir(), 'subset.npy'),
      '--top',
      'clip_score:0.5',
      '--queue',
      'redis://127.0.0.1:1',
    ]);
    expect(queued.code).toBe(2);
    expect(queued.stderr).toContain('--queue takes no signed URLs');
    expect(queued.stderr).not.toContain('X-Amz');
  });

  it('runs score, the cut and NormSim on the survivors over signed URLs into the subset the local files give', async () => {
    const steps = ['--top', 'negclip_loss:0.5', '--top', 'normsim_inf:0.4', '--threads', '1', '--quiet'];
    const local = tempDir();
    const a = await cli(['run', pool, '--out', local, '--target', target, ...steps]);
    expect(a.code, a.stderr).toBe(0);
    const signed = tempDir();
    const inputs = ['00000000.parquet', '00000000.npz', '00000001.parquet', '00000001.npz'];
    const b = await cli([
      'run',
      ...inputs.map((name) => signedUrl(`/pool/${name}`)),
      '--out',
      signed,
      '--target',
      signedUrl('/target.npy'),
      ...steps,
    ]);
    expect(b.stderr).not.toMatch(/error|warning|X-Amz/i);
    expect(b.code, b.stderr + b.stdout).toBe(0);
    expect(readFileSync(join(signed, 'subset.npy'))).toEqual(readFileSync(join(local, 'subset.npy')));
    // The summary of the selection alike (the first line names the score directory and the time taken).
    const summary = (text: string, out: string) =>
      text
        .replaceAll(out, '<out>')
        .split('\n')
        .filter((line) => !line.startsWith('scored '));
    expect(summary(b.stdout, signed)).toEqual(summary(a.stdout, local));
  });

  it('inspects a signed URL as it inspects the local file, named by its path', async () => {
    const local = await cli(['inspect', target, '--json', '--quiet']);
    expect(local.code, local.stderr).toBe(0);
    const signed = await cli(['inspect', signedUrl('/target.npy'), '--json', '--quiet']);
    expect(signed.stderr).toBe('');
    expect(signed.code).toBe(0);
    const report = JSON.parse(signed.stdout);
    expect(report.file).toBe(`${http.url}/target.npy`);
    expect({ ...report, file: null }).toEqual({ ...JSON.parse(local.stdout), file: null });
  });

  it('scores a clip-retrieval part given as signed (and as plain) URLs with no metadata beside it like the local files, and asks for a sibling not given', async () => {
    const { img, txt } = pairedEmbeddings(30, 64, 7);
    const dir = tempDir();
    writeFileSync(join(dir, 'img_emb_0.npy'), encodeNpy(img, [30, 64]));
    writeFileSync(join(dir, 'text_emb_0.npy'), encodeNpy(txt, [30, 64]));
    const files = {
      '/c/img_emb_0.npy': new Uint8Array(readFileSync(join(dir, 'img_emb_0.npy'))),
      '/c/text_emb_0.npy': new Uint8Array(readFileSync(join(dir, 'text_emb_0.npy'))),
    };
    const signatures = { '/c/img_emb_0.npy': '?X-Amz-Signature=0a', '/c/text_emb_0.npy': '?X-Amz-Signature=0b' };
    const signedServer = await startRangeServer(files, { signed: signatures });
    const plainServer = await startRangeServer(files);
    try {
      const local = tempDir();
      const args = ['--batch-size', '16', '--threads', '1'];
      const run = await cli([
        'score',
        join(dir, 'img_emb_0.npy'),
        join(dir, 'text_emb_0.npy'),
        '--out',
        local,
        ...args,
      ]);
      expect(run.code, run.stderr).toBe(0);
      const expected = readFileSync(join(local, 'shard_0.scores.parquet'));
      for (const [server, query] of [
        [plainServer, (_: string) => ''],
        [signedServer, (path: string) => signatures[path as keyof typeof signatures]],
      ] as const) {
        const out = tempDir();
        const urls = ['/c/img_emb_0.npy', '/c/text_emb_0.npy'].map((path) => `${server.url}${path}${query(path)}`);
        const remote = await cli(['score', ...urls, '--out', out, ...args]);
        expect(remote.stderr).not.toMatch(/error|warning/i);
        expect(remote.code).toBe(0);
        expect(readFileSync(join(out, 'shard_0.scores.parquet'))).toEqual(expected);
      }
      const alone = await cli([
        'score',
        `${signedServer.url}/c/img_emb_0.npy${signatures['/c/img_emb_0.npy']}`,
        '--out',
        tempDir(),
      ]);
      expect(alone.code).toBe(1);
      expect(alone.stderr.trim().split('\n')).toEqual([
        `clipsift score: ${signedServer.url}/c/text_emb_0.npy: HTTP 403 Forbidden; it was not given, and a signed URL reads only its own file: give this file's signed URL too`,
      ]);
    } finally {
      await signedServer.close();
      await plainServer.close();
    }
  });
});
