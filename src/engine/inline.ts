import type { Executor, KernelExports, Task } from './executor.js';

/**
 * Runs every task in the calling thread: the fallback where SharedArrayBuffer or Worker is
 * missing (edge runtimes, pages without cross-origin isolation), and the one-thread engine.
 * Tasks run in list order, so its results are the reference the pool must reproduce.
 */
export function inlineExecutor(kernels: KernelExports, memory: WebAssembly.Memory): Executor {
  let closed = false;
  return {
    memory,
    kernels,
    threads: 1,
    async run(tasks: Task[]) {
      if (closed) throw new Error('clipsift: engine is closed');
      for (const task of tasks) {
        const fn = kernels[task.fn];
        if (typeof fn !== 'function') throw new Error(`clipsift: no kernel named ${task.fn}`);
        fn(...task.args);
      }
    },
    async close() {
      closed = true;
    },
  };
}
