// Non-JavaScript modules the edge entry imports. build-edge.js keeps these imports external and
// copies the files next to the bundle; workerd loads them through wrangler.toml's [[rules]].
declare module '*.wasm' {
  /** Compiled by the runtime at deploy time ("CompiledWasm"): workerd forbids compiling bytes at run time. */
  const module: WebAssembly.Module;
  export default module;
}
declare module '*.npy' {
  /** The file's bytes ("Data" module). */
  const bytes: ArrayBuffer;
  export default bytes;
}
declare module '*.bin' {
  /** The file's bytes ("Data" module): the bundled target's Gram matrix, target.gram.bin. */
  const bytes: ArrayBuffer;
  export default bytes;
}
