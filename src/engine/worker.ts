/**
 * Worker entry of the pool: instantiates the shared-memory kernel module it is sent over the
 * shared memory it is sent, then runs one task per message and answers each.
 *
 * Self-contained on purpose: it imports only the loader, so a bundler can build it into a single
 * worker file (the browser bundle points the pool at it with the `workerUrl` option). Runs as a
 * Node worker_threads worker and as a module Web Worker (Deno, browsers).
 */
import type { KernelExports } from './executor.js';
import { instantiateKernels } from './load.js';

/** Messages from the pool to a worker. */
export type ToWorker =
  | { type: 'init'; module: WebAssembly.Module; memory: WebAssembly.Memory }
  | { type: 'run'; id: number; fn: string; args: number[] };

/** Messages from a worker to the pool. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; message: string }
  | { type: 'done'; id: number }
  | { type: 'failed'; id: number; message: string };

/** How this worker talks to its parent, whatever the runtime. */
interface ParentChannel {
  post(message: FromWorker): void;
  listen(handler: (message: ToWorker) => void): void;
}

async function parentChannel(): Promise<ParentChannel> {
  const g = globalThis as Record<string, unknown>;
  const scope = g.WorkerGlobalScope as (abstract new () => unknown) | undefined;
  if (typeof scope === 'function' && globalThis instanceof scope) {
    // A module Web Worker (Deno, browsers).
    const self = globalThis as unknown as {
      postMessage(message: unknown): void;
      onmessage: ((event: MessageEvent) => void) | null;
    };
    return {
      post: (message) => self.postMessage(message),
      listen: (handler) => {
        self.onmessage = (event) => handler(event.data as ToWorker);
      },
    };
  }
  // Dynamic so that bundles for browsers never need node:worker_threads.
  const { parentPort } = await import('node:worker_threads');
  if (!parentPort) throw new Error('clipsift: worker.js must be started as a worker thread');
  return {
    post: (message) => parentPort.postMessage(message),
    listen: (handler) => parentPort.on('message', handler),
  };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

const parent = await parentChannel();
let kernels: KernelExports | undefined;

parent.listen((message) => {
  if (message.type === 'init') {
    instantiateKernels(message.module, message.memory).then(
      (instance) => {
        kernels = instance.kernels;
        parent.post({ type: 'ready' });
      },
      (error) => parent.post({ type: 'init-failed', message: messageOf(error) }),
    );
    return;
  }
  const { id, fn, args } = message;
  try {
    if (!kernels) throw new Error('clipsift: worker received a task before its kernels');
    const kernel = kernels[fn];
    if (typeof kernel !== 'function') throw new Error(`clipsift: no kernel named ${fn}`);
    kernel(...args);
    parent.post({ type: 'done', id });
  } catch (error) {
    // A trap or an abort inside the kernel: the instance stays usable, the call fails.
    parent.post({ type: 'failed', id, message: messageOf(error) });
  }
});
