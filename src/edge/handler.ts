/**
 * Cloudflare Workers (workerd) entry: `export default { fetch }`.
 *
 * workerd forbids compiling wasm from bytes at run time, so the kernels arrive as a module compiled
 * at deploy time (wrangler.toml: [[rules]] type = "CompiledWasm"), and the bundled NormSim target
 * (its rows, target.npy, and their Gram matrix, target.gram.bin) as Data modules. scripts/build-edge.js
 * writes all three next to the bundle in dist/edge/.
 */
import kernels from './clipsift.baseline.wasm';
import targetBytes from './target.npy';
import gramBytes from './target.gram.bin';
import { createScoreApp } from './app.js';

export default createScoreApp({
  variant: 'baseline',
  kernels: async () => kernels,
  target: async () => ({ name: 'target.npy', bytes: new Uint8Array(targetBytes) }),
  gram: async () => ({ name: 'target.gram.bin', bytes: new Uint8Array(gramBytes) }),
});
