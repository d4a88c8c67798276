/**
 * The edge function in workerd (miniflare) and under `deno serve` reading its NormSim target from a URL
 * (`POST /score?target=<url>`), served by a Range server on 127.0.0.1 that the test starts:
 *
 * - the bundled target's own bytes at a URL score bit for bit as the bundled target;
 * - a target of more rows than dims (NormSim_2 through G) scores as the Node engine with the target
 *   prepared from its rows;
 * - the target is kept per isolate by URL and ETag (a second request reads no body; a changed file is
 *   read again);
 * - URLs outside TARGET_URL_PREFIXES, over MAX_TARGET_BYTES, not a target file, or of another dim are a
 *   400, a server that fails is a 502, each one line naming the URL.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Embeddings, type Engine } from 'clipsift';
import { encodeNpy } from '../../src/io/npy.js';
import { generateSamplePool } from '../../src/sample/pool.js';
import { startRangeServer, type RangeServer } from '../io/servers.js';
import { bits, npyPairBody, Reference, responseScores, samplePairs, SCORE_COLUMNS, type Scores } from './payloads.js';
import { EDGE_DIR, startDeno, startWorkerd, type RunningEdge } from './runtimes.js';

const LIMITS = { maxBodyBytes: 4 * 1024 * 1024, maxJsonBytes: 1536 * 1024, maxRows: 300 };
const MAX_TARGET_BYTES = 2 * 1024 * 1024;

let server: RangeServer;
let other: RangeServer;
const runtimes: Record<string, RunningEdge> = {};
let reference: Reference;
let engine: Engine;

/** Target rows from the sample pool's images (float16, dim 768). */
function targetRows(rows: number, seed: number): Embeddings {
  const pool = generateSamplePool({ rows, dim: 768, seed });
  return { data: pool.image.data, rows, dim: 768 };
}
const npy = (m: Embeddings) => encodeNpy(m.data, [m.rows, m.dim]);
const big = targetRows(800, 61);

beforeAll(async () => {
  server = await startRangeServer({
    '/targets/bundled.npy': new Uint8Array(readFileSync(`${EDGE_DIR}target.npy`)),
    '/targets/big.npy': npy(big),
    '/targets/huge.npy': npy(targetRows(1400, 62)),
    '/targets/dim512.npy': encodeNpy(new Float32Array(4 * 512).fill(0.04), [4, 512]),
    '/targets/broken.npy': new TextEncoder().encode('not an npy file at all, just text'),
    '/targets/notes.txt': new TextEncoder().encode('hello'),
  });
  other = await startRangeServer({ '/targets/bundled.npy': new Uint8Array(readFileSync(`${EDGE_DIR}target.npy`)) });
  const vars = { TARGET_URL_PREFIXES: `${server.url}/targets/`, MAX_TARGET_BYTES: String(MAX_TARGET_BYTES) };
  runtimes.workerd = await startWorkerd(LIMITS, vars);
  runtimes.deno = await startDeno(LIMITS, vars, [new URL(server.url).host, new URL(other.url).host]);
  reference = await Reference.open();
  engine = await createEngine({ threads: 1, simd: 'baseline' });
});
afterAll(async () => {
  await Promise.all(Object.values(runtimes).map((runtime) => runtime.stop()));
  await reference?.close();
  await engine?.close();
  await server?.close();
  await other?.close();
});

const { f16 } = samplePairs(120, 63);

const target = (url: string, precision = 'f32') => `?target=${encodeURIComponent(url)}&precision=${precision}`;

