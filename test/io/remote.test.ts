/**
 * Remote byte sources against servers this file starts on 127.0.0.1: a Range-honouring HTTP server that
 * injects faults, and s3rver. Every read is compared with the same bytes read from disk; a fault must end
 * in the right bytes or an InputError naming the URL, never in different bytes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InputError, OutputError } from '../../src/io/errors.js';
import { discard, fetchIdle, openHttpSource, remoteSettings } from '../../src/io/http.js';
import { listShards, openShard } from '../../src/io/layouts.js';
import { nodeFileSystem } from '../../src/io/node-files.js';
import { openNpzArray } from '../../src/io/npz.js';
import { openParquet } from '../../src/io/parquet.js';
import { remoteFileSystem } from '../../src/io/remote.js';
import { listS3, openS3Source, putS3Object, s3Config } from '../../src/io/s3.js';
import { bytesSource } from '../../src/io/source.js';
import { expectedBytes, expectSameBytes, fixtureBytes, REAL } from './helpers.js';
import { type Fault, type RangeServer, startRangeServer, startS3, type S3Server } from './servers.js';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const npz = fixtureBytes('stored.npz');
const big = fixtureBytes('compressed_big.npz');
const parquet = new Uint8Array(readFileSync(`${REAL}metadata_0.parquet`));
// A short idle timeout keeps the stall cases quick; under load a slow answer is merely retried.
const fast = { backoffMs: 1, idleTimeoutMs: 1000, retries: 4 };

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('fetchIdle: the idle timer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is off once headers or a body are in, so an unread or discarded response cannot hold the process open', async () => {
    vi.useFakeTimers();
    const settings = remoteSettings({ idleTimeoutMs: 30_000, fetch: async () => new Response('abcdef') });
    const discarded = await fetchIdle(settings, 'https://example.test/head-only');
    expect(vi.getTimerCount()).toBe(0);
    await discard(discarded.response);
    const read = await fetchIdle(settings, 'https://example.test/read');
    expect(new TextDecoder().decode(await read.body(6))).toBe('abcdef');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('still aborts a request whose headers do not come within the idle time', async () => {
    vi.useFakeTimers();
    const settings = remoteSettings({
      idleTimeoutMs: 1000,
      fetch: (_input, init) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        }),
    });
    const failed = rejection(fetchIdle(settings, 'https://example.test/stalled'));
    await vi.advanceTimersByTimeAsync(1000);
    expect((await failed).message).toBe('no data for 1000 ms');
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('https byte source', () => {
  let server: RangeServer;
  beforeAll(async () => {
    server = await startRangeServer({ '/a/stored.npz': npz, '/big.npz': big, '/m.parquet': parquet });
  });
  afterAll(() => server.close());
  const reset = (fault: RangeServer['fault'] = () => 'none') => {
    server.fault = fault;
    server.log.length = 0;
    server.statuses.clear();
  };

  it('reads an npz array and a parquet file by ranges, byte-identical to the local bytes', async () => {
    reset();
    const remote = await openHttpSource(`${server.url}/a/stored.npz`, fast);
    expect(remote.size).toBe(npz.length);
    const array = await openNpzArray(remote, 'b32_txt');
    const rows = await array.readRows(0, array.rows);
    expectSameBytes(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), expectedBytes('stored.npz.b32_txt'));
    // Only ranged GETs after the HEAD, never the whole file.
    expect(server.log.filter((r) => r.method === 'GET').every((r) => r.range !== undefined)).toBe(true);

    const local = await openParquet(bytesSource('m.parquet', parquet));
    const viaHttp = await openParquet(await openHttpSource(`${server.url}/m.parquet`, fast));
    expect(viaHttp.columns).toEqual(local.columns);
    expect(await viaHttp.readColumns(local.columns)).toEqual(await local.readColumns(local.columns));
  });

  it('splits a large read into bounded concurrent parts and reassembles it exactly', async () => {
    reset();
    let active = 0;
    let peak = 0;
    const counting: typeof fetch = async (input, init) => {
      active++;
      peak = Math.max(peak, active);
      try {
        const response = await fetch(input, init);
        const bytes = new Uint8Array(await response.arrayBuffer());
        return new Response(bytes, { status: response.status, headers: response.headers });
      } finally {
        active--;
      }
    };
    const remote = await openHttpSource(`${server.url}/big.npz`, {
      ...fast,
      fetch: counting,
      partBytes: 1000,
      concurrency: 3,
    });
    expectSameBytes(await remote.read(5, big.length - 5), big.subarray(5));
    expect(peak).toBeLessThanOrEqual(3);
    // One range per part (a request retried after a timeout on a loaded machine asks for the same range).
    const ranges = new Set(server.log.filter((r) => r.method === 'GET').map((r) => r.range));
    expect(ranges.size).toBe(Math.ceil((big.length - 5) / 1000));
  });

  it('retries 5xx bursts, resets mid-body, stalls, short bodies and wrong Content-Range to the right bytes', async () => {
    for (const fault of ['status500', 'status503', 'reset', 'stall', 'longLength', 'wrongRange', 'slow'] as Fault[]) {
      // The first request for every range fails in this way; the retry of it succeeds.
      const seen = new Set<string>();
      reset(({ method, index }) => {
        const range = server.log[index]!.range ?? '';
        if (method !== 'GET' || seen.has(range)) return 'none';
        seen.add(range);
        return fault;
      });
      const remote = await openHttpSource(`${server.url}/big.npz`, { ...fast, idleTimeoutMs: 500, partBytes: 4096 });
      expectSameBytes(await remote.read(100, big.length - 200), big.subarray(100, big.length - 100));
    }
  });

  it('gives up after a bounded number of attempts with one line naming the URL and the last status', async () => {
    reset(({ method }) => (method === 'GET' ? 'status503' : 'none'));
    const url = `${server.url}/a/stored.npz`;
    const remote = await openHttpSource(url, fast);
    const err = await rejection(remote.read(0, 10));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${url}: failed after 5 attempts; last: HTTP 503 Service Unavailable for bytes 0-9`);
    expect(server.log.filter((r) => r.method === 'GET').length).toBe(5);

    reset(({ method }) => (method === 'GET' ? 'reset' : 'none'));
    const reset2 = await rejection((await openHttpSource(url, fast)).read(0, 1000));
    expect(reset2.message).toMatch(new RegExp(`^${url}: failed after 5 attempts; last: `));
    expect(reset2.message).not.toContain('\n');
  });

  it('fails at once on a 4xx, on a server that ignores Range, and on an object that changed', async () => {
    reset();
    server.statuses.set('/secret.npz', 403);
    const denied = await rejection(openHttpSource(`${server.url}/secret.npz`, fast));
    expect(denied.message).toBe(`${server.url}/secret.npz: HTTP 403 Forbidden`);
    expect(server.log.length).toBe(1);
    const missing = await rejection(openHttpSource(`${server.url}/nope.npz`, fast));
    expect(missing.message).toBe(`${server.url}/nope.npz: no such file (HTTP 404)`);

    reset(() => 'ignoreRange');
    const ignoring = await openHttpSource(`${server.url}/a/stored.npz`, fast);
    expect((await rejection(ignoring.read(3, 10))).message).toMatch(/ignores Range/);
    expectSameBytes(await ignoring.read(0, npz.length), npz); // the whole file is fine as a 200

    reset();
    const changing = await openHttpSource(`${server.url}/a/stored.npz`, fast);
    server.files.set('/a/stored.npz', big);
    expect((await rejection(changing.read(0, 10))).message).toMatch(/changed while being read/);
    server.files.set('/a/stored.npz', npz);
  });

  it('reads a GET-presigned URL with its query on every request, sized by a ranged GET, named without the query', async () => {
    // As S3 treats a URL presigned for GET: another query, none, or a HEAD is 403.
    const query = '?X-Amz-Expires=600&X-Amz-Signature=5ab1e&X-Amz-SignedHeaders=host';
    const signedServer = await startRangeServer(
      { '/s/stored.npz': npz, '/s/empty.npy': new Uint8Array(0), '/s/other.npz': npz },
      { signed: { '/s/stored.npz': query, '/s/empty.npy': query, '/s/other.npz': '?X-Amz-Signature=0ther' } },
    );
    try {
      const bare = `${signedServer.url}/s/stored.npz`;
      const remote = await openHttpSource(`${bare}${query}`, fast);
      expect(remote.name).toBe(bare);
      expect(remote.size).toBe(npz.length);
      const array = await openNpzArray(remote, 'b32_txt');
      const rows = await array.readRows(0, array.rows);
      expectSameBytes(
        new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength),
        expectedBytes('stored.npz.b32_txt'),
      );
      expectSameBytes(await remote.read(0, npz.length), npz);
      expect(signedServer.log.length).toBeGreaterThan(2);
      for (const entry of signedServer.log) {
        expect(entry).toMatchObject({ method: 'GET', query });
        expect(entry.range).toMatch(/^bytes=\d+-\d+$/);
      }
      expect((await openHttpSource(`${signedServer.url}/s/empty.npy${query}`, fast)).size).toBe(0);
      // A wrong signature is a 403 naming the URL without its query (a credential), on one line.
      const denied = await rejection(openHttpSource(`${signedServer.url}/s/other.npz${query}`, fast));
      expect(denied).toBeInstanceOf(InputError);
      expect(denied.message).toBe(`${signedServer.url}/s/other.npz: HTTP 403 Forbidden`);
      const missing = await rejection(openHttpSource(`${signedServer.url}/s/gone.npz${query}`, fast));
      expect(missing.message).toBe(`${signedServer.url}/s/gone.npz: no such file (HTTP 404)`);
    } finally {
      await signedServer.close();
    }
  });

  it('random faults on random reads: every read returns the right bytes or throws InputError', async () => {
    const faults: Fault[] = ['none', 'none', 'none', 'none', 'status500', 'reset', 'longLength', 'wrongRange', 'stall'];
    let seed = 12345;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    reset(({ method }) => (method === 'GET' ? faults[Math.floor(next() * faults.length)]! : 'none'));
    const remote = await openHttpSource(`${server.url}/big.npz`, { ...fast, retries: 2, partBytes: 2048 });
    let good = 0;
    let failed = 0;
    for (let k = 0; k < 40; k++) {
      const offset = Math.floor(next() * big.length);
      const length = Math.floor(next() * Math.min(10000, big.length - offset));
      try {
        expectSameBytes(await remote.read(offset, length), big.subarray(offset, offset + length));
        good++;
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        failed++;
      }
    }
    // Both outcomes happen with this seed: faults were survived and exhausted retries were reported.
    expect(good).toBeGreaterThan(10);
    expect(failed).toBeGreaterThan(0);
  });
});

describe('s3 byte source (s3rver)', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3(['pool']);
    for (const [key, bytes] of [
      ['shards/00000000.npz', npz],
      ['shards/00000000.parquet', parquet],
      ['shards/sub/x.bin', npz.subarray(0, 10)],
      ['with space/a+b.npz', npz],
    ] as const) {
      await putS3Object(`s3://pool/${key}`, bytes, { env: s3.env });
    }
  });
  afterAll(() => s3.close());

  it('reads objects by signed ranged GETs, byte-identical to the local bytes', async () => {
    const source = await openS3Source('s3://pool/shards/00000000.npz', { env: s3.env });
    expect(source.size).toBe(npz.length);
    expectSameBytes(await source.read(0, npz.length), npz);
    const array = await openNpzArray(source, 'b32_txt');
    const rows = await array.readRows(0, array.rows);
    expectSameBytes(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength), expectedBytes('stored.npz.b32_txt'));
    const spaced = await openS3Source('s3://pool/with space/a+b.npz', { env: s3.env });
    expectSameBytes(await spaced.read(7, 100), npz.subarray(7, 107));
  });

  it('lists a prefix like a directory and opens through a FileSystem', async () => {
    expect(await listS3('s3://pool/shards', { env: s3.env })).toEqual(['00000000.npz', '00000000.parquet', 'sub']);
    expect(await listS3('s3://pool/shards/', { env: s3.env })).toEqual(['00000000.npz', '00000000.parquet', 'sub']);
    const fs = remoteFileSystem(undefined, { env: s3.env });
    expect(await fs.list('s3://pool/shards/sub')).toEqual(['x.bin']);
    expectSameBytes(await (await fs.open('s3://pool/shards/sub/x.bin')).read(0, 10), npz.subarray(0, 10));
    expect((await rejection(fs.list('s3://pool/nothing'))).message).toBe(
      's3://pool/nothing: no such directory (nothing under this prefix)',
    );
    expect((await rejection(fs.open('local/file'))).message).toMatch(/^local\/file: is not an s3/);
  });

  it('reads a clip-retrieval folder under an s3:// prefix as the same folder on disk', async () => {
    for (const [key, file] of [
      ['cr/img_emb/img_emb_0.npy', 'img_emb_0.npy'],
      ['cr/text_emb/text_emb_0.npy', 'text_emb_0.npy'],
      ['cr/metadata/metadata_0.parquet', 'metadata_0.parquet'],
    ] as const) {
      await putS3Object(`s3://pool/${key}`, new Uint8Array(readFileSync(REAL + file)), { env: s3.env, force: true });
    }
    // The local fixture dir is flat; lay it out as clip-retrieval writes it.
    const local = mkdtempSync(join(tmpdir(), 'clipsift-cr-'));
    try {
      for (const [sub, file] of [
        ['img_emb', 'img_emb_0.npy'],
        ['text_emb', 'text_emb_0.npy'],
        ['metadata', 'metadata_0.parquet'],
      ] as const) {
        mkdirSync(join(local, sub));
        copyFileSync(REAL + file, join(local, sub, file));
      }
      const fs = remoteFileSystem(undefined, { env: s3.env });
      const [remoteRef] = await listShards(fs, 's3://pool/cr');
      const [localRef] = await listShards(nodeFileSystem, local);
      expect(remoteRef!.layout).toBe('clip-retrieval');
      expect(remoteRef!.files.image).toBe('s3://pool/cr/img_emb/img_emb_0.npy');
      const remote = await openShard(fs, remoteRef!);
      const disk = await openShard(nodeFileSystem, localRef!);
      expect(remote.rows).toBe(disk.rows);
      for (const side of ['image', 'text'] as const) {
        const a = [];
        const b = [];
        for await (const chunk of remote[side].readRowChunks(4)) a.push(Array.from(chunk.data));
        for await (const chunk of disk[side].readRowChunks(4)) b.push(Array.from(chunk.data));
        expect(a).toEqual(b);
      }
      expect(await remote.readKeys()).toEqual(await disk.readKeys());
      await remote.close();
      await disk.close();
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });

  it('node-files and the remote file system tell what an s3:// URL names the same way', async () => {
    // A key that is an object and also a prefix of others names the object.
    await putS3Object('s3://pool/twice/both', npz.subarray(0, 5), { env: s3.env });
    await putS3Object('s3://pool/twice/both/inner.bin', npz.subarray(0, 5), { env: s3.env });
    const saved = { ...process.env };
    Object.assign(process.env, s3.env);
    try {
      const fs = remoteFileSystem(undefined, { env: s3.env });
      const cases: [string, string][] = [
        ['s3://pool/shards/00000000.npz', 'file'],
        ['s3://pool/shards', 'directory'],
        ['s3://pool/shards/', 'directory'],
        ['s3://pool/twice/both', 'file'],
        ['s3://pool/twice/both/', 'directory'],
        ['s3://pool/nothing', 'missing'],
      ];
      for (const [url, kind] of cases) {
        expect(await nodeFileSystem.kind!(url), `node-files: ${url}`).toBe(kind);
        expect(await fs.kind!(url), `remote: ${url}`).toBe(kind);
      }
      // Refused credentials are reported as themselves by both, never as a missing file.
      const denied = { ...s3.env, AWS_ACCESS_KEY_ID: 'AKIDUNKNOWN' };
      Object.assign(process.env, denied);
      for (const kind of [nodeFileSystem.kind!, remoteFileSystem(undefined, { env: denied, ...fast }).kind!]) {
        expect((await rejection(kind('s3://pool/nothing'))).message).toMatch(/^s3:\/\/pool\/nothing: HTTP 403/);
      }
    } finally {
      for (const key of Object.keys(s3.env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  it('writes whole objects once and refuses to overwrite without force', async () => {
    await putS3Object('s3://pool/out/subset.npy', npz.subarray(0, 99), { env: s3.env });
    const err = await rejection(putS3Object('s3://pool/out/subset.npy', npz, { env: s3.env }));
    expect(err).toBeInstanceOf(OutputError);
    expect(err.message).toBe('s3://pool/out/subset.npy: already exists; refusing to overwrite it without --force');
    await putS3Object('s3://pool/out/subset.npy', npz, { env: s3.env, force: true });
    expectSameBytes(await (await openS3Source('s3://pool/out/subset.npy', { env: s3.env })).read(0, npz.length), npz);
  });

  it('a 403 names the access key id and where it came from, never the secret; 404 says no such file', async () => {
    // s3rver checks the access key id (it does not verify SigV4 signatures themselves).
    const env = { ...s3.env, AWS_ACCESS_KEY_ID: 'AKIDUNKNOWN', AWS_SECRET_ACCESS_KEY: 'not-the-secret-xyz' };
    const err = await rejection(openS3Source('s3://pool/shards/00000000.npz', { env, ...fast }));
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(
      /^s3:\/\/pool\/shards\/00000000\.npz: HTTP 403.*credentials: access key id AKIDUNKNOWN from AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY\)$/,
    );
    expect(err.message).not.toContain('not-the-secret-xyz');
    const missing = await rejection(openS3Source('s3://pool/shards/none.npz', { env: s3.env }));
    expect(missing.message).toBe('s3://pool/shards/none.npz: no such file (HTTP 404)');
  });

  it('takes region, endpoint and credentials from the AWS environment variables', () => {
    const config = s3Config({
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      AWS_SESSION_TOKEN: 'T',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9/',
    });
    expect(config).toEqual({
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      sessionToken: 'T',
      credentialSource: 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY with AWS_SESSION_TOKEN',
    });
    expect(s3Config({})).toEqual({ region: 'us-east-1' });
  });
});
