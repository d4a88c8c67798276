/**
 * Feature detection for the executor choice: which runtime this is, whether threads over shared
 * memory are possible here, whether relaxed SIMD compiles, and how many cores there are.
 * Everything here is a probe of the running host, never a guess from a version string.
 */

/** The host families the engine tells apart; 'worker' is any other worker-like global scope. */
export type RuntimeName = 'node' | 'deno' | 'bun' | 'browser' | 'workerd' | 'worker';

/** Names the runtime this code runs in. */
export function detectRuntime(): RuntimeName {
  const g = globalThis as Record<string, unknown>;
  // Deno 2 also defines `process`, so it must be recognised before Node.
  if ('Deno' in g) return 'deno';
  const versions = (g.process as { versions?: Record<string, string | undefined> } | undefined)?.versions;
  if (typeof versions?.bun === 'string') return 'bun';
  if (typeof versions?.node === 'string') return 'node';
  const navigator = g.navigator as { userAgent?: string } | undefined;
  if (navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  if (typeof g.document === 'object') return 'browser';
  return 'worker';
}

/**
 * True where the page is cross-origin isolated (COOP + COEP headers), the condition browsers put on
 * SharedArrayBuffer. Outside browsers the flag does not exist and this reports false; it gates
 * nothing there.
 */
export function isCrossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: unknown }).crossOriginIsolated === true;
}

/**
 * True where a shared WebAssembly.Memory can be created and handed to workers: SharedArrayBuffer
 * exists and, in browsers, the page is cross-origin isolated (without isolation a shared memory
 * may construct but cannot be posted to a worker).
 */
export function supportsSharedMemory(): boolean {
  if (typeof SharedArrayBuffer !== 'function') return false;
  if ((globalThis as { crossOriginIsolated?: unknown }).crossOriginIsolated === false) return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

/** True where this runtime can start worker threads (worker_threads in Node and Bun, module Workers elsewhere). */
export function supportsWorkers(runtime: RuntimeName = detectRuntime()): boolean {
  if (runtime === 'node' || runtime === 'bun') return true;
  return typeof (globalThis as { Worker?: unknown }).Worker === 'function';
}

/**
 * The smallest module using relaxed SIMD: one function (v128, v128, v128) → v128 whose body is
 * f32x4.relaxed_madd (opcode 0xfd 0x105) of its three parameters — the instruction the relaxed
 * kernels are built around.
 */
const RELAXED_MADD_PROBE = new Uint8Array([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version 1
  0x01,
  0x08,
  0x01,
  0x60,
  0x03,
  0x7b,
  0x7b,
  0x7b,
  0x01,
  0x7b, // type section: (v128 v128 v128) -> v128
  0x03,
  0x02,
  0x01,
  0x00, // function section: one function of type 0
  0x0a,
  0x0d,
  0x01,
  0x0b,
  0x00, // code section: one body of 11 bytes, no locals
  0x20,
  0x00,
  0x20,
  0x01,
  0x20,
  0x02, // local.get 0, 1, 2
  0xfd,
  0x85,
  0x02, // f32x4.relaxed_madd
  0x0b, // end
]);

/** True where the runtime validates f32x4.relaxed_madd (Deno, Chromium; Node 20 only with --experimental-wasm-relaxed-simd). */
export function supportsRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_MADD_PROBE);
  } catch {
    return false;
  }
}

/** Cores available to this process: os.availableParallelism() in Node, navigator.hardwareConcurrency elsewhere. */
export async function availableCores(runtime: RuntimeName = detectRuntime()): Promise<number> {
  if (runtime === 'node' || runtime === 'bun') {
    // Dynamic so that browsers and edge bundles never see node:os.
    const os = await import('node:os');
    return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
  }
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof cores === 'number' && cores >= 1 ? Math.floor(cores) : 1;
}
