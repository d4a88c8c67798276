/**
 * Helpers for the cluster tests: a redis-server of the test's own on a free 127.0.0.1 port, clipsift
 * worker and submitter child processes, and teardown that leaves no process behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import { BIN, ROOT } from '../cli/helpers.js';

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port (bounded: rejects after `ms`). */
async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A child process with its output collected. */
export interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves to the exit code (128 + n for a signal). */
  exited: Promise<number>;
}

const children = new Set<ChildProcess>();

function track(child: ChildProcess): Child {
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGTERM' ? 143 : 128));
    });
  });
  return { process: child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs the built CLI as a child process (`nodeFlags` go to Node, e.g. --experimental-wasm-relaxed-simd). */
export function clipsift(args: string[], nodeFlags: string[] = []): Child {
  return track(spawn(process.execPath, [...nodeFlags, BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A redis-server owned by a test. */
export class TestRedis {
  private child: Child | undefined;
  constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly aof: boolean,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(dir: string, aof = false): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), dir, aof);
    await redis.startAgain();
    return redis;
  }

  /** (Re)starts the server on the same port and directory (with AOF it reloads what it had). */
  async startAgain(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir];
    args.push(...(this.aof ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    this.child = track(spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    await waitForPort(this.port);
  }

  /** SIGKILL: no shutdown save, as a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    child.process.kill('SIGKILL');
    await child.exited;
  }
}

/** Kills every child process still running (workers, submitters, redis-servers) and waits for them. */
export async function killAll(): Promise<void> {
  const waiting = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('close', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waiting);
}

/** Waits until `predicate` holds, polling every 50 ms; fails after `ms`. */
export async function waitFor(what: string, predicate: () => boolean, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The score files in a directory, by name, with their bytes (temporaries of killed writers are not score files). */
export function scoreFiles(dir: string): Map<string, Buffer> {
  const names = readdirSync(dir)
    .filter((name) => name.endsWith('.scores.parquet') && !name.startsWith('.'))
    .sort();
  return new Map(names.map((name) => [name, readFileSync(join(dir, name))]));
}

/** `got`'s score files are `expected`'s: the same names, byte for byte. */
export function expectSameScoreFiles(got: string, expected: string): void {
  const a = scoreFiles(got);
  const b = scoreFiles(expected);
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, bytes] of b) expect(a.get(name)!.equals(bytes), `${name} differs from the local run`).toBe(true);
}
