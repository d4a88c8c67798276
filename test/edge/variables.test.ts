/**
 * The edge app's deployment variables, read in Node through createScoreApp (the app both runtime
 * entries wrap): fetch's env (Worker vars) first, else the runtime's own variables (Deno's environment,
 * `ScoreAppOptions.variables`), for every setting alike: the limits (MAX_BODY_BYTES, MAX_JSON_BYTES,
 * MAX_ROWS) and the target URLs (TARGET_URL_PREFIXES, MAX_TARGET_BYTES). The workerd and `deno serve`
 * tests (edge.test.ts, target-url.test.ts) start the built entries with these variables set.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createScoreApp, type FetchHandler } from '../../src/edge/app.js';
import { jsonBody, samplePairs } from './payloads.js';
import { EDGE_DIR } from './runtimes.js';

function app(variables?: Record<string, string>): FetchHandler {
  const file = (name: string) => new Uint8Array(readFileSync(`${EDGE_DIR}${name}`));
  return createScoreApp({
    variant: 'baseline',
    kernels: () => WebAssembly.compile(file('clipsift.baseline.wasm')),
    target: async () => ({ name: 'target.npy', bytes: file('target.npy') }),
    gram: async () => ({ name: 'target.gram.bin', bytes: file('target.gram.bin') }),
    ...(variables ? { variables: (name: string) => variables[name] } : {}),
  });
}

interface Health {
  limits: { maxBodyBytes: number; maxJsonBytes: number; maxRows: number };
  targetUrls: { prefixes: string[]; maxBytes: number };
}

async function health(handler: FetchHandler, env?: Record<string, string>): Promise<Health> {
  const response = await handler.fetch(new Request('http://edge.test/health'), env);
  expect(response.status).toBe(200);
  return (await response.json()) as Health;
}

describe('edge deployment variables', () => {
  it('reads every setting through one reader: Worker vars first, then the runtime variables, then the defaults', async () => {
    const handler = app({
      MAX_ROWS: '9',
      MAX_JSON_BYTES: '123456',
      TARGET_URL_PREFIXES: 'https://a.test/ https://b.test/',
    });
    const got = await health(handler, { MAX_ROWS: '7', MAX_TARGET_BYTES: '4096' });
    expect(got.limits).toEqual({ maxBodyBytes: 32 * 1024 * 1024, maxJsonBytes: 123456, maxRows: 7 });
    expect(got.targetUrls).toEqual({ prefixes: ['https://a.test/', 'https://b.test/'], maxBytes: 4096 });
    // Without Worker vars (Deno passes fetch no env): the runtime variables alone.
    expect((await health(handler)).limits).toEqual({
      maxBodyBytes: 32 * 1024 * 1024,
      maxJsonBytes: 123456,
      maxRows: 9,
    });
    // Neither: the defaults; a value that is not a positive whole number is ignored.
    expect(await health(app(), { MAX_ROWS: '-3', MAX_TARGET_BYTES: 'lots' })).toEqual(
      expect.objectContaining({
        limits: { maxBodyBytes: 32 * 1024 * 1024, maxJsonBytes: 8 * 1024 * 1024, maxRows: 4096 },
        targetUrls: { prefixes: [], maxBytes: 64 * 1024 * 1024 },
      }),
    );
  });

  it('applies a limit given as a runtime variable to requests', async () => {
    const handler = app({ MAX_ROWS: '2' });
    const response = await handler.fetch(new Request('http://edge.test/score', jsonBody(samplePairs(3, 5).f32)));
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: '3 rows is more than the limit of 2 per request' });
  });
});
