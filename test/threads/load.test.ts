// The loader's reading of a shared build: a shared memory is created by the host before
// instantiation, so its size must come from the module's import section.
import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { importedMemoryMinimum, loadKernels } from '../../dist/lib/engine/load.js';

/** Assembles text-format wasm with binaryen (standard encodings; atomics for shared memories). */
function assemble(wat: string): Uint8Array<ArrayBuffer> {
  const module = binaryen.parseText(wat);
  module.setFeatures(binaryen.Features.MVP | binaryen.Features.Atomics);
  const bytes = module.emitBinary();
  module.dispose();
  return new Uint8Array(bytes); // binaryen's view, copied into an ArrayBuffer of its own
}

const name = (text: string) => [text.length, ...new TextEncoder().encode(text)];

/**
 * A module importing, in this order, a function, a table, a global and a shared memory of 300 pages
 * (binaryen would put the memory first, so these bytes are written by hand).
 */
function importsBeforeMemory(): Uint8Array {
  const imports = [
    4, // entries
    ...name('env'),
    ...name('abort'),
    0x00,
    0x00, // function of type 0
    ...name('env'),
    ...name('table'),
    0x01,
    0x70,
    0x01,
    0x03,
    0x0a, // funcref table, min 3, max 10
    ...name('env'),
    ...name('flag'),
    0x03,
    0x7f,
    0x00, // immutable i32 global
    ...name('env'),
    ...name('memory'),
    0x02,
    0x03,
    0xac,
    0x02,
    0x80,
    0x80,
    0x04, // shared, min 300, max 65536
  ];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    0x01,
    0x08,
    0x01,
    0x60,
    0x04,
    0x7f,
    0x7f,
    0x7f,
    0x7f,
    0x00, // type 0: (i32 i32 i32 i32) -> ()
    0x02,
    imports.length,
    ...imports,
  ]);
}

describe('imported memory size', () => {
  it('is read past function, table and global imports', async () => {
    const bytes = importsBeforeMemory();
    expect(importedMemoryMinimum(bytes)).toBe(300);
    const loaded = await loadKernels(bytes);
    expect(loaded).toMatchObject({ importsMemory: true, minimumPages: 300 });
    // The minimum is what instantiation demands: one page less is refused.
    const imports = (pages: number) => ({
      env: {
        abort() {},
        table: new WebAssembly.Table({ initial: 3, maximum: 10, element: 'anyfunc' }),
        flag: 0,
        memory: new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true }),
      },
    });
    await expect(WebAssembly.instantiate(loaded.module, imports(299))).rejects.toThrow(WebAssembly.LinkError);
    await expect(WebAssembly.instantiate(loaded.module, imports(300))).resolves.toBeInstanceOf(WebAssembly.Instance);
  });

  it('is absent for a module with its own memory, and for a compiled module nothing can be read from', async () => {
    const bytes = assemble('(module (memory (export "memory") 2 10))');
    expect(importedMemoryMinimum(bytes)).toBeUndefined();
    expect(await loadKernels(bytes)).toMatchObject({ importsMemory: false, minimumPages: 0 });
    const shared = assemble('(module (import "env" "memory" (memory 4 65536 shared)))');
    expect(await loadKernels(await WebAssembly.compile(shared))).toMatchObject({
      importsMemory: true,
      minimumPages: 0,
    });
  });

  it('matches what the engine builds declare', async () => {
    for (const variant of ['baseline', 'relaxed']) {
      const url = new URL(`../../dist/wasm/clipsift.${variant}.shared.wasm`, import.meta.url);
      const loaded = await loadKernels(url).catch(() => undefined);
      if (variant === 'relaxed' && !loaded) continue; // Node 20 cannot compile the relaxed build
      expect(loaded!.importsMemory).toBe(true);
      expect(loaded!.minimumPages).toBeGreaterThanOrEqual(1);
    }
  });
});
