/**
 * `clipsift serve-demo` as a browser sees it: isolation headers on every response (they are what
 * unlocks threads), the right MIME types (wasm must be application/wasm for streaming compilation,
 * module scripts must be JavaScript), and nothing outside dist/web.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { startServeDemo, type RunningDemo } from './serve.js';

let demo: RunningDemo;
beforeAll(async () => {
  demo = await startServeDemo();
});
afterAll(async () => {
  await demo?.stop();
});

/** A GET with the path sent exactly as written (fetch would normalise away the dot segments). */
function rawGet(path: string): Promise<number> {
  const url = new URL(demo.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('clipsift serve-demo', () => {
  it.each([
    ['', 'text/html'],
    ['assets/app.js', 'text/javascript'],
    ['assets/score-worker.js', 'text/javascript'],
    ['assets/engine-worker.js', 'text/javascript'],
    ['app.css', 'text/css'],
    ['wasm/clipsift.baseline.wasm', 'application/wasm'],
    ['wasm/clipsift.relaxed.shared.wasm', 'application/wasm'],
  ])('serves /%s as %s with the cross-origin isolation headers', async (path, type) => {
    const response = await fetch(demo.url + path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(new RegExp(`^${type}`));
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    await response.arrayBuffer();
  });

  it('answers 404 for missing files and for paths that climb out of dist/web', async () => {
    expect((await fetch(demo.url + 'nope.js')).status).toBe(404);
    expect(await rawGet('/../../package.json')).toBe(404);
    expect(await rawGet('/%2e%2e/%2e%2e/package.json')).toBe(404);
    expect(await rawGet('/assets')).toBe(404);
  });

  it('answers 405 to anything but GET and HEAD', async () => {
    const response = await fetch(demo.url, { method: 'POST', body: 'x' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(demo.url, { method: 'HEAD' })).status).toBe(200);
  });
});
