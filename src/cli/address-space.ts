/**
 * The engine's WebAssembly memory failing for lack of address space (`ulimit -v`), said in one line with
 * what to raise, instead of V8's "WebAssembly.instantiate(): Out of memory".
 */
import { readFileSync } from 'node:fs';
import process from 'node:process';

const WASM_OUT_OF_MEMORY =
  /Out of memory: Cannot allocate Wasm memory|WebAssembly\.Memory\(\): could not allocate memory|Unable to grow instance memory/i;

/**
 * Address space the CLI needs under Node with --disable-wasm-trap-handler (bin/clipsift.js adds it under a
 * limit), measured with `clipsift demo`: one thread runs in 1.3 GB; the first worker thread adds ~5 GB,
 * each further one ~2 GB (each worker is a V8 isolate with its own reservations).
 */
const SINGLE_THREAD_KIB = 1_500_000;
const TWO_THREADS_KIB = 7_000_000;
const PER_THREAD_KIB = 2_000_000;

/** How many threads fit under `limitKiB` of address space (at least 1). */
export function threadsWithin(limitKiB: number): number {
  if (limitKiB < TWO_THREADS_KIB) return 1;
  return 2 + Math.floor((limitKiB - TWO_THREADS_KIB) / PER_THREAD_KIB);
}

/** The address-space limit in KiB as `ulimit -v` shows it (Linux), or undefined when unlimited or unknown. */
export function addressSpaceLimitKiB(): number | undefined {
  try {
    const match = /^Max address space\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Math.floor(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** One line saying what to raise, when `error` is the WebAssembly memory failing to be reserved or grown. */
export function addressSpaceAdvice(error: unknown): string | undefined {
  if (!(error instanceof Error) || !WASM_OUT_OF_MEMORY.test(error.message)) return undefined;
  const limit = addressSpaceLimitKiB();
  const where = limit === undefined ? '' : ` under ulimit -v ${limit}`;
  const guarded = !process.execArgv.includes('--disable-wasm-trap-handler');
  const need = guarded
    ? `about 12000000 KiB: V8 reserves ~10 GiB per WebAssembly memory; node --disable-wasm-trap-handler, as the clipsift command uses under a limit, needs about ${SINGLE_THREAD_KIB} for --threads 1`
    : `about ${SINGLE_THREAD_KIB} KiB for --threads 1, ${TWO_THREADS_KIB} for 2, plus ${PER_THREAD_KIB} per further thread`;
  return `not enough address space for the engine's WebAssembly memory${where}: raise the limit (ulimit -v unlimited, or ${need}) or pass --threads 1`;
}
