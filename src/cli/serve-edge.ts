/**
 * `clipsift serve-edge`: runs the built edge function (dist/edge) locally in workerd, the runtime of
 * Cloudflare Workers, through miniflare, on the loopback interface by default.
 *
 * The module rules are wrangler.toml's: the kernels load as a CompiledWasm module (workerd cannot
 * compile wasm from bytes), the target's .npy and Gram .bin as Data modules; `modulesRoot` is the
 * bundle's directory, so those modules resolve beside handler.js wherever the command is started.
 * miniflare (and the workerd binary it brings) is not a dependency of clipsift: install it to use this.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { OutputError } from '../io/errors.js';
import { numberOption, parseCommandArgs, portOption, UsageError } from './args.js';
import { closeOnSignal } from './close-on-signal.js';
import type { Command } from './command.js';

/** dist/lib/cli/serve-edge.js → dist/edge/ */
const DEFAULT_DIR = fileURLToPath(new URL('../../edge/', import.meta.url));

export interface EdgeServerOptions {
  /** The built edge bundle; default dist/edge of this package. */
  dir?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Interface to bind; default 127.0.0.1 (this machine only). */
  host?: string;
  /** Worker variables (MAX_BODY_BYTES, MAX_JSON_BYTES, MAX_ROWS), as in wrangler.toml's [vars]. */
  vars?: Record<string, string>;
}

export interface EdgeServer {
  /** Base URL the function answers on, with a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** The subset of miniflare's API used here. */
interface MiniflareLike {
  ready: Promise<URL>;
  dispose(): Promise<void>;
}

/**
 * Starts the edge function in workerd and resolves once it answers.
 * @throws {OutputError} when the bundle is not built or miniflare is not installed
 */
export async function serveEdge(options: EdgeServerOptions = {}): Promise<EdgeServer> {
  const dir = resolve(options.dir ?? DEFAULT_DIR);
  const script = resolve(dir, 'handler.js');
  if (!existsSync(script)) {
    throw new OutputError(dir, 'has no handler.js: build the edge bundle first (npm run build)');
  }
  let Miniflare: new (options: Record<string, unknown>) => MiniflareLike;
  try {
    ({ Miniflare } = (await import('miniflare')) as unknown as { Miniflare: typeof Miniflare });
  } catch {
    throw new OutputError('miniflare', 'is not installed; serve-edge runs workerd through it: npm install miniflare');
  }
  const mf = new Miniflare({
    modules: true,
    scriptPath: script,
    // Modules (the .wasm, .npy and .bin beside handler.js) resolve from the bundle's directory,
    // not from where the command was started.
    modulesRoot: dir,
    modulesRules: [
      { type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: false },
      { type: 'Data', include: ['**/*.npy', '**/*.bin'], fallthrough: false },
    ],
    compatibilityDate: '2026-04-01',
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8787,
    bindings: options.vars ?? {},
  });
  const url = await mf.ready;
  return { url: url.href, close: () => mf.dispose() };
}

const usage = `usage: clipsift serve-edge [--port N] [--host 127.0.0.1] [--dir dist/edge]

Runs the edge function (POST /score, GET /health; see src/edge/README.md) locally in workerd, the
Cloudflare Workers runtime, through miniflare (npm install miniflare), with wrangler.toml's rules.

options:
  --port N          port to listen on (default 8787; 0 picks a free one)
  --host H          interface to bind (default 127.0.0.1, this machine only)
  --dir D           the built edge bundle (default: this package's dist/edge)
  --max-rows N      rows per request (MAX_ROWS; default 4096)
  --max-body-bytes N  largest request body (MAX_BODY_BYTES; default 32 MiB)
  -h, --help        show this help`;

export const command: Command = {
  name: 'serve-edge',
  summary: 'run the edge function locally in workerd (via miniflare) on 127.0.0.1',
  usage,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      dir: { type: 'string' },
      'max-rows': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (positionals.length > 0)
      throw new UsageError(`serve-edge takes no positional arguments, got '${positionals[0]}'`);
    const port = portOption(values.port);
    const vars: Record<string, string> = {};
    if (values['max-rows'] !== undefined)
      vars.MAX_ROWS = String(numberOption('max-rows', values['max-rows'], 0, { integer: true, positive: true }));
    if (values['max-body-bytes'] !== undefined) {
      vars.MAX_BODY_BYTES = String(
        numberOption('max-body-bytes', values['max-body-bytes'], 0, { integer: true, positive: true }),
      );
    }
    const server = await serveEdge({ port, host: values.host ?? '127.0.0.1', dir: values.dir, vars });
    process.stdout.write(`clipsift edge: ${server.url}  (workerd; POST /score, GET /health; Ctrl-C to stop)\n`);
    await closeOnSignal(server);
    return 0;
  },
};
