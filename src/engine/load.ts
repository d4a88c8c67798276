/**
 * The one loader: finds, compiles and instantiates the kernel module for the variant in use.
 * Works in Node (file: URLs through node:fs), Deno, browsers (fetch) and edge runtimes, where the
 * module is handed in precompiled because compiling wasm from bytes is forbidden there.
 */
import type { KernelExports } from './executor.js';

/** Which SIMD instruction set the kernels were compiled for. */
export type SimdVariant = 'baseline' | 'relaxed';

/**
 * Where a kernel module comes from: a compiled module, its bytes, or a URL to fetch. A string is a
 * URL or path relative to the caller's base, as a relative `fetch` or `import` of the caller's
 * would read it: the page's base URL in a browser, the worker's location in a worker, the current
 * directory in Node and Deno.
 */
export type ModuleSource = WebAssembly.Module | ArrayBuffer | Uint8Array | URL | string;

/** File name of a build variant in dist/wasm. */
export function kernelFileName(variant: SimdVariant, shared: boolean): string {
  return `clipsift.${variant}${shared ? '.shared' : ''}.wasm`;
}

/** URL of a build variant next to this module's build output (dist/lib/engine → dist/wasm). */
export function kernelUrl(variant: SimdVariant, shared: boolean): URL {
  return new URL(`../../wasm/${kernelFileName(variant, shared)}`, import.meta.url);
}

/** A compiled kernel module and what instantiating it needs. */
export interface LoadedKernels {
  module: WebAssembly.Module;
  /**
   * Whether the module imports its memory (`env.memory`): the shared build, the one the pool runs
   * in every thread; a private build exports a memory of its own.
   */
  importsMemory: boolean;
  /** Smallest memory in 64 KiB pages the module accepts as its import (0 when it has none or was handed in compiled). */
  minimumPages: number;
}

/** Compiles a kernel module from any source and reports the memory it needs. */
export async function loadKernels(source: ModuleSource): Promise<LoadedKernels> {
  if (source instanceof WebAssembly.Module) return describe(source, undefined);
  const bytes =
    source instanceof ArrayBuffer || source instanceof Uint8Array ? toBytes(source) : await readKernelBytes(source);
  return describe(await WebAssembly.compile(bytes as BufferSource), bytes);
}

function toBytes(source: ArrayBuffer | Uint8Array): Uint8Array {
  return source instanceof Uint8Array ? source : new Uint8Array(source);
}

function describe(module: WebAssembly.Module, bytes: Uint8Array | undefined): LoadedKernels {
  const importsMemory = WebAssembly.Module.imports(module).some((entry) => entry.kind === 'memory');
  return { module, importsMemory, minimumPages: importsMemory && bytes ? (importedMemoryMinimum(bytes) ?? 0) : 0 };
}

/** Reads a kernel file: node:fs for file: URLs in Node, fetch everywhere else. */
async function readKernelBytes(source: URL | string): Promise<Uint8Array> {
  const url = typeof source === 'string' ? await resolveAgainstCaller(source) : source;
  if (url.protocol === 'file:' && !('Deno' in globalThis)) {
    // Node's fetch does not read file: URLs.
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`clipsift: cannot load kernels from ${url.href}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * A module string as a URL: absolute URLs as they are, anything else against the caller's base
 * (document.baseURI, the worker's location, or the current directory as a file: URL).
 * @throws when the string is relative and the runtime has no base to resolve it against
 */
export async function resolveAgainstCaller(text: string): Promise<URL> {
  if (URL.canParse?.(text) ?? /^[a-z][a-z0-9+.-]*:/i.test(text)) return new URL(text);
  const g = globalThis as {
    document?: { baseURI?: string };
    location?: { href?: string };
    process?: { cwd?: () => string; versions?: { node?: string } };
    Deno?: { cwd(): string };
  };
  const base = g.document?.baseURI ?? g.location?.href;
  if (base) return new URL(text, base);
  const cwd = g.Deno?.cwd() ?? (g.process?.versions?.node ? g.process.cwd?.() : undefined);
  if (cwd !== undefined) {
    // pathToFileURL escapes what a path may hold and a URL may not (%, #, spaces, Windows drive letters).
    const { pathToFileURL } = await import('node:url');
    return new URL(text.replace(/\\/g, '/'), pathToFileURL(`${cwd}/`));
  }
  throw new Error(
    `clipsift: module '${text}' is relative, and this runtime has no base URL to resolve it against; pass a URL`,
  );
}

/**
 * The declared minimum (in pages) of the memory a wasm binary imports, read from its import
 * section; undefined when it imports none. Needed because a shared memory must be created by the
 * host before instantiation, at least as large as the module's static data requires, and the JS
 * API does not expose import limits.
 */
export function importedMemoryMinimum(bytes: Uint8Array): number | undefined {
  let at = 8; // after the magic number and version
  const u32 = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      if (byte === undefined) throw new Error('clipsift: truncated wasm binary');
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  const skipName = (): void => {
    const length = u32();
    at += length;
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const end = at + size;
    if (id !== 2) {
      at = end;
      continue;
    }
    const count = u32();
    for (let entry = 0; entry < count; entry++) {
      skipName(); // module
      skipName(); // field
      const kind = bytes[at++];
      if (kind === 0)
        u32(); // function: type index
      else if (kind === 1) {
        at++; // table: reference type, then limits
        const flags = u32();
        u32();
        if (flags & 1) u32();
      } else if (kind === 2) {
        u32(); // memory: limits flags; the minimum comes next
        return u32();
      } else if (kind === 3)
        at += 2; // global: value type, mutability
      else if (kind === 4) {
        at++; // tag: attribute, type index
        u32();
      } else throw new Error(`clipsift: unknown import kind ${kind} in wasm binary`);
    }
    return undefined;
  }
  return undefined;
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
  // The memory the abort message lives in: the one given, or the instance's own once it exists.
  let messageMemory = memory;
  const env: Record<string, unknown> = {
    abort(message: number, file: number, line: number, column: number) {
      const text = messageMemory ? readAscString(messageMemory, message) : '';
      const where = messageMemory ? readAscString(messageMemory, file) : '';
      throw new Error(
        `clipsift kernel aborted${text ? `: ${text}` : ''} at ${where ? `${where}:` : ''}${line}:${column}`,
      );
    },
  };
  if (memory) env.memory = memory;
  const instance = await WebAssembly.instantiate(module, { env } as WebAssembly.Imports);
  const exports = instance.exports as Record<string, unknown>;
  const own = (exports.memory as WebAssembly.Memory | undefined) ?? memory;
  messageMemory = own;
  if (!own) throw new Error('clipsift: kernel module neither exports nor was given a memory');
  return { kernels: exports as unknown as KernelExports, memory: own };
}

/**
 * Reads an AssemblyScript string (UTF-16, its byte length stored just before it) for abort
 * messages; '' for a null pointer or anything that does not look like a string.
 */
function readAscString(memory: WebAssembly.Memory, pointer: number): string {
  const buffer = memory.buffer;
  if (pointer < 4 || pointer >= buffer.byteLength) return '';
  const bytes = new DataView(buffer).getUint32(pointer - 4, true);
  if (bytes % 2 !== 0 || bytes > 4096 || pointer + bytes > buffer.byteLength) return '';
  // Copied out code unit by code unit: TextDecoder refuses views of a SharedArrayBuffer in browsers.
  const view = new DataView(buffer, pointer, bytes);
  let text = '';
  for (let at = 0; at < bytes; at += 2) text += String.fromCharCode(view.getUint16(at, true));
  return text;
}
