/**
 * Running the edge function locally, as a user would, from a directory that is not the package:
 * `clipsift serve-edge` (workerd through miniflare, bound to 127.0.0.1) answers /health and /score
 * with the Node engine's scores bit for bit; the Deno entry reads its files relative to itself and,
 * when it cannot read them, fails at start-up naming the file instead of answering 500 to everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { rawBody, rawQuery, Reference, responseScores, SCORE_COLUMNS, samplePairs } from './payloads.js';
import { EDGE_DIR } from './runtimes.js';

const BIN = fileURLToPath(new URL('../../bin/clipsift.js', import.meta.url));
const DENO = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
const elsewhere = mkdtempSync(join(tmpdir(), 'clipsift-elsewhere-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  await Promise.all(children.map(stop));
});

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Starts `command` in `cwd`; resolves with the first URL it prints, or its exit code and output if it ends first. */
function start(
  command: string,
  args: string[],
  pattern: RegExp,
): Promise<{ child: ChildProcess; url?: URL; code?: number | null; output: string }> {
  const child = spawn(command, args, {
    cwd: elsewhere,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  children.push(child);
  let output = '';
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ child, output: `${output}\n(no answer within 60 s)` }), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: new URL(match[1]!), output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ child, code, output });
    });
  });
}

describe('clipsift serve-edge', () => {
  it('runs the edge function in workerd on 127.0.0.1 from any directory, scoring as the Node engine does', async () => {
    const { child, url, output } = await start(
      process.execPath,
      [BIN, 'serve-edge', '--port', '0'],
      /clipsift edge: (http:\/\/127\.0\.0\.1:\d+\/)/,
    );
    expect(url, output).toBeDefined();
    const health = await fetch(new URL('/health', url));
    expect(health.status).toBe(200);
    expect(((await health.json()) as { variant: string }).variant).toBe('baseline');

    const { f32 } = samplePairs(24, 5);
    const response = await fetch(new URL('/score' + rawQuery(f32), url), rawBody(f32));
    expect(response.status, await response.clone().text()).toBe(200);
    const got = await responseScores(response);
    const reference = await Reference.open();
    try {
      const want = await reference.scores(f32);
      for (const column of SCORE_COLUMNS) {
        expect(new Uint32Array(got[column].buffer), column).toEqual(new Uint32Array(want[column].buffer));
      }
    } finally {
      await reference.close();
    }
    // Ctrl-C / SIGTERM stops it (miniflare's exit hook ends the process with 128 + 15) and workerd with it.
    await stop(child);
    expect([0, 143]).toContain(child.exitCode);
    await expect(fetch(new URL('/health', url))).rejects.toThrow();
  }, 120_000);

  it('says so in one line, exit 1, when the bundle is not built there', async () => {
    const { code, output } = await start(process.execPath, [BIN, 'serve-edge', '--dir', elsewhere], /(http:\/\/\S+)/);
    expect(code).toBe(1);
    expect(output).toBe(
      `clipsift serve-edge: ${elsewhere}: has no handler.js: build the edge bundle first (npm run build)\n`,
    );
  });
});

describe('Deno entry started from another directory', () => {
  it('fails at start-up, naming the file and the permission, when it cannot read its files', async () => {
    // The README's relative --allow-read=dist/edge, started outside the package: nothing readable.
    const { url, code, output } = await start(
      DENO,
      ['serve', '--host', '127.0.0.1', '--port', '0', '--allow-read=dist/edge', `${EDGE_DIR}deno.js`],
      /Listening on (http:\/\/127\.0\.0\.1:\d+\/)/,
    );
    expect(url, 'it must not listen').toBeUndefined();
    expect(code).not.toBe(0);
    expect(output).toContain(`clipsift edge: cannot read ${EDGE_DIR}clipsift.baseline.wasm`);
    expect(output).toContain(`start with --allow-read=${EDGE_DIR}`);
  }, 120_000);

  it('serves from its own directory with an absolute --allow-read', async () => {
    const { child, url, output } = await start(
      DENO,
      ['serve', '--host', '127.0.0.1', '--port', '0', `--allow-read=${EDGE_DIR}`, `${EDGE_DIR}deno.js`],
      /Listening on (http:\/\/127\.0\.0\.1:\d+\/)/,
    );
    expect(url, output).toBeDefined();
    expect((await fetch(new URL('/health', url))).status).toBe(200);
    await stop(child);
  }, 120_000);
});
