/**
 * Issue 6 item 5, bounded so it runs in npm test: 20 concurrent clients × 50 requests against workerd
 * on 127.0.0.1, every answer checked bit for bit against the Node engine, while other clients abort
 * uploads half-way and leave bodies stalled. None of that may wedge the worker: the load finishes,
 * and /health and a fresh score still answer while the stalled uploads are still open.
 * (bench/edge-load.js is the same load at 256 rows × 768 with a requests/s figure.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'node:http';
import {
  bits,
  rawBody,
  rawQuery,
  Reference,
  responseScores,
  samplePairs,
  SCORE_COLUMNS,
  type Pair,
  type Scores,
} from './payloads.js';
import { postBytes, rawRequest } from './raw-http.js';
import { startWorkerd, type RunningEdge } from './runtimes.js';

const CLIENTS = 20;
const REQUESTS_PER_CLIENT = 50;
const STALLED_UPLOADS = 8;
const ABORTED_UPLOADS = 20;

let edge: RunningEdge;
let reference: Reference;
const payloads: { pair: Pair; want: Scores }[] = [];

beforeAll(async () => {
  [edge, reference] = await Promise.all([
    startWorkerd({ maxBodyBytes: 8 * 1024 * 1024, maxJsonBytes: 1024 * 1024, maxRows: 1024 }),
    Reference.open(),
  ]);
  // A handful of distinct batches (sizes 1 to 48) so a mixed-up response cannot pass for another.
  for (const [i, rows] of [1, 7, 16, 33, 48].entries()) {
    const { f16, f32 } = samplePairs(rows, 100 + i);
    for (const pair of [f16, f32]) payloads.push({ pair, want: await reference.scores(pair) });
  }
});
afterAll(async () => {
  await edge?.stop();
  await reference?.close();
});

/** Starts an upload that sends half its body and then stops sending (held until released). */
function stallUpload(pair: Pair) {
  const body = rawBody(pair).body as Uint8Array;
  const path = '/score' + rawQuery(pair);
  return rawRequest(
    edge.url,
    `POST ${path} HTTP/1.1\nHost: ${edge.url.host}\nContent-Type: application/octet-stream\nContent-Length: ${body.length}\n`,
    body.subarray(0, body.length >> 1),
  );
}

/** Streams part of a body, then aborts the request from the client side. */
async function abortedUpload(pair: Pair): Promise<void> {
  const body = rawBody(pair).body as Uint8Array;
  const controller = new AbortController();
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (!sent) {
        sent = true;
        c.enqueue(body.subarray(0, body.length >> 1));
        // Abort once the first half is on its way; the second half never comes.
        setImmediate(() => controller.abort());
      }
    },
  });
  await fetch(new URL('/score' + rawQuery(pair), edge.url), {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: stream,
    signal: controller.signal,
    duplex: 'half',
  } as RequestInit).then(
    (response) => response.body?.cancel(),
    () => undefined,
  );
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = bits(a);
  const y = bits(b);
  return x.length === y.length && x.every((word, i) => word === y[i]);
}

describe('edge function under load in workerd', () => {
  it(`answers ${CLIENTS} clients × ${REQUESTS_PER_CLIENT} requests correctly while uploads stall and abort`, async () => {
    const stalled = Array.from({ length: STALLED_UPLOADS }, (_, i) =>
      stallUpload(payloads[(i * 3) % payloads.length]!.pair),
    );
    const aborted = Promise.all(
      Array.from({ length: ABORTED_UPLOADS }, (_, i) => abortedUpload(payloads[i % payloads.length]!.pair)),
    );

    let wrong = 0;
    let answered = 0;
    const retried = { count: 0 };
    const agent = new Agent({ keepAlive: true });
    const client = async (id: number) => {
      for (let n = 0; n < REQUESTS_PER_CLIENT; n++) {
        const { pair, want } = payloads[(id * 7 + n) % payloads.length]!;
        const body = rawBody(pair).body as Uint8Array;
        const response = await postBytes(
          new URL('/score' + rawQuery(pair), edge.url),
          body,
          { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' },
          agent,
          retried,
        );
        if (response.status !== 200) {
          wrong++;
          continue;
        }
        const got = await responseScores(
          new Response(new Uint8Array(response.body), { headers: response.headers as Record<string, string> }),
        );
        answered++;
        if (SCORE_COLUMNS.some((column) => !sameBits(got[column], want[column]))) wrong++;
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
    await aborted;
    agent.destroy();
    // A retried request is one whose idle keep-alive connection the server had just closed; it must stay rare.
    expect(retried.count).toBeLessThan(CLIENTS);

    expect(wrong).toBe(0);
    expect(answered).toBe(CLIENTS * REQUESTS_PER_CLIENT);

    // The stalled uploads are still open, and the worker still serves everyone else.
    const health = await fetch(new URL('/health', edge.url));
    expect(health.status).toBe(200);
    const { pair, want } = payloads[3]!;
    const got = await responseScores(await fetch(new URL('/score' + rawQuery(pair), edge.url), rawBody(pair)));
    for (const column of SCORE_COLUMNS) expect(bits(got[column])).toEqual(bits(want[column]));
    for (const upload of stalled) upload.destroy();
    await Promise.all(stalled.map((upload) => upload.response));
  });
});
