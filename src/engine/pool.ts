/**
 * The worker pool: N workers, each instantiating the same compiled shared-memory kernel module over
 * one shared WebAssembly.Memory, plus an instance in the calling thread for short serial steps.
 *
 * run() hands tasks out one at a time from a queue to whichever worker is free (tasks are coarse,
 * so a message per task costs little and keeps both cores busy when tasks differ in cost). Calls
 * are serialised: a call starts when the previous one has settled, so tasks of two calls never
 * interleave over the same memory. Every in-flight task ends in exactly one of done, failed or
 * died, which is what guarantees that no call is left pending.
 */
import type { Executor, KernelExports, Task } from './executor.js';
import { detectRuntime, type RuntimeName } from './features.js';
import { instantiateKernels } from './load.js';
import { startWorker, type WorkerThread } from './runtime.js';
import type { FromWorker, ToWorker } from './worker.js';

/**
 * The worker script next to this module in the build (dist/lib/engine/worker.js): where workers
 * start from when no `workerUrl` is given (runtime.ts creates them with the literal
 * `new URL('./worker.js', import.meta.url)` bundlers look for).
 */
export function defaultWorkerUrl(): URL {
  return new URL('./worker.js', import.meta.url);
}

/** What a pool is made of. */
export interface PoolOptions {
  /** The shared build of the kernels: it must import `env.memory`. */
  module: WebAssembly.Module;
  /** The shared memory every instance works on. */
  memory: WebAssembly.Memory;
  /** Number of worker threads (≥ 1). */
  threads: number;
  /** The worker script; by default the engine's own worker.js (see {@link defaultWorkerUrl}). */
  workerUrl?: URL | string | undefined;
  /** Runtime whose worker flavour to use; detected by default. */
  runtime?: RuntimeName;
}

/**
 * Starts a pool and waits until every worker has instantiated the kernels. Rejects (after stopping
 * the workers already started) when a worker script cannot be loaded or instantiation fails.
 */
export async function createPool(options: PoolOptions): Promise<Executor> {
  if (!Number.isInteger(options.threads) || options.threads < 1) {
    throw new RangeError(`clipsift: a pool needs a whole number of threads ≥ 1, got ${options.threads}`);
  }
  const { kernels } = await instantiateKernels(options.module, options.memory);
  const pool = new WorkerPool(
    options.module,
    options.memory,
    kernels,
    options.workerUrl,
    options.runtime ?? detectRuntime(),
    options.threads,
  );
  try {
    await Promise.all(Array.from({ length: options.threads }, (_, index) => pool.startSlot(index)));
  } catch (error) {
    await pool.close();
    throw error;
  }
  return pool;
}

/** One run() call in progress. */
interface Job {
  tasks: Task[];
  /** Index of the next task to hand out. */
  next: number;
  /** Tasks handed out whose answer has not come yet. */
  inFlight: number;
  /** First failure; once set no further task is handed out. */
  error?: Error;
  settle(error?: Error): void;
}

/** One worker and what it is doing. */
interface Slot {
  index: number;
  thread?: WorkerThread;
  alive: boolean;
  /** The task this worker is running, if any. */
  current?: { job: Job; id: number; fn: string };
  /** Settles startSlot's promise; cleared once the worker is ready. */
  starting?: { resolve(): void; reject(error: Error): void };
}

class WorkerPool implements Executor {
  private readonly slots: Slot[] = [];
  private job: Job | undefined;
  /** Settles when the last queued call has; calls chain on it. */
  private tail: Promise<unknown> = Promise.resolve();
  private nextTaskId = 1;
  private closed = false;
  /**
   * The kernels' static data, [0, heap_base), as instantiation wrote it. Restarting a dead worker
   * instantiates the module again, which rewrites these bytes in the live shared memory: harmless
   * only while kernels never write there, which execute() asserts against this copy first.
   */
  private readonly staticData: Uint8Array;

  constructor(
    readonly module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    readonly kernels: KernelExports,
    private readonly workerUrl: URL | string | undefined,
    private readonly runtime: RuntimeName,
    readonly threads: number,
  ) {
    const end = typeof kernels.heap_base === 'function' ? kernels.heap_base() : 0;
    this.staticData = new Uint8Array(memory.buffer, 0, end).slice();
  }

  /** Throws when the kernels' static data differs from what instantiation wrote (see staticData). */
  private checkStaticData(): void {
    const now = new Uint8Array(this.memory.buffer, 0, this.staticData.length);
    const at = this.staticData.findIndex((byte, i) => byte !== now[i]);
    if (at >= 0) {
      throw new Error(
        `clipsift: the kernels wrote to their static data (byte ${at} of ${this.staticData.length}); restarting a dead worker would overwrite it in the shared memory, so kernels must keep no mutable static data`,
      );
    }
  }

