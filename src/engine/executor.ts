/**
 * The seam between the engine's operations and where kernels run.
 *
 * Operations lay out wasm memory, then hand the executor a list of independent tasks. Every task
 * writes to memory no other task of the same list touches, so the result never depends on which
 * thread ran which task or in what order: that is what makes results bitwise identical at any
 * thread count.
 */

/** One call of an exported kernel: its export name and its numeric arguments (pointers are byte offsets). */
export interface Task {
  fn: string;
  args: number[];
}

/** The kernels' exports as the host sees them: functions over numbers. */
export type KernelExports = Record<string, (...args: number[]) => number>;

export interface Executor {
  /** The memory every instance works on (shared when threads > 1). */
  readonly memory: WebAssembly.Memory;
  /** An instance in the calling thread, for short serial steps (merges, packing of small inputs). */
  readonly kernels: KernelExports;
  /** How many threads run tasks. */
  readonly threads: number;
  /** Runs every task once, possibly concurrently; resolves when all are done, rejects on the first failure. */
  run(tasks: Task[]): Promise<void>;
  /** Releases workers; the executor cannot be used afterwards. */
  close(): Promise<void>;
}
