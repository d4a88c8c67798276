// The worker pool on its own, over fixture kernels (fixtures/kernels.ts) rather than the engine's:
// correctness of the task hand-out, failures inside kernels, workers that die, close(), and calls
// issued at once. Runs against the build in dist/ (npm test builds first), the way users get it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../dist/lib/engine/pool.js';
import { loadKernels } from '../../dist/lib/engine/load.js';
import type { Executor, Task } from '../../dist/lib/engine/executor.js';
import { sharedFixtureBytes, sharedFixturePath } from './fixtures/build.js';

const DYING_WORKER = new URL('./fixtures/dying-worker.js', import.meta.url);
const PAGE = 65536;
/** Where the tests put their arrays: well above the fixture's static data. */
const BASE = PAGE;

let module: WebAssembly.Module;
let minimumPages = 1;
const open: Executor[] = [];

beforeAll(async () => {
  const loaded = await loadKernels(sharedFixtureBytes());
  expect(loaded.importsMemory).toBe(true);
  module = loaded.module;
  minimumPages = Math.max(1, loaded.minimumPages);
}, 120_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((pool) => pool.close()));
});

async function pool(threads: number, workerUrl?: URL, pages = 64): Promise<Executor> {
  const memory = new WebAssembly.Memory({ initial: Math.max(pages, minimumPages), maximum: 65536, shared: true });
  const executor = await createPool({ module, memory, threads, workerUrl });
  open.push(executor);
  return executor;
}

/** fill(i) as the kernel computes it, in float32 arithmetic. */
function expectedFill(i: number, scale: number): number {
  return Math.fround(Math.fround(Math.fround(i) * Math.fround(scale)) + 0.5);
}

function fillTasks(pointer: number, count: number, per: number, scale: number): Task[] {
  const tasks: Task[] = [];
  for (let start = 0; start < count; start += per)
    tasks.push({ fn: 'fill', args: [pointer, start, Math.min(count, start + per), scale] });
  return tasks;
}

function floats(executor: Executor, pointer: number, count: number): Float32Array {
  return new Float32Array(executor.memory.buffer, pointer, count).slice();
}

/** Bitwise equality of two float arrays, reporting the first difference (toEqual is slow on big arrays). */
function expectSameBits(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const first = a.findIndex((bits, i) => bits !== b[i]);
  expect(first === -1 ? 'identical' : `differ at ${first}: ${actual[first]} vs ${expected[first]}`).toBe('identical');
}

function filled(count: number, scale: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => expectedFill(i, scale));
}

