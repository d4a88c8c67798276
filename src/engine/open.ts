/**
 * Chooses where kernels run for createEngine: the SIMD variant (baseline / relaxed) and the
 * executor (worker pool over shared memory, or inline in the calling thread).
 *
 * Threads need SharedArrayBuffer and workers. Where either is missing (edge runtimes, browser pages
 * without cross-origin isolation) the engine runs inline with the private build; the operations
 * split work the same way whatever the executor, so the results are the same.
 */
import type { Executor } from './executor.js';
import {
  availableCores,
  detectRuntime,
  isCrossOriginIsolated,
  supportsRelaxedSimd,
  supportsSharedMemory,
  supportsWorkers,
  type RuntimeName,
} from './features.js';
import { inlineExecutor } from './inline.js';
import { instantiateKernels, kernelUrl, loadKernels, MAX_PAGES, type ModuleSource, type SimdVariant } from './load.js';
import { createPool } from './pool.js';

export interface ExecutorOptions {
  /**
   * Threads that run kernels. 'auto' (the default) uses the available cores
   * (os.availableParallelism() in Node, navigator.hardwareConcurrency elsewhere); 1 runs inline.
   * Where threads are impossible the engine runs inline whatever is asked; info() tells.
   */
  threads?: number | 'auto';
  /**
   * SIMD variant. 'auto' (the default) picks relaxed where the runtime validates
   * f32x4.relaxed_madd, else baseline. Forcing 'relaxed' where it cannot run throws.
   */
  simd?: SimdVariant | 'auto';
  /**
   * A kernel module to use instead of the one in dist/wasm (required where wasm cannot be
   * compiled from bytes). A shared build (importing `env.memory`) can run threaded; a private
   * build always runs inline. Pass bytes or a URL rather than a compiled module for a shared build
   * with static data, so its memory minimum can be read. info().simd then reports the variant asked
   * for (or detected with 'auto'): the module's own instructions are not inspected.
   */
  module?: ModuleSource;
  /**
   * The worker script for threads; defaults to worker.js next to the engine's code, created as
   * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })` so bundlers that know
   * that pattern emit it by themselves. Bundles that put the worker elsewhere pass its URL here.
   */
  workerUrl?: URL | string;
}

/** What the engine runs on, as engine.info() reports it. */
export interface ExecutorInfo {
  runtime: RuntimeName;
  /** Threads that run kernels (1 = inline in the calling thread). */
  threads: number;
  simd: SimdVariant;
  /** Whether kernels work on a shared memory (the threaded build). */
  shared: boolean;
  /** Whether the page is cross-origin isolated (browsers; false elsewhere, where it gates nothing). */
  crossOriginIsolated: boolean;
}

/** Opens the executor for an engine: picks the variant, the thread count and the build to load. */
export async function openExecutor(options: ExecutorOptions = {}): Promise<{ executor: Executor; info: ExecutorInfo }> {
  const runtime = detectRuntime();
  const simd = chooseSimd(options.simd ?? 'auto', runtime);
  const wanted = await chooseThreads(options.threads ?? 'auto', runtime);
  const threadsPossible = supportsSharedMemory() && supportsWorkers(runtime);
  const describe = (threads: number, shared: boolean): ExecutorInfo => ({
    runtime,
    threads,
    simd,
    shared,
    crossOriginIsolated: isCrossOriginIsolated(),
  });

  const threaded = wanted > 1 && threadsPossible;
  // Our own builds: the shared one only when threads will run, the private one otherwise.
  const loaded = await loadKernels(options.module ?? kernelUrl(simd, threaded));
  if (!loaded.importsMemory) {
    const { kernels, memory } = await instantiateKernels(loaded.module);
    return { executor: inlineExecutor(kernels, memory), info: describe(1, false) };
  }
  if (!supportsSharedMemory()) {
    throw new Error(
      'clipsift: the kernel module given imports a shared memory, which this runtime cannot create; pass the private build',
    );
  }
  const memory = sharedMemory(loaded.minimumPages);
  if (!threaded) {
    // A shared build handed in by the caller, run in this thread.
    const { kernels } = await instantiateKernels(loaded.module, memory);
    return { executor: inlineExecutor(kernels, memory), info: describe(1, true) };
  }
  const executor = await createPool({
    module: loaded.module,
    memory,
    threads: wanted,
    workerUrl: options.workerUrl,
    runtime,
  });
  return { executor, info: describe(wanted, true) };
}

/** The shared memory all threads work on; it grows up to 4 GiB for every thread at once. */
function sharedMemory(minimumPages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: Math.max(1, minimumPages), maximum: MAX_PAGES, shared: true });
}

/** Resolves the simd option; throws where relaxed is forced but cannot run. */
export function chooseSimd(requested: SimdVariant | 'auto', runtime: RuntimeName = detectRuntime()): SimdVariant {
  if (requested === 'baseline') return 'baseline';
  if (requested === 'auto') return supportsRelaxedSimd() ? 'relaxed' : 'baseline';
  if (requested === 'relaxed') {
    if (supportsRelaxedSimd()) return 'relaxed';
    const hint = runtime === 'node' ? ' (Node 20 needs --experimental-wasm-relaxed-simd)' : '';
    throw new Error(
      `clipsift: simd 'relaxed' was asked for, but this runtime (${runtime}) cannot compile relaxed SIMD${hint}; use simd 'auto' or 'baseline'`,
    );
  }
  throw new RangeError(`clipsift: simd must be 'auto', 'baseline' or 'relaxed', got ${String(requested)}`);
}

/** Resolves the threads option to a whole number ≥ 1. */
export async function chooseThreads(
  requested: number | 'auto',
  runtime: RuntimeName = detectRuntime(),
): Promise<number> {
  if (requested === 'auto') return availableCores(runtime);
  if (typeof requested === 'number' && Number.isInteger(requested) && requested >= 1) {
    const cores = await availableCores(runtime);
    const limit = threadLimit(cores);
    if (requested > limit)
      throw new RangeError(
        `clipsift: threads must be at most ${limit} (4 × the ${cores} core${cores === 1 ? '' : 's'} here; each thread costs memory and the kernels are CPU-bound), got ${requested}`,
      );
    return requested;
  }
  throw new RangeError(`clipsift: threads must be 'auto' or a whole number ≥ 1, got ${String(requested)}`);
}

/**
 * The most threads an engine starts on a machine of `cores` cores: 4 × cores (at least 4). More only
 * costs memory (a worker, its stack and its kernel instance each) for no speed: the work is CPU-bound.
 */
export function threadLimit(cores: number): number {
  return Math.max(4, 4 * cores);
}
