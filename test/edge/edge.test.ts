/**
 * The edge function in workerd (miniflare) and under `deno serve`: scores equal the Node engine's bit
 * for bit for every request format (NormSim_2 from the target's Gram matrix, as bundled), and every
 * kind of bad request gets its status and a one-line JSON reason, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBundledGram } from '../../src/edge/target.js';
import {
  bits,
  jsonBody,
  multipartBody,
  npyOf,
  npyPairBody,
  rawBody,
  rawQuery,
  Reference,
  responseScores,
  samplePairs,
  SCORE_COLUMNS,
  type Pair,
} from './payloads.js';
import { rawRequest } from './raw-http.js';
import { EDGE_DIR, startDeno, startWorkerd, type RunningEdge } from './runtimes.js';

const LIMITS = { maxBodyBytes: 4 * 1024 * 1024, maxJsonBytes: 1536 * 1024, maxRows: 300 };
const runtimes: Record<string, RunningEdge> = {};
let reference: Reference;

beforeAll(async () => {
  const [workerd, deno, ref] = await Promise.all([startWorkerd(LIMITS), startDeno(LIMITS), Reference.open()]);
  runtimes.workerd = workerd;
  runtimes.deno = deno;
  reference = ref;
});
afterAll(async () => {
  await Promise.all(Object.values(runtimes).map((r) => r.stop()));
  await reference?.close();
});

/** A status and a JSON body `{ error }` holding one line that is not a stack trace. */
async function expectError(response: Response, status: number): Promise<string> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const { error } = JSON.parse(text) as { error: string };
  expect(typeof error).toBe('string');
  expect(error.length).toBeGreaterThan(0);
  expect(error).not.toMatch(/\n|\bat .+:\d+:\d+/);
  return error;
}

describe('the bundled Gram matrix (target.gram.bin)', () => {
  it('is G = TᵀT of the bundled target rows, bit for bit as the Node engine computes it, or the header alone for at most dim rows', () => {
    const bundled = decodeBundledGram('target.gram.bin', new Uint8Array(readFileSync(`${EDGE_DIR}target.gram.bin`)));
    if (reference.target.rows <= reference.target.dim) {
      expect(bundled).toBeUndefined();
      return;
    }
    expect({ rows: bundled!.rows, dim: bundled!.dim }).toEqual({
      rows: reference.target.rows,
      dim: reference.target.dim,
    });
    expect(Buffer.from(bundled!.gram.buffer)).toEqual(Buffer.from(reference.gram.buffer));
  });
  it('is refused when it is not one', () => {
    const file = (rows: number, dim: number, values: number[]) => {
      const bytes = new Uint8Array(16 + values.length * 8);
      const view = new DataView(bytes.buffer);
      bytes.set(new TextEncoder().encode('CSGRAM01'));
      view.setUint32(8, rows, true);
      view.setUint32(12, dim, true);
      values.forEach((v, i) => {
        view.setFloat64(16 + i * 8, v, true);
      });
      return bytes;
    };
    expect(decodeBundledGram('x.bin', file(3, 2, [1, 2, 2, 5]))).toEqual({
      rows: 3,
      dim: 2,
      gram: Float64Array.of(1, 2, 2, 5),
    });
    expect(() => decodeBundledGram('x.bin', new Uint8Array(64))).toThrow(/CSGRAM01/);
    expect(() => decodeBundledGram('x.bin', file(3, 2, [1, 2, 2]))).toThrow(/float64 values/);
    // A header alone stands for "score from the rows" only where the engine would do that.
    expect(() => decodeBundledGram('x.bin', file(3, 2, []))).toThrow(/float64 values/);
  });
});