describe.each(['workerd', 'deno'])('edge target from a URL in %s', (name) => {
  function post(query: string): Promise<Response> {
    const init = npyPairBody(f16);
    return fetch(new URL(`/score${query}`, runtimes[name]!.url), {
      ...init,
      headers: { ...(init.headers as Record<string, string>), accept: 'application/octet-stream' },
    });
  }

  async function scores(query: string): Promise<Scores> {
    const response = await post(query);
    expect(response.status, await response.clone().text()).toBe(200);
    return responseScores(response);
  }

  function expectSameBits(got: Scores, want: Scores): void {
    for (const column of SCORE_COLUMNS) expect(bits(got[column]), column).toEqual(bits(want[column]));
  }

  async function errorOf(query: string, status: number): Promise<string> {
    const response = await post(query);
    const text = await response.text();
    expect(response.status, text).toBe(status);
    const { error } = JSON.parse(text) as { error: string };
    expect(error).not.toMatch(/\n/);
    return error;
  }

  it('reports the target URL settings on GET /health', async () => {
    const health = (await (await fetch(new URL('/health', runtimes[name]!.url))).json()) as { targetUrls: unknown };
    expect(health.targetUrls).toEqual({ prefixes: [`${server.url}/targets/`], maxBytes: MAX_TARGET_BYTES });
  });

  it('scores the bundled target read from a URL bit for bit as the bundled target, in f32 and i16', async () => {
    for (const precision of ['f32', 'i16']) {
      const bundled = await scores(`?precision=${precision}`);
      expectSameBits(await scores(target(`${server.url}/targets/bundled.npy`, precision)), bundled);
      // And both as the Node engine.
      expectSameBits(bundled, await reference.scores(f16, precision as 'f32' | 'i16'));
    }
  });

  it('scores a target of more rows than dims as the Node engine prepares it from its rows', async () => {
    const got = await scores(target(`${server.url}/targets/big.npy`));
    const want = await reference.scores(f16);
    want.normsim_inf = await engine.normSim(f16.img, await engine.prepareTarget(big, { p: Infinity }));
    want.normsim_2 = await engine.normSim(f16.img, await engine.prepareTarget(big, { p: 2 }));
    expectSameBits(got, want);
  });

  it('keeps a target per isolate by URL and ETag, and reads a changed one again', async () => {
    const url = `${server.url}/targets/cached.npy`;
    const first = targetRows(30, 64);
    server.files.set('/targets/cached.npy', npy(first));
    const bodies = () => server.log.filter((entry) => entry.path === '/targets/cached.npy' && entry.method === 'GET');
    const a = await scores(target(url));
    const read = bodies().length;
    expect(read).toBeGreaterThan(0);
    expectSameBits(await scores(target(url)), a);
    // The second request asked for the size and ETag only.
    expect(bodies().length).toBe(read);

    const second = targetRows(31, 65); // another size, so another ETag
    server.files.set('/targets/cached.npy', npy(second));
    const b = await scores(target(url));
    expect(bodies().length).toBeGreaterThan(read);
    expect(bits(b.normsim_inf)).toEqual(
      bits(await engine.normSim(f16.img, await engine.prepareTarget(second, { p: Infinity }))),
    );
  });

  it('answers 400 or 502 naming the URL when the target cannot be used', async () => {
    const at = (name: string) => `${server.url}/targets/${name}`;
    expect(await errorOf(target(`${other.url}/targets/bundled.npy`), 400)).toBe(
      `target ${other.url}/targets/bundled.npy is not under this deployment's TARGET_URL_PREFIXES (${server.url}/targets/)`,
    );
    expect(await errorOf(target(at('missing.npy')), 502)).toBe(`target ${at('missing.npy')}: no such file (HTTP 404)`);
    server.statuses.set('/targets/down.npy', 503);
    expect(await errorOf(target(at('down.npy')), 502)).toMatch(
      new RegExp(`^target ${at('down.npy')}: failed after 3 attempts; last: HTTP 503`),
    );
    expect(await errorOf(target(at('huge.npy')), 400)).toMatch(
      new RegExp(
        `^target ${at('huge.npy')} is \\d+ bytes, over this deployment's MAX_TARGET_BYTES \\(${MAX_TARGET_BYTES}\\)$`,
      ),
    );
    expect(await errorOf(target(at('broken.npy')), 400)).toBe(
      `target ${at('broken.npy')} field magic: not an .npy file: it does not start with the magic bytes \\x93NUMPY`,
    );
    expect(await errorOf(target(at('notes.txt')), 400)).toMatch(
      new RegExp(`^target ${at('notes.txt')}: is not an .npy`),
    );
    expect(await errorOf(target(at('dim512.npy')), 400)).toBe(
      `embeddings have dim 768 but the target ${at('dim512.npy')} has dim 512`,
    );
    // A failure mid-read (the HEAD answered) is the server's: 502.
    server.files.set('/targets/flaky.npy', npy(targetRows(20, 66)));
    server.fault = ({ method, path }) => (method === 'GET' && path === '/targets/flaky.npy' ? 'status500' : 'none');
    try {
      expect(await errorOf(target(at('flaky.npy')), 502)).toMatch(
        new RegExp(`^target ${at('flaky.npy')}: failed after 3 attempts; last: HTTP 500`),
      );
    } finally {
      server.fault = () => 'none';
    }
    // The isolate still scores afterwards.
    expect((await post(target(at('bundled.npy')))).status).toBe(200);
  });
});
