import { MAX_PAGES } from './load.js';

const PAGE = 65536;

/**
 * Lays out one operation's buffers in wasm memory: a bump allocator from the kernels' heap base,
 * grown once, with a clear error when the layout would pass the 4 GiB wasm32 limit.
 */
export class Arena {
  private top: number;

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = align(base, 64);
  }

  /** Reserves `bytes` and returns their offset (64-byte aligned, so vectors and cache lines line up). */
  take(bytes: number): number {
    const at = this.top;
    this.top = align(at + bytes, 64);
    return at;
  }

  /** Grows the memory to hold everything taken so far. */
  commit(what: string): void {
    const pages = Math.ceil(this.top / PAGE);
    if (pages > MAX_PAGES) {
      const mib = Math.ceil(this.top / 2 ** 20);
      throw new RangeError(
        `clipsift: ${what} needs ${mib} MiB of wasm memory, more than the 4096 MiB a wasm32 memory can hold; use a smaller batch or chunk`,
      );
    }
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) this.memory.grow(pages - have);
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
