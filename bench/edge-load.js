// Load benchmark for the edge function in workerd (issue 6 item 5; issue 5's requests/s figure).
//
//   npm run build && node bench/edge-load.js [--clients 20] [--requests 50] [--rows 256] [--dtype float16|float32]
//
// Starts dist/edge/handler.js in workerd through miniflare on 127.0.0.1, then runs `clients`
// concurrent clients × `requests` POST /score each (raw little-endian rows, dim 768, batch = `rows`),
// checking every answer bit for bit against the engine in Node. Meanwhile 8 uploads stall half-way
// (held open to the end) and 20 are aborted by their clients; neither may wedge the worker.
// Prints requests/s and latency percentiles. A benchmark, not a test: nothing here asserts a speed.
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { createEngine } from 'clipsift';
import { openNpy } from '../dist/lib/io/npy.js';
import { bytesSource } from '../dist/lib/io/source.js';
import { generateSamplePool } from '../dist/lib/sample/pool.js';
import { fromFloat16Bits } from '../dist/lib/numeric/float16.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '20' },
    requests: { type: 'string', default: '50' },
    rows: { type: 'string', default: '256' },
    dtype: { type: 'string', default: 'float16' },
    'no-sabotage': { type: 'boolean', default: false },
  },
});
const SABOTAGE = !values['no-sabotage'];
const CLIENTS = Number(values.clients);
const REQUESTS = Number(values.requests);
const ROWS = Number(values.rows);
const DTYPE = values.dtype === 'float32' ? 'float32' : 'float16';
const DIM = 768;
const PAYLOADS = 4;
const COLUMNS = ['clip_score', 'negclip_loss', 'normsim_inf', 'normsim_2'];
const EDGE = fileURLToPath(new URL('../dist/edge/', import.meta.url));

// Payloads: distinct batches of the sample pool, and what the Node engine says about each.
const engine = await createEngine({ threads: 1, simd: 'baseline' });
const targetNpy = await openNpy(bytesSource('target.npy', new Uint8Array(readFileSync(`${EDGE}target.npy`))));
const targetRows = { data: await targetNpy.readRows(0, targetNpy.rows), rows: targetNpy.rows, dim: targetNpy.dim };
// NormSim_2 as the edge function prepares it: from G = TᵀT (bundled as target.gram.bin, same bits).
const gram = await engine.gramMatrix(targetRows);
const targets = {
  inf: await engine.prepareTarget(targetRows, { p: Infinity }),
  // As build-edge.js bundles it: G above dim rows, else the rows.
  two:
    targetRows.rows > targetRows.dim
      ? await engine.prepareTarget({ gram, dim: targetRows.dim, rows: targetRows.rows })
      : await engine.prepareTarget(targetRows, { p: 2 }),
};
const payloads = [];
for (let i = 0; i < PAYLOADS; i++) {
  const pool = generateSamplePool({ rows: ROWS, dim: DIM, seed: 1000 + i });
  const asDtype = (m) => (DTYPE === 'float16' ? m.data : Float32Array.from(m.data, fromFloat16Bits));
  const img = { data: asDtype(pool.image), rows: ROWS, dim: DIM };
  const txt = { data: asDtype(pool.text), rows: ROWS, dim: DIM };
  const want = [
    await engine.clipScore(img, txt),
    await engine.negClipLoss(img, txt, { batchSize: ROWS, temperature: 0.01, repeats: 1, seed: 0 }),
    await engine.normSim(img, targets.inf),
    await engine.normSim(img, targets.two),
  ];
  const body = new Uint8Array(img.data.byteLength * 2);
  body.set(new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength));
  body.set(new Uint8Array(txt.data.buffer, txt.data.byteOffset, txt.data.byteLength), img.data.byteLength);
  // Binary answers: one float32 column after another, compared as bytes.
  const wantBytes = Buffer.concat(
    want.map((column) => Buffer.from(column.buffer, column.byteOffset, column.byteLength)),
  );
  payloads.push({ body, wantBytes });
}
await engine.close();

const mf = new Miniflare({
  modules: true,
  scriptPath: `${EDGE}handler.js`,
  modulesRules: [
    { type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: false },
    { type: 'Data', include: ['**/*.npy', '**/*.bin'], fallthrough: false },
  ],
  compatibilityDate: '2026-04-01',
  host: '127.0.0.1',
  port: 0,
});
const base = await mf.ready;
const scoreUrl = new URL(`/score?rows=${ROWS}&dim=${DIM}&dtype=${DTYPE}`, base);
const post = (body, init = {}) =>
  fetch(scoreUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' },
    body,
    ...init,
  });

