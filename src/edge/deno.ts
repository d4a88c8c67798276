/**
 * Deno / Deno Deploy entry for `deno serve dist/edge/deno.js`: `export default { fetch }`.
 *
 * Deno may compile wasm from bytes, so the kernels and the bundled target (rows and Gram matrix) are
 * read, at start-up and relative to this file (not the current directory), from the files
 * scripts/build-edge.js writes next to the bundle. The deployment variables (MAX_BODY_BYTES, MAX_JSON_BYTES,
 * MAX_ROWS, TARGET_URL_PREFIXES, MAX_TARGET_BYTES) are the environment's, read by the app's one reader
 * (app.ts deploymentVariables) with --allow-env; without it the defaults apply.
 */
import { createScoreApp } from './app.js';

interface DenoGlobal {
  readFile(path: URL): Promise<Uint8Array>;
  env: { get(name: string): string | undefined };
  permissions?: { querySync?(descriptor: { name: 'env'; variable: string }): { state: string } };
}
const deno = (globalThis as unknown as { Deno: DenoGlobal }).Deno;

/**
 * Reads a file that sits beside this bundle, whatever the current directory. Everything is read at
 * start-up: a server that cannot read its kernels must not listen and answer 500 to every request
 * (a relative --allow-read=dist/edge started from another directory did exactly that).
 */
async function readBeside(name: string): Promise<Uint8Array> {
  const url = new URL(`./${name}`, import.meta.url);
  try {
    return await deno.readFile(url);
  } catch (error) {
    const dir = decodeURIComponent(new URL('./', import.meta.url).pathname);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `clipsift edge: cannot read ${decodeURIComponent(url.pathname)} (${reason}); start with --allow-read=${dir}`,
    );
  }
}

const [kernels, target, gram] = await Promise.all([
  readBeside('clipsift.baseline.wasm'),
  readBeside('target.npy'),
  readBeside('target.gram.bin'),
]);

export default createScoreApp({
  variant: 'baseline',
  kernels: async () => kernels,
  target: async () => ({ name: 'target.npy', bytes: target }),
  gram: async () => ({ name: 'target.gram.bin', bytes: gram }),
  variables: readEnv,
});

/**
 * An environment variable, or undefined without --allow-env for it. Asked first, so Deno never prompts:
 * started from a terminal without --allow-env, `deno serve` would otherwise stop at the first request
 * to ask on that terminal, and answer nothing until someone did.
 */
function readEnv(name: string): string | undefined {
  if (deno.permissions?.querySync && deno.permissions.querySync({ name: 'env', variable: name }).state !== 'granted')
    return undefined;
  try {
    return deno.env.get(name);
  } catch {
    return undefined;
  }
}
