/**
 * Deno / Deno Deploy entry for `deno serve dist/edge/deno.js`: `export default { fetch }`.
 *
 * Deno may compile wasm from bytes, so the kernels and the bundled target (rows and Gram matrix) are
 * read from the files scripts/build-edge.js writes next to the bundle. Limits come from MAX_BODY_BYTES / MAX_JSON_BYTES / MAX_ROWS in the
 * environment (read with --allow-env; without it the defaults apply).
 */
import { createScoreApp, limitsFromVariables, type EdgeLimits } from './app.js';

interface DenoGlobal {
  readFile(path: URL): Promise<Uint8Array>;
  env: { get(name: string): string | undefined };
}
const deno = (globalThis as unknown as { Deno: DenoGlobal }).Deno;

const read = (name: string) => deno.readFile(new URL(`./${name}`, import.meta.url));

export default createScoreApp({
  variant: 'baseline',
  kernels: () => read('clipsift.baseline.wasm'),
  target: async () => ({ name: 'target.npy', bytes: await read('target.npy') }),
  gram: async () => ({ name: 'target.gram.bin', bytes: await read('target.gram.bin') }),
  limits: limitsFromEnvironment(),
});

function limitsFromEnvironment(): Partial<EdgeLimits> {
  return limitsFromVariables((name) => {
    try {
      return deno.env.get(name);
    } catch {
      return undefined; // no --allow-env: keep the defaults
    }
  });
}