// The load's clients: node:http over keep-alive connections (lighter than fetch, which matters when
// client and server share two cores). A POST that meets ECONNRESET on a *reused* connection is sent
// again once, as Node's docs prescribe: the server closed that idle connection as the request left.
const agent = new Agent({ keepAlive: true });
let retries = 0;
function postKeepAlive(body, mayRetry = true) {
  return new Promise((resolve, reject) => {
    const headers = {
      'content-type': 'application/octet-stream',
      accept: 'application/octet-stream',
      'content-length': body.length,
    };
    const req = httpRequest(scoreUrl, { method: 'POST', agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode, columns: res.headers['x-clipsift-columns'], body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET') {
        retries++;
        resolve(postKeepAlive(body, false));
      } else reject(error);
    });
    req.end(body);
  });
}

// Warm-up: the first request instantiates the engine and prepares the target.
for (const { body } of payloads) await (await post(body)).arrayBuffer();

// Uploads that stall half-way: raw sockets that promise a full body and send half.
const stalled = (SABOTAGE ? payloads.concat(payloads) : []).map(({ body }) => {
  const socket = connect(Number(base.port), base.hostname);
  socket.on('error', () => undefined);
  socket.write(
    `POST ${scoreUrl.pathname}${scoreUrl.search} HTTP/1.1\r\nHost: ${base.host}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body.subarray(0, body.length >> 1));
  return socket;
});
// Uploads their clients abort half-way.
const aborted = Array.from({ length: SABOTAGE ? 20 : 0 }, async (_, i) => {
  const { body } = payloads[i % PAYLOADS];
  const controller = new AbortController();
  let sent = false;
  const stream = new ReadableStream({
    pull(c) {
      if (sent) return;
      sent = true;
      c.enqueue(body.subarray(0, body.length >> 1));
      setImmediate(() => controller.abort());
    },
  });
  await post(stream, { signal: controller.signal, duplex: 'half' }).then(
    (r) => r.body?.cancel(),
    () => undefined,
  );
});

let wrong = 0;
const failures = [];
const latencies = [];
const started = performance.now();
await Promise.all(
  Array.from({ length: CLIENTS }, async (_, client) => {
    for (let n = 0; n < REQUESTS; n++) {
      const { body, wantBytes } = payloads[(client + n) % PAYLOADS];
      const t0 = performance.now();
      try {
        const response = await postKeepAlive(body);
        latencies.push(performance.now() - t0);
        if (response.status !== 200 || response.columns !== COLUMNS.join(',') || !response.body.equals(wantBytes))
          wrong++;
      } catch (error) {
        failures.push(
          `client ${client} request ${n} after ${((performance.now() - started) / 1000).toFixed(1)} s: ${error.cause?.code ?? error.message}`,
        );
      }
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
await Promise.all(aborted);

const health = await fetch(new URL('/health', base));
const stillServing =
  health.status === 200 &&
  (await post(payloads[0].body)
    .then((r) => r.arrayBuffer())
    .then((b) => Buffer.from(b).equals(payloads[0].wantBytes)));
for (const socket of stalled) socket.destroy();
agent.destroy();
await mf.dispose();

latencies.sort((a, b) => a - b);
const pct = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
const total = CLIENTS * REQUESTS;
console.log(
  `edge function in workerd (miniflare), 127.0.0.1, batches of ${ROWS} × ${DIM} ${DTYPE} (body ${(payloads[0].body.length / 1048576).toFixed(2)} MiB)`,
);
console.log(
  `  ${CLIENTS} clients × ${REQUESTS} requests = ${total} in ${seconds.toFixed(2)} s: ${(total / seconds).toFixed(1)} requests/s, ${((total * ROWS) / seconds).toFixed(0)} pairs/s`,
);
console.log(`  latency ms: p50 ${pct(0.5)}  p90 ${pct(0.9)}  p99 ${pct(0.99)}  max ${latencies.at(-1).toFixed(1)}`);
console.log(
  `  wrong answers: ${wrong}; requests that failed: ${failures.length}${failures.length ? ` (${failures.slice(0, 3).join('; ')})` : ''}; resent after a keep-alive reset: ${retries}`,
);
console.log(
  `  ${SABOTAGE ? '8 stalled + 20 aborted uploads alongside' : 'no stalled or aborted uploads'}; still serving afterwards: ${stillServing}`,
);
process.exitCode = wrong === 0 && failures.length === 0 && stillServing ? 0 : 1;
