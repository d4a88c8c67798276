/**
 * Starts the built edge function (dist/edge) in its two target runtimes on 127.0.0.1:
 * workerd through miniflare (the same module rules as wrangler.toml), and `deno serve` from the npm
 * `deno` package. Both get the same limits so the error-code tests can hit them with small bodies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

export const EDGE_DIR = fileURLToPath(new URL('../../dist/edge/', import.meta.url));
export const DENO = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));

export interface EdgeLimits {
  maxBodyBytes: number;
  maxJsonBytes: number;
  maxRows: number;
}

function limitVars(limits: EdgeLimits): Record<string, string> {
  return {
    MAX_BODY_BYTES: String(limits.maxBodyBytes),
    MAX_JSON_BYTES: String(limits.maxJsonBytes),
    MAX_ROWS: String(limits.maxRows),
  };
}

export interface RunningEdge {
  name: 'workerd' | 'deno';
  url: URL;
  stop(): Promise<void>;
}

function checkBuilt(): void {
  if (!existsSync(`${EDGE_DIR}handler.js`)) throw new Error(`${EDGE_DIR}handler.js not found; run npm run build`);
}

/** workerd with the bundle, its limits, and other Worker vars (TARGET_URL_PREFIXES, MAX_TARGET_BYTES). */
export async function startWorkerd(limits: EdgeLimits, vars: Record<string, string> = {}): Promise<RunningEdge> {
  checkBuilt();
  const mf = new Miniflare({
    modules: true,
    scriptPath: `${EDGE_DIR}handler.js`,
    modulesRules: [
      { type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: false },
      { type: 'Data', include: ['**/*.npy', '**/*.bin'], fallthrough: false },
    ],
    compatibilityDate: '2026-04-01',
    host: '127.0.0.1',
    port: 0,
    bindings: { ...limitVars(limits), ...vars },
  });
  const url = await mf.ready;
  return { name: 'workerd', url, stop: () => mf.dispose() };
}

/** `deno serve`'s arguments for the built bundle on a free 127.0.0.1 port, reading its own directory; `allow`: more permission flags. */
export function denoServeArgs(allow: string[] = []): string[] {
  return ['serve', '--host', '127.0.0.1', '--port', '0', `--allow-read=${EDGE_DIR}`, ...allow, `${EDGE_DIR}deno.js`];
}

/**
 * The URL a `deno serve` child prints once it listens (on stdout or stderr), rejected if the child exits
 * first; `output()` is everything it has printed so far.
 */
export function denoListening(child: ChildProcess): { url: Promise<URL>; output: () => string } {
  let output = '';
  const url = new Promise<URL>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match) resolve(new URL(match[1]!));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`deno serve exited with code ${code}:\n${output}`)));
  });
  return { url, output: () => output };
}

/** `deno serve` with the bundle, its limits, other variables (allowed to be read) and hosts it may fetch from. */
export async function startDeno(
  limits: EdgeLimits,
  vars: Record<string, string> = {},
  allowNet: string[] = [],
): Promise<RunningEdge> {
  checkBuilt();
  const child = spawn(
    DENO,
    denoServeArgs([
      `--allow-env=${['MAX_BODY_BYTES', 'MAX_JSON_BYTES', 'MAX_ROWS', ...Object.keys(vars)].join(',')}`,
      ...(allowNet.length > 0 ? [`--allow-net=${allowNet.join(',')}`] : []),
    ]),
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...limitVars(limits), ...vars },
    },
  );
  const url = await denoListening(child).url;
  return {
    name: 'deno',
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
