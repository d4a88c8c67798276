/**
 * Every --queue command against a Redis it cannot reach: a 127.0.0.1 port nobody listens on, and a
 * listener of the test's own that accepts connections and never answers. Each command ends by itself
 * within a bounded time with exit 1 and one line on stderr naming the Redis URL, instead of waiting for
 * ever; the test's listener is closed in teardown and no child is left running.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeDataCompDir, tempDir, writeTarget } from '../cli/helpers.js';
import { makeUids, writeScoreFile } from '../select/cli-fixtures.js';
import { type Child, clipsift, freePort, killAll } from './cluster-helpers.js';

/** A TCP listener on 127.0.0.1 that accepts every connection and never writes a byte. */
async function silentListener(): Promise<{ port: number; accepted: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await killAll();
  for (const close of closers.splice(0)) await close();
});

/** Inputs every command accepts, so each of them gets as far as the queue. */
function inputs() {
  const { dir } = makeDataCompDir([{ name: 'shard-00', rows: 40, seed: 3 }]);
  const target = join(tempDir(), 'target.npy');
  writeTarget(target, 8, 768, 5);
  const scores = tempDir();
  const uids = makeUids(50, 7);
  writeScoreFile(join(scores, '00000000.scores.parquet'), uids, {
    negclip_loss: Float32Array.from(uids, (_, k) => k / 50),
  });
  return { dir, target, scores };
}

function commands(url: string): Record<string, string[]> {
  const { dir, target, scores } = inputs();
  const out = (name: string) => join(tempDir(), name);
  const steps = ['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'];
  return {
    score: ['score', dir, '--out', out('scored'), '--queue', url],
    'score --detach': ['score', dir, '--out', out('detached'), '--queue', url, '--detach'],
    select: ['select', scores, '--top', 'negclip_loss:0.3', '--queue', url, '--out', join(out('s'), 's.npy')],
    run: ['run', dir, '--out', out('run'), '--target', target, ...steps, '--queue', url],
    worker: ['worker', '--queue', url],
    status: ['status', '--queue', url],
  };
}

/** Waits for a child to end, at most `ms`; a child still running then is killed and reported as such. */
async function endsWithin(child: Child, ms: number): Promise<{ code: number | 'still running'; seconds: number }> {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const code = await Promise.race([
    child.exited,
    new Promise<'still running'>((resolve) => {
      timer = setTimeout(() => resolve('still running'), ms);
    }),
  ]);
  clearTimeout(timer);
  return { code, seconds: (Date.now() - started) / 1000 };
}

async function expectEachGivesUp(port: number): Promise<void> {
  const url = `redis://127.0.0.1:${port}`;
  const runs = Object.entries(commands(url)).map(([name, args]) => ({ name, child: clipsift(args) }));
  for (const { name, child } of runs) {
    // 5 s for the first connection, plus Node's start-up and module loading on a busy machine.
    const { code } = await endsWithin(child, 45_000);
    expect(code, `${name}: ${child.stderr()}`).toBe(1);
    const command = name.split(' ')[0];
    const lines = child.stderr().trimEnd().split('\n');
    expect(lines, name).toHaveLength(1);
    expect(lines[0], name).toMatch(
      new RegExp(`^clipsift ${command}: cannot reach redis://127\\.0\\.0\\.1:${port}/0: `),
    );
    expect(child.stdout(), name).toBe('');
  }
}

describe('--queue commands against a Redis they cannot reach', { timeout: 120_000 }, () => {
  it('a port nobody listens on: each command exits 1 with one line naming the URL', async () => {
    const port = await freePort();
    await expectEachGivesUp(port);
  });

  it('a listener that accepts and never answers: each command exits 1 with one line naming the URL', async () => {
    const listener = await silentListener();
    closers.push(listener.close);
    await expectEachGivesUp(listener.port);
    // They did connect: the silence, not a refusal, is what they gave up on.
    expect(listener.accepted()).toBeGreaterThanOrEqual(6);
  });
});
