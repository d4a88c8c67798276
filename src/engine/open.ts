/**
 * Chooses where kernels run for createEngine: the variant (baseline / relaxed SIMD) and the
 * executor (worker pool over shared memory, or inline).
 */
import type { Executor } from './executor.js';
import { inlineExecutor } from './inline.js';
import { compileKernels, instantiateKernels, kernelUrl, type ModuleSource, type SimdVariant } from './load.js';

export interface ExecutorOptions {
  /** Worker threads; 'auto' uses the available cores. */
  threads?: number | 'auto';
  /** SIMD variant; 'auto' picks relaxed where the runtime validates it. */
  simd?: SimdVariant | 'auto';
  /** A precompiled or fetched kernel module (required where wasm cannot be compiled from bytes). */
  module?: ModuleSource;
}

export interface ExecutorInfo {
  runtime: string;
  threads: number;
  simd: SimdVariant;
  shared: boolean;
}

export async function openExecutor(options: ExecutorOptions = {}): Promise<{ executor: Executor; info: ExecutorInfo }> {
  const simd: SimdVariant = options.simd === 'relaxed' ? 'relaxed' : 'baseline';
  const module = await compileKernels(options.module ?? kernelUrl(simd, false));
  const { kernels, memory } = await instantiateKernels(module);
  return {
    executor: inlineExecutor(kernels, memory),
    info: { runtime: detectRuntime(), threads: 1, simd, shared: false },
  };
}

function detectRuntime(): string {
  const g = globalThis as Record<string, unknown>;
  if ('Deno' in g) return 'deno';
  if (typeof (g.process as { versions?: { node?: string } } | undefined)?.versions?.node === 'string') return 'node';
  if (typeof g.navigator === 'object' && (g.navigator as { userAgent?: string }).userAgent === 'Cloudflare-Workers') return 'workerd';
  if (typeof g.document === 'object') return 'browser';
  return 'worker';
}