describe.each(['workerd', 'deno'])('edge function in %s', (name) => {
  const at = (path: string) => new URL(path, runtimes[name]!.url);
  // As src/edge/README.md tells clients: a POST that fails because the server closed its idle keep-alive
  // connection as the request went out is sent once more (workerd closes idle connections sooner than
  // undici assumes; on a loaded machine a slow reference between two requests is enough to hit it).
  const post = async (path: string, init: RequestInit) => {
    try {
      return await fetch(at(path), init);
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET') throw error;
      return fetch(at(path), init);
    }
  };

  it('reports the build variant and the bundled target on GET /health', async () => {
    const response = await fetch(at('/health'));
    expect(response.status).toBe(200);
    const health = (await response.json()) as {
      variant: string;
      engine: { threads: number; runtime: string };
      target: { rows: number; dim: number };
    };
    expect(health.variant).toBe('baseline');
    expect(health.engine.threads).toBe(1);
    expect(health.engine.runtime).toBe(name);
    expect(health.target).toEqual({
      name: 'target.npy',
      rows: 10,
      dim: 768,
      p: ['inf', '2'],
      // 10 rows < 768 dims: NormSim_2 from the rows, as the engine chooses (see build-edge.js).
      prepared: { inf: { from: 'rows', file: 'target.npy' }, '2': { from: 'rows', file: 'target.npy' } },
    });
  });

  const { f16, f32 } = samplePairs(40, 11);
  const formats: [string, Pair, () => [string, RequestInit]][] = [
    ['JSON arrays', f32, () => ['/score', jsonBody(f32)]],
    ['raw float32', f32, () => ['/score' + rawQuery(f32), rawBody(f32)]],
    ['raw float16', f16, () => ['/score' + rawQuery(f16), rawBody(f16)]],
    ['two .npy files (float16)', f16, () => ['/score', npyPairBody(f16)]],
    ['multipart .npy parts (float32)', f32, () => ['/score', multipartBody(f32)]],
  ];
  for (const [format, pair, request] of formats) {
    it(`scores ${format} exactly as the engine in Node does`, async () => {
      const [path, init] = request();
      const response = await post(path, init);
      expect(response.status, await response.clone().text()).toBe(200);
      const got = await responseScores(response);
      const want = await reference.scores(pair);
      for (const column of SCORE_COLUMNS) expect(bits(got[column]), column).toEqual(bits(want[column]));
    });
  }

  it('scores at precision i16 when asked in the query or the JSON body, bit for bit as the Node engine does', async () => {
    const want = await reference.scores(f32, 'i16');
    const f32Scores = await reference.scores(f32);
    const json = jsonBody(f32);
    const withField = { ...json, body: JSON.stringify({ ...JSON.parse(json.body as string), precision: 'i16' }) };
    for (const [path, init] of [
      ['/score' + rawQuery(f32) + '&precision=i16', rawBody(f32)],
      ['/score', withField],
    ] as [string, RequestInit][]) {
      const response = await post(path, init);
      expect(response.status, await response.clone().text()).toBe(200);
      const got = await responseScores(response);
      for (const column of SCORE_COLUMNS) expect(bits(got[column]), column).toEqual(bits(want[column]));
      expect(bits(got.negclip_loss)).not.toEqual(bits(f32Scores.negclip_loss));
    }
    const bad = await post('/score' + rawQuery(f32) + '&precision=i8', rawBody(f32));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/precision must be f32 or i16, got 'i8'/);
  });

  it('answers NormSim_2 bit for bit as the engine does with the target rows (from G above dim rows, as the engine then is)', async () => {
    const response = await post('/score' + rawQuery(f32), rawBody(f32));
    const got = (await responseScores(response)).normsim_2;
    expect(bits(got)).toEqual(bits(await reference.normSim2FromRows(f32.img)));
  });

  it('answers binary float32 columns on Accept: application/octet-stream', async () => {
    const init = rawBody(f16);
    const response = await post('/score' + rawQuery(f16), {
      ...init,
      headers: { ...init.headers, accept: 'application/octet-stream' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-clipsift-columns')).toBe(SCORE_COLUMNS.join(','));
    const got = await responseScores(response);
    const want = await reference.scores(f16);
    for (const column of SCORE_COLUMNS) expect(bits(got[column]), column).toEqual(bits(want[column]));
  });

  describe('413 for too much input', () => {
    it('a body over the byte cap, refused from its declared length before it is sent', async () => {
      // Only the head goes out: the server must answer from Content-Length without waiting for bytes.
      const url = runtimes[name]!.url;
      const { response, destroy } = rawRequest(
        url,
        `POST /score?rows=1&dim=768&dtype=float32 HTTP/1.1\nHost: ${url.host}\nContent-Type: application/octet-stream\nContent-Length: ${LIMITS.maxBodyBytes + 4}\n`,
      );
      const answer = await response;
      destroy();
      expect(answer?.status).toBe(413);
      expect(JSON.parse(answer!.body).error).toMatch(/larger than the limit/);
    });
    it('a chunked body that grows past the cap', async () => {
      const chunk = new Uint8Array(256 * 1024);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > LIMITS.maxBodyBytes + chunk.length) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const response = await post('/score?rows=1&dim=768&dtype=float32', {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body,
        duplex: 'half',
      } as RequestInit);
      await expectError(response, 413);
    });
    it('a JSON body over the (lower) JSON cap, refused from its declared length', async () => {
      // Only the head goes out, as above: a client still writing a body the server has already
      // refused may see its connection reset before it reads the 413 (seen with fetch under load).
      const url = runtimes[name]!.url;
      const { response, destroy } = rawRequest(
        url,
        `POST /score HTTP/1.1\nHost: ${url.host}\nContent-Type: application/json\nContent-Length: ${LIMITS.maxJsonBytes + 4}\n`,
      );
      const answer = await response;
      destroy();
      expect(answer?.status).toBe(413);
      expect(JSON.parse(answer!.body).error).toMatch(/raw float16\/float32 or \.npy/);
    });
    it('more rows than the per-request cap', async () => {
      const big = samplePairs(LIMITS.maxRows + 1, 2).f16;
      await expectError(await post('/score' + rawQuery(big), rawBody(big)), 413);
    });
  });

  describe('415 for a content type it does not read', () => {
    it('text/plain', async () => {
      await expectError(
        await post('/score', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }),
        415,
      );
    });
    it('no content type at all', async () => {
      await expectError(await post('/score', { method: 'POST', body: new Uint8Array(8) }), 415);
    });
  });

  describe('400 for malformed or non-finite input', () => {
    const small = samplePairs(4, 5);
    const cases: [string, () => [string, RequestInit], RegExp][] = [
      [
        'JSON that does not parse',
        () => ['/score', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"img": [[1, 2' }],
        /not valid JSON/,
      ],
      [
        'JSON rows of different lengths',
        () => [
          '/score',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              img: [[1, 0], [1]],
              txt: [
                [1, 0],
                [0, 1],
              ],
            }),
          },
        ],
        /img\[1\]/,
      ],
      [
        'JSON with an infinite value',
        () => [
          '/score',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"img": [[1e999, 0]], "txt": [[1, 0]]}',
          },
        ],
        /img row 0 .*(NaN|infinite)/,
      ],
      [
        'JSON with a string',
        () => [
          '/score',
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"img": [["a"]], "txt": [[1]]}' },
        ],
        /not a number/,
      ],
      [
        'image and text row counts that differ',
        () => [
          '/score',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              img: [[1, 0]],
              txt: [
                [1, 0],
                [0, 1],
              ],
            }),
          },
        ],
        /rows/,
      ],
      [
        "a dim other than the target's",
        () => [
          '/score',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ img: [[1, 0]], txt: [[0, 1]] }),
          },
        ],
        /dim 2 .*768/,
      ],
      ['raw values without rows in the query', () => ['/score?dim=768&dtype=float32', rawBody(small.f32)], /rows/],
      ['raw values with a bad dtype', () => ['/score?rows=4&dim=768&dtype=int8', rawBody(small.f32)], /dtype/],
      ['raw values of the wrong length', () => ['/score?rows=5&dim=768&dtype=float32', rawBody(small.f32)], /bytes/],
      [
        'a NaN in raw float32',
        () => {
          const img = new Float32Array(small.f32.img.data as Float32Array);
          img[768 * 2 + 5] = NaN;
          return [
            '/score' + rawQuery(small.f32),
            rawBody({ img: { ...small.f32.img, data: img }, txt: small.f32.txt }),
          ];
        },
        /img row 2 .*NaN/,
      ],
      [
        'an infinity in raw float16',
        () => {
          const txt = new Uint16Array(small.f16.txt.data as Uint16Array);
          txt[768 * 3] = 0x7c00;
          return [
            '/score' + rawQuery(small.f16),
            rawBody({ img: small.f16.img, txt: { ...small.f16.txt, data: txt } }),
          ];
        },
        /txt row 3/,
      ],
      [
        '.npy bytes without the magic',
        () => [
          '/score',
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-npy' },
            body: new TextEncoder().encode('not an npy file at all, no'),
          },
        ],
        /magic/,
      ],
      [
        'a truncated second .npy',
        () => {
          const whole = npyPairBody(small.f16).body as Uint8Array<ArrayBuffer>;
          return [
            '/score',
            {
              method: 'POST',
              headers: { 'content-type': 'application/x-npy' },
              body: whole.subarray(0, whole.length - 100),
            },
          ];
        },
        /truncated/,
      ],
      [
        'only one .npy',
        () => [
          '/score',
          { method: 'POST', headers: { 'content-type': 'application/x-npy' }, body: npyOf(small.f16.img) },
        ],
        /one \.npy/,
      ],
      [
        'multipart without a txt part',
        () => {
          const form = new FormData();
          form.set('img', new Blob([npyOf(small.f16.img)]), 'img.npy');
          return ['/score', { method: 'POST', body: form }];
        },
        /'txt'/,
      ],
    ];
    for (const [what, request, reason] of cases) {
      it(what, async () => {
        const [path, init] = request();
        expect(await expectError(await post(path, init), 400)).toMatch(reason);
      });
    }
  });

  describe('405 for other methods', () => {
    for (const [method, path, allow] of [
      ['GET', '/score', 'POST'],
      ['PUT', '/score', 'POST'],
      ['DELETE', '/health', 'GET, HEAD'],
      ['POST', '/health', 'GET, HEAD'],
    ] as const) {
      it(`${method} ${path}`, async () => {
        const response = await fetch(at(path), { method, ...(method === 'GET' ? {} : { body: '' }) });
        await expectError(response, 405);
        expect(response.headers.get('allow')).toBe(allow);
      });
    }
  });

  it('404 for an unknown path, in the same JSON shape', async () => {
    await expectError(await fetch(at('/nope')), 404);
  });

  it('still scores correctly after all the bad requests', async () => {
    const response = await post('/score' + rawQuery(f16), rawBody(f16));
    const got = await responseScores(response);
    const want = await reference.scores(f16);
    for (const column of SCORE_COLUMNS) expect(bits(got[column]), column).toEqual(bits(want[column]));
  });
});