describe('worker pool', { timeout: 60_000 }, () => {
  it('runs every task once, whatever the thread count, with the same bytes as the calling thread', async () => {
    const count = 200_003;
    const reference = filled(count, 3.25);
    for (const threads of [1, 2, 3, 4]) {
      const executor = await pool(threads);
      expect(executor.threads).toBe(threads);
      await executor.run(fillTasks(BASE, count, 997, 3.25));
      expectSameBits(floats(executor, BASE, count), reference);
      // The main-thread instance works on the same memory.
      executor.kernels.fill(BASE, 0, 10, 1);
      expectSameBits(floats(executor, BASE, 10), filled(10, 1));
    }
  });

  it('sees memory the host grew after the workers started', async () => {
    const executor = await pool(2, undefined, 1);
    const pointer = executor.memory.buffer.byteLength;
    executor.memory.grow(32);
    const count = (32 * PAGE) / 4;
    await executor.run(fillTasks(pointer, count, 4096, 0.5));
    expectSameBits(floats(executor, pointer, count), filled(count, 0.5));
  });

  it('resolves an empty task list at once', async () => {
    const executor = await pool(2);
    await expect(executor.run([])).resolves.toBeUndefined();
  });

  it('rejects with the message of a trap inside a worker, and keeps working', async () => {
    const executor = await pool(2);
    const tasks = [
      ...fillTasks(BASE, 10_000, 100, 1),
      { fn: 'trapOn', args: [0xdead] },
      ...fillTasks(BASE, 10_000, 100, 1),
    ];
    await expect(executor.run(tasks)).rejects.toThrow(/trapOn.*unreachable/);
    await executor.run(fillTasks(BASE, 1000, 10, 2));
    expectSameBits(floats(executor, BASE, 1000), filled(1000, 2));
  });

  it("rejects with an AssemblyScript abort's own message", async () => {
    const executor = await pool(2);
    await expect(executor.run([{ fn: 'abortOn', args: [0xbeef] }])).rejects.toThrow(/injected fault/);
    await expect(executor.run([{ fn: 'abortOn', args: [7] }])).resolves.toBeUndefined();
  });

  it('rejects a task naming no kernel', async () => {
    const executor = await pool(2);
    await expect(executor.run([{ fn: 'noSuchKernel', args: [] }])).rejects.toThrow(/no kernel named noSuchKernel/);
  });

  it('rejects, never hangs, when a worker dies mid-call, then replaces it', async () => {
    const executor = await pool(2, DYING_WORKER);
    const slow = (n: number): Task[] =>
      Array.from({ length: n }, (_, t) => ({
        fn: 'accumulate',
        args: [BASE, BASE + 4 * PAGE, t * 1000, t * 1000 + 1000, 200],
      }));
    await expect(executor.run([...slow(8), { fn: 'exitThread', args: [] }, ...slow(8)])).rejects.toThrow(
      /died while running exitThread.*code 3/,
    );
    // Every thread dies, one call after the other: each call still settles.
    await expect(
      executor.run([
        { fn: 'exitThread', args: [] },
        { fn: 'exitThread', args: [] },
      ]),
    ).rejects.toThrow(/died/);
    // The next call gets fresh workers and right results.
    await executor.run(fillTasks(BASE, 50_000, 500, 1.5));
    expectSameBits(floats(executor, BASE, 50_000), filled(50_000, 1.5));
  });

  it('refuses to restart a dead worker once the kernels have written to their static data', async () => {
    const executor = await pool(2, DYING_WORKER);
    executor.kernels.writeStatic!(8);
    await expect(executor.run([{ fn: 'exitThread', args: [] }])).rejects.toThrow(/died/);
    // Re-instantiating would write the data segment (7, 7, 7, 7) back over the 8 in the live memory.
    await expect(executor.run(fillTasks(BASE, 100, 10, 1))).rejects.toThrow(
      /kernels wrote to their static data .*must keep no mutable static data/,
    );
  });

  it('rejects a pending call when the pool is closed under it, and every call after', async () => {
    const executor = await pool(2);
    const long = Array.from({ length: 64 }, (_, t) => ({
      fn: 'accumulate',
      args: [BASE, BASE + 4 * PAGE, 0, 4096, 2000 + t],
    }));
    const pending = executor.run(long);
    const queued = executor.run(fillTasks(BASE, 100, 10, 1));
    await executor.close();
    await expect(pending).rejects.toThrow(/closed/);
    await expect(queued).rejects.toThrow(/closed/);
    await expect(executor.run(fillTasks(BASE, 100, 10, 1))).rejects.toThrow(/closed/);
  });

  it('fails to start, without hanging, when the worker script cannot be loaded', async () => {
    await expect(pool(2, new URL('./fixtures/no-such-worker.js', import.meta.url))).rejects.toThrow(/failed to start/);
  });

  it('fails to start, without hanging, when the runtime refuses the worker script outright', async () => {
    // worker_threads throws synchronously on a bare relative path.
    const memory = new WebAssembly.Memory({ initial: minimumPages, maximum: 65536, shared: true });
    await expect(createPool({ module, memory, threads: 2, workerUrl: 'not-a-path.js' })).rejects.toThrow(
      /failed to start/,
    );
  });

  it('queues calls issued at once: none sees the tasks of another', async () => {
    const executor = await pool(3);
    const count = 300_000;
    // Both calls write the same range. Interleaved, the first one's result would be a mix.
    const first = executor.run(fillTasks(BASE, count, 1000, 1));
    const second = executor.run(fillTasks(BASE, count, 1000, 2));
    const seenByFirst = await first.then(() => floats(executor, BASE, count));
    await second;
    expectSameBits(seenByFirst, filled(count, 1));
    expectSameBits(floats(executor, BASE, count), filled(count, 2));
  });

  it('queues read-modify-write calls issued at once: no update is lost', async () => {
    const executor = await pool(4);
    const count = 64_000;
    const into = BASE;
    const from = BASE + 4 * PAGE;
    new Float32Array(executor.memory.buffer, into, count).fill(0);
    new Float32Array(executor.memory.buffer, from, count).fill(1);
    const add = () =>
      executor.run(
        Array.from({ length: 64 }, (_, t) => ({ fn: 'accumulate', args: [into, from, t * 1000, t * 1000 + 1000, 5] })),
      );
    await Promise.all([add(), add(), add(), add()]);
    expect(floats(executor, into, count).every((value) => value === 20)).toBe(true);
  });

  it('fails the same way through the Web Worker adapter (Deno): trap, crash, close under a call', () => {
    const deno = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
    const script = fileURLToPath(new URL('./fixtures/deno-faults.js', import.meta.url));
    const result = spawnSync(deno, ['run', '-A', script, sharedFixturePath()], { encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.trap).toMatch(/rejected: .*trapOn.*unreachable/);
    expect(report.crash).toMatch(/rejected: .*died while running crashThread.*injected crash/);
    expect(report.afterCrash).toBe('resolved');
    expect(report.afterCrashValuesRight).toBe(true);
    expect(report.closedUnderCall).toMatch(/rejected: .*closed/);
    expect(report.afterClose).toMatch(/rejected: .*closed/);
  });
});
