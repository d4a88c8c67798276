/**
 * `deno serve dist/edge/deno.js` started from a terminal without --allow-env: the edge app must never
 * ask for env access (Deno would stop at the first request to prompt on that terminal and answer nothing
 * until someone typed y or n). It answers with the default limits instead. The terminal is a real
 * pseudo-terminal (test/cli/pty-run.py); the server is stopped, and looked for afterwards, in teardown.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MARKER, processesWithMarker } from '../global-setup.js';
import { DENO, denoListening, denoServeArgs } from './runtimes.js';

const PTY = fileURLToPath(new URL('../cli/pty-run.py', import.meta.url));
// The suite's run marker (test/global-setup.ts), extended as a nested run's is: the teardown there still
// sees the server, and this file finds its own by it.
const RUN = `${process.env[MARKER]}.deno-prompt-${process.pid}`;
const mine = () => processesWithMarker(RUN).map(({ pid }) => pid);

let terminal: ChildProcess | undefined;

afterEach(async () => {
  // SIGKILL on the terminal closes it; the server, its session's leader, gets SIGHUP. Anything left is killed.
  terminal?.kill('SIGKILL');
  for (let i = 0; i < 50 && mine().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  const left = mine();
  for (const pid of left) process.kill(pid, 'SIGKILL');
  expect(left, 'deno server left running').toEqual([]);
});

describe('deno serve from a terminal without --allow-env', () => {
  it('answers its first request with the default limits, without prompting', async () => {
    terminal = spawn('python3', [PTY, '120', DENO, ...denoServeArgs()], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // MAX_ROWS is set but not allowed to be read: the limit stays the default.
      env: { ...process.env, NO_COLOR: '1', MAX_ROWS: '7', [MARKER]: RUN },
    });
    const server = denoListening(terminal);
    const url = await server.url;
    const response = await fetch(new URL('health', url), { signal: AbortSignal.timeout(20_000) });
    expect(response.status).toBe(200);
    const health = (await response.json()) as { limits: { maxRows: number } };
    expect(health.limits.maxRows).toBe(4096);
    expect(server.output()).not.toMatch(/Deno requests/);
  });
});