  /** Starts (or restarts) the worker of one slot and resolves once its kernels are instantiated. */
  async startSlot(index: number): Promise<void> {
    const slot: Slot = { index, alive: true };
    this.slots[index] = slot;
    const started = new Promise<void>((resolve, reject) => {
      slot.starting = { resolve, reject };
    });
    if (this.closed) this.retire(slot, 'engine closed');
    else {
      try {
        slot.thread = await startWorker(
          this.workerUrl,
          {
            message: (data) => {
              const message = data as FromWorker;
              if (message.type === 'ready') {
                slot.thread?.hold(false);
                slot.starting?.resolve();
                slot.starting = undefined;
              } else if (message.type === 'init-failed') {
                this.retire(slot, `cannot instantiate the kernels: ${message.message}`);
              } else this.answer(slot, message);
            },
            died: (reason) => this.retire(slot, reason),
          },
          this.runtime,
        );
      } catch (error) {
        // The runtime refused to create the worker (a malformed URL, a blocked origin).
        this.retire(slot, error instanceof Error ? error.message : String(error));
        return started;
      }
      if (this.closed) {
        // close() ran while the worker was being created: it never saw this thread.
        void slot.thread.terminate();
      } else {
        // Keep the process alive until the worker is ready: nothing else may be pending meanwhile.
        slot.thread.hold(true);
        this.post(slot, { type: 'init', module: this.module, memory: this.memory });
      }
    }
    return started;
  }

  run(tasks: Task[]): Promise<void> {
    const call = this.tail.then(() => this.execute(tasks));
    this.tail = call.catch(() => undefined);
    return call;
  }

  async close(): Promise<void> {
    if (this.closed) return this.tail.then(() => undefined);
    this.closed = true;
    const stopping = this.slots.map((slot) => {
      const thread = slot.thread;
      this.retire(slot, 'engine closed');
      return thread?.terminate();
    });
    await Promise.all(stopping);
  }

  /** Runs one call's tasks; only ever one at a time (see run). */
  private async execute(tasks: Task[]): Promise<void> {
    if (this.closed) throw new Error('clipsift: engine is closed');
    if (tasks.length === 0) return;
    // A worker that died in an earlier call is replaced before this one starts, so that a crash
    // costs one call, not the pool. No task runs now, so the new instance's data segments are
    // written into memory nobody is using.
    const deadSlots = this.slots.filter((slot) => !slot.alive);
    if (deadSlots.length > 0) this.checkStaticData();
    await Promise.all(deadSlots.map((slot) => this.startSlot(slot.index)));
    const workers = this.slots.filter((slot) => slot.alive);
    // A replacement can die again before it gets a task; then nothing would ever settle the call.
    if (workers.length === 0) throw new Error('clipsift: every worker died before the call could start');
    await new Promise<void>((resolve, reject) => {
      const job: Job = {
        tasks,
        next: 0,
        inFlight: 0,
        settle: (error) => {
          this.job = undefined;
          for (const slot of this.slots) if (slot.alive) slot.thread?.hold(false);
          if (error) reject(error);
          else resolve();
        },
      };
      this.job = job;
      for (const slot of workers) {
        slot.thread?.hold(true);
        this.handOut(slot, job);
      }
    });
  }

  /** Gives a free worker the next task of the job, or settles the job when nothing is left. */
  private handOut(slot: Slot, job: Job): void {
    if (job.error === undefined && job.next < job.tasks.length && slot.alive) {
      const task = job.tasks[job.next++]!;
      const id = this.nextTaskId++;
      slot.current = { job, id, fn: task.fn };
      job.inFlight++;
      this.post(slot, { type: 'run', id, fn: task.fn, args: task.args });
      return;
    }
    // Settle only once every handed-out task has answered: after rejection the memory is the
    // caller's again, so no worker may still be writing to it.
    if (this.job !== job || job.inFlight > 0) return;
    if (job.next < job.tasks.length && job.error === undefined) {
      // Tasks are left but nothing runs: only possible when the last worker died between tasks.
      if (this.slots.some((other) => other.alive)) return;
      job.error = new Error('clipsift: no worker left to run the remaining tasks');
    }
    job.settle(job.error);
  }

  /** A worker answered a task. */
  private answer(slot: Slot, message: Extract<FromWorker, { id: number }>): void {
    const current = slot.current;
    if (!current || current.id !== message.id) return;
    slot.current = undefined;
    const job = current.job;
    job.inFlight--;
    if (message.type === 'failed') {
      job.error ??= new Error(`clipsift: kernel ${current.fn} failed in worker ${slot.index}: ${message.message}`);
    }
    this.handOut(slot, job);
  }

  /** Marks a worker dead; the task it was running fails, which fails the call it belongs to. */
  private retire(slot: Slot, reason: string): void {
    if (!slot.alive) return;
    slot.alive = false;
    slot.starting?.reject(
      new Error(
        `clipsift: worker ${slot.index} failed to start from ${String(this.workerUrl ?? defaultWorkerUrl())}: ${reason}`,
      ),
    );
    slot.starting = undefined;
    const current = slot.current;
    slot.current = undefined;
    if (current) {
      const job = current.job;
      job.inFlight--;
      job.error ??= new Error(`clipsift: worker ${slot.index} died while running ${current.fn}: ${reason}`);
      this.handOut(slot, job);
    }
    if (this.closed) return;
    // Not closing: the worker crashed. Stop it for good in case it is only half dead.
    void slot.thread?.terminate().catch(() => undefined);
  }

  private post(slot: Slot, message: ToWorker): void {
    try {
      slot.thread?.post(message);
    } catch (error) {
      this.retire(slot, `cannot post to worker: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
