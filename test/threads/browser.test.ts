// The engine's threads in a Chromium page (the apt package, driven by playwright-core): the package's
// build served as plain ES modules, its default worker URL, a cross-origin isolated page running
// the pool, and a page without isolation falling back inline, both bitwise identical to Node.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from 'clipsift';
import { launchChromium, requireChromium } from '../web/browser.js';
import { digests, runWorkload } from './fixtures/workload.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

let server: Server | undefined;
let origin: string;
let browser: Browser;
let nodeDigests: Record<string, string>;

/**
 * Serves the repository's dist/ and test/threads/fixtures/; paths under /isolated/ get the COOP and
 * COEP headers that make a page cross-origin isolated, the rest do not.
 */
function serve(): Promise<Server> {
  const http = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const isolated = url.pathname.startsWith('/isolated/');
    const path = normalize(url.pathname.replace(/^\/isolated\//, '/')).replace(/^\/+/, '');
    const allowed = path.startsWith('dist/') || path.startsWith('test/threads/fixtures/') || path === 'page.html';
    const file = join(ROOT, path);
    if (isolated) {
      response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if (path === 'page.html') {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>clipsift threads</title>');
    } else if (allowed && existsSync(file)) {
      response
        .writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
        .end(readFileSync(file));
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => http.listen(0, '127.0.0.1', () => resolve(http)));
}

interface PageReport {
  info: Record<string, unknown>;
  digests: Record<string, string>;
  /** Names and errors of outputs outside the float64 reference's bounds (with `checkBounds`). */
  outOfBounds?: string[];
}

/** Loads a page under `prefix` and runs the thread tests' workload in it. */
async function workloadInPage(
  prefix: string,
  threads: number,
  simd = 'baseline',
  checkBounds = false,
): Promise<PageReport> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}${prefix}page.html`);
    // A string, not a function: vitest rewrites import() inside test code, and this runs in the page.
    const script = `(async () => {
      const { createEngine, mixSeed, permutation } = await import('${prefix}dist/lib/index.js');
      const workload = await import('${prefix}test/threads/fixtures/workload.js');
      const engine = await createEngine({ threads: ${threads}, simd: '${simd}' });
      try {
        const outputs = await workload.runWorkload(engine);
        const report = { info: engine.info(), digests: await workload.digests(outputs) };
        if (${checkBounds}) {
          const shuffle = (n, seed, repeat) => permutation(n, mixSeed(seed, repeat));
          report.outOfBounds = workload.outOfBounds(workload.referenceErrors(outputs, shuffle));
        }
        return report;
      } finally {
        await engine.close();
      }
    })()`;
    return (await page.evaluate(script)) as PageReport;
  } finally {
    await page.close();
  }
}

beforeAll(async () => {
  requireChromium(); // before the server starts: a missing browser fails at once, with one line
  browser = await launchChromium();
  server = await serve();
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const engine = await createEngine({ threads: 1, simd: 'baseline' });
  try {
    nodeDigests = await digests(await runWorkload(engine));
  } finally {
    await engine.close();
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  // Only a started server calls back from close(); `server?.close(resolve)` on none would wait forever.
  const started = server;
  if (started) await new Promise((resolve) => started.close(resolve));
});

describe('threads in Chromium', { timeout: 120_000 }, () => {
  it('runs the pool in a cross-origin isolated page, bitwise identical to Node', async () => {
    const run = await workloadInPage('/isolated/', 2);
    expect(run.info).toMatchObject({
      runtime: 'browser',
      threads: 2,
      shared: true,
      simd: 'baseline',
      crossOriginIsolated: true,
    });
    expect(run.digests).toEqual(nodeDigests);
  });

  it('falls back inline in a page without isolation, with the same results', async () => {
    const run = await workloadInPage('/', 2);
    expect(run.info).toMatchObject({ runtime: 'browser', threads: 1, shared: false, crossOriginIsolated: false });
    expect(run.digests).toEqual(nodeDigests);
  });

  it('runs relaxed SIMD threaded within the baseline error bounds', async () => {
    const run = await workloadInPage('/isolated/', 2, 'relaxed', true);
    expect(run.info).toMatchObject({ threads: 2, shared: true, simd: 'relaxed' });
    expect(run.outOfBounds).toEqual([]);
  });
});
