/**
 * The edge function under abuse, in workerd (miniflare) on 127.0.0.1 with its default limits:
 * oversized uploads always get their 413 (never a reset connection), and a finite row so long its scores
 * would overflow float32 gets a 400 naming it, never 200 with null scores.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerd, type RunningEdge } from './runtimes.js';

// The defaults of src/edge/app.ts: 32 MiB body, 8 MiB JSON.
const LIMITS = { maxBodyBytes: 32 * 1024 * 1024, maxJsonBytes: 8 * 1024 * 1024, maxRows: 4096 };
const TRIES = 8;
let edge: RunningEdge;

beforeAll(async () => {
  edge = await startWorkerd(LIMITS);
});
afterAll(async () => {
  await edge?.stop();
});

/** POSTs the whole body on a fresh connection; resolves the status and body, or the client-side error code. */
function post(url: URL, body: Uint8Array, type: string): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': type, 'content-length': String(body.length), connection: 'close' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(body);
  });
}

describe('edge function under workerd: oversized uploads', () => {
  it(`answers 413 to every one of ${TRIES} 9 MiB JSON bodies and ${TRIES} 33 MiB raw bodies`, async () => {
    // A JSON body that is valid up to its size: a long array of numbers.
    const row = '0.0123456789,';
    const json = new TextEncoder().encode(`{"img":[[${row.repeat(Math.ceil((9 << 20) / row.length))}0]],"txt":[]}`);
    const raw = new Uint8Array(33 << 20);
    const outcomes: string[] = [];
    for (const [label, body, type] of [
      ['json', json, 'application/json'],
      ['raw', raw, 'application/octet-stream'],
    ] as const) {
      for (let i = 0; i < TRIES; i++) {
        const url = new URL(label === 'raw' ? '/score?rows=1024&dim=8192&dtype=float32' : '/score', edge.url);
        const result = await post(url, body, type);
        outcomes.push(`${label}#${i}: ${result.status ?? result.error}`);
        if (result.status === 413) expect(JSON.parse(result.body!).error).toMatch(/larger than the limit of \d+ bytes/);
      }
    }
    expect(outcomes).toEqual([
      ...Array.from({ length: TRIES }, (_, i) => `json#${i}: 413`),
      ...Array.from({ length: TRIES }, (_, i) => `raw#${i}: 413`),
    ]);
  });
});

describe('edge function under workerd: scores that would not be finite', () => {
  it('answers 400 naming the row of norm ~3e38, not 200 with null scores', async () => {
    const unit = (k: number): number[] => Array.from({ length: 768 }, (_, j) => (j === k ? 1 : 0));
    const img = [unit(0), unit(1), unit(2)];
    img[1] = unit(1).map((v) => v * 3e38);
    const txt = [unit(0), unit(1), unit(2)];
    const response = await fetch(new URL('/score', edge.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ img, txt }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(400);
    expect(JSON.parse(text).error).toMatch(/^img row 1 has norm 3\.00e\+38, beyond .*would not be finite/);
  });
});
