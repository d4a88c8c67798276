/**
 * The one loader: finds, compiles and instantiates the kernel module for the variant in use.
 * Works in Node (file: URLs through node:fs), Deno, browsers (fetch) and edge runtimes, where the
 * module is handed in precompiled because compiling wasm from bytes is forbidden there.
 */
import type { KernelExports } from './executor.js';

/** Which SIMD instruction set the kernels were compiled for. */
export type SimdVariant = 'baseline' | 'relaxed';

/** Where a kernel module comes from: a compiled module, its bytes, or a URL to fetch. */
export type ModuleSource = WebAssembly.Module | ArrayBuffer | Uint8Array | URL | string;

/** File name of a build variant in dist/wasm. */
export function kernelFileName(variant: SimdVariant, shared: boolean): string {
  return `clipsift.${variant}${shared ? '.shared' : ''}.wasm`;
}

/** URL of a build variant next to this module's build output (dist/lib/engine → dist/wasm). */
export function kernelUrl(variant: SimdVariant, shared: boolean): URL {
  return new URL(`../../wasm/${kernelFileName(variant, shared)}`, import.meta.url);
}

/** Compiles a kernel module from any source; a module passes through untouched. */
export async function compileKernels(source: ModuleSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) return WebAssembly.compile(source as BufferSource);
  const url = typeof source === 'string' ? new URL(source, import.meta.url) : source;
  if (url.protocol === 'file:' && !('Deno' in globalThis)) {
    // Node's fetch does not read file: URLs.
    const { readFile } = await import('node:fs/promises');
    return WebAssembly.compile(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`clipsift: cannot load kernels from ${url.href}: HTTP ${response.status}`);
  return WebAssembly.compile(await response.arrayBuffer());
}

/** Largest wasm32 memory in 64 KiB pages (4 GiB). */
export const MAX_PAGES = 65536;

/**
 * Instantiates kernels. A shared build imports its memory (the one all threads work on);
 * a private build brings its own.
 */
export async function instantiateKernels(
  module: WebAssembly.Module,
  memory?: WebAssembly.Memory,
): Promise<{ kernels: KernelExports; memory: WebAssembly.Memory }> {
  const env: Record<string, unknown> = {
    abort(_message: number, _file: number, line: number, column: number) {
      throw new Error(`clipsift kernel aborted at ${line}:${column}`);
    },
  };
  if (memory) env.memory = memory;
  const instance = await WebAssembly.instantiate(module, { env } as WebAssembly.Imports);
  const exports = instance.exports as Record<string, unknown>;
  const own = (exports.memory as WebAssembly.Memory | undefined) ?? memory;
  if (!own) throw new Error('clipsift: kernel module neither exports nor was given a memory');
  return { kernels: exports as unknown as KernelExports, memory: own };
}
