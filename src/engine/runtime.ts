/**
 * The thin per-runtime layer under the pool: starting a worker thread and talking to it.
 * Node (and Bun) use node:worker_threads; Deno and browsers use module Web Workers. Everything
 * above this file sees the same {@link WorkerThread} whatever the runtime.
 */
import { detectRuntime, type RuntimeName } from './features.js';

/** What the pool hears from one worker. */
export interface WorkerListener {
  /** A message the worker posted. */
  message(data: unknown): void;
  /**
   * The worker is gone or unusable (uncaught error, script failed to load, exit). Called at most
   * once; messages after it are dropped.
   */
  died(reason: string): void;
}

/** One running worker thread, whatever the runtime. */
export interface WorkerThread {
  /** Posts a message (structured clone: a WebAssembly.Module and a shared Memory pass as themselves). */
  post(message: unknown): void;
  /**
   * Whether this worker should keep the host process alive. The pool holds its workers only while
   * work is pending, so a Node program that forgets close() still exits. No-op where the runtime
   * has no such notion (Web Workers).
   */
  hold(keepAlive: boolean): void;
  /** Stops the worker at once; no listener call follows. */
  terminate(): Promise<void>;
}

/**
 * Starts the worker script at `url` as a module worker of this runtime; without `url`, the engine's
 * own worker.js beside this module. That default is written as the literal
 * `new Worker(new URL('./worker.js', import.meta.url), …)` so bundlers (webpack 5, Vite, Parcel)
 * recognise it and emit the worker with the bundle, no `workerUrl` option needed.
 */
export async function startWorker(
  url: URL | string | undefined,
  listener: WorkerListener,
  runtime: RuntimeName = detectRuntime(),
): Promise<WorkerThread> {
  const once = deliverOnce(listener);
  if (runtime === 'node' || runtime === 'bun') return startNodeWorker(url, once);
  return startWebWorker(url, once);
}

/** Wraps a listener so that nothing reaches it after the first death or after termination. */
function deliverOnce(listener: WorkerListener): WorkerListener & { stop(): void } {
  let live = true;
  return {
    message(data) {
      if (live) listener.message(data);
    },
    died(reason) {
      if (!live) return;
      live = false;
      listener.died(reason);
    },
    stop() {
      live = false;
    },
  };
}

async function startNodeWorker(
  url: URL | string | undefined,
  listener: ReturnType<typeof deliverOnce>,
): Promise<WorkerThread> {
  // Dynamic so that browsers and edge bundles never see node:worker_threads.
  const { Worker } = await import('node:worker_threads');
  const options = { execArgv: workerExecArgv(process.execArgv) };
  // worker_threads takes a file path or a file: URL object, not a URL string.
  const worker =
    url === undefined
      ? new Worker(new URL('./worker.js', import.meta.url), options)
      : new Worker(typeof url === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(url) ? new URL(url) : url, options);
  worker.on('message', (data: unknown) => listener.message(data));
  worker.on('error', (error: Error) => listener.died(error?.message ?? String(error)));
  worker.on('messageerror', (error: Error) =>
    listener.died(`message could not be received: ${error?.message ?? error}`),
  );
  worker.on('exit', (code: number) => listener.died(`worker exited with code ${code}`));
  return {
    post: (message) => worker.postMessage(message),
    hold: (keepAlive) => (keepAlive ? worker.ref() : worker.unref()),
    async terminate() {
      listener.stop();
      await worker.terminate();
    },
  };
}

/**
 * Node options for the workers: the parent's (Node's default) unless they describe the main
 * script's input (`node --input-type=module -e …`), which a worker inherits and then refuses to
 * start with; then none. Nothing is lost: V8 flags such as --experimental-wasm-relaxed-simd act on
 * the whole process (Node even refuses them in a worker's execArgv), and worker.js needs no Node
 * option of its own.
 */
export function workerExecArgv(parent: readonly string[]): string[] | undefined {
  const aboutInput = /^(-e|-p|--eval|--print|--input-type)(=|$)/;
  return parent.some((flag) => aboutInput.test(flag)) ? [] : undefined;
}

async function startWebWorker(
  url: URL | string | undefined,
  listener: ReturnType<typeof deliverOnce>,
): Promise<WorkerThread> {
  const worker =
    url === undefined
      ? new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
      : new Worker(url, { type: 'module' });
  worker.onmessage = (event: MessageEvent) => listener.message(event.data);
  worker.onerror = (event: ErrorEvent) => {
    // Keep the error from also surfacing as an uncaught error of the page / Deno process: the pool
    // turns it into the rejection of the pending call.
    event.preventDefault();
    listener.died(event.message || `worker script ${String(url ?? 'worker.js')} failed to load or run`);
  };
  worker.onmessageerror = () => listener.died('message could not be received by the host');
  return {
    post: (message) => worker.postMessage(message),
    hold: () => {},
    async terminate() {
      listener.stop();
      worker.terminate();
    },
  };
}
