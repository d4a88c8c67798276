/**
 * `clipsift serve-demo`: serves the browser demo (dist/web) on the loopback interface.
 *
 * The page scores in a worker pool over SharedArrayBuffer, which browsers only expose to
 * cross-origin isolated pages; that is why every response carries COOP/COEP (and CORP, so the
 * page's own subresources pass require-corp). Without the headers the demo still runs, on one thread.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { open, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from './command.js';
import { parseCommandArgs, portOption, UsageError } from './args.js';
import { closeOnSignal } from './close-on-signal.js';

/** dist/lib/cli/serve-demo.js → dist/web/ */
const DEFAULT_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.npy': 'application/octet-stream',
  '.npz': 'application/octet-stream',
  '.parquet': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers that make the page cross-origin isolated (so SharedArrayBuffer and threads are available). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export interface DemoServerOptions {
  /** Directory to serve; defaults to the built demo in dist/web. */
  root?: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
}

export interface DemoServer {
  /** Base URL the server answers on, with a trailing slash. */
  url: string;
  close(): Promise<void>;
}

/** Starts the static server and resolves once it listens. */
export async function serveDemo(options: DemoServerOptions = {}): Promise<DemoServer> {
  const root = resolve(options.root ?? DEFAULT_ROOT);
  const rootStat = await stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new Error(`serve-demo: ${root} does not exist; run \`npm run build\` first`);
  }
  const server = createServer((request, response) => {
    handle(root, request, response).catch(() => {
      if (!response.headersSent) respond(response, 500, 'internal error');
      else response.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 8787, host, () => done());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${hostInUrl}:${port}/`, close: () => closeServer(server) };
}

async function handle(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('Allow', 'GET, HEAD');
    return respond(response, 405, 'method not allowed');
  }
  const path = resolvePath(root, request.url ?? '/');
  if (!path) return respond(response, 404, 'not found');
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return respond(response, 404, 'not found');
  try {
    const info = await file.stat();
    if (!info.isFile()) return respond(response, 404, 'not found');
    response.writeHead(200, {
      ...ISOLATION_HEADERS,
      'Content-Type': MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(info.size),
      // The demo is rebuilt in place during development; never serve a stale bundle.
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    if (request.method === 'HEAD') return void response.end();
    await new Promise<void>((done, fail) => {
      const stream = file.createReadStream({ autoClose: false });
      stream.on('error', fail);
      response.on('close', () => done());
      stream.pipe(response);
    });
  } finally {
    await file.close();
  }
}

/** Maps a request path to a file under root, or undefined when it would escape root. */
function resolvePath(root: string, requestUrl: string): string | undefined {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(requestUrl, 'http://localhost').pathname);
  } catch {
    return undefined;
  }
  if (pathname.includes('\0')) return undefined;
  if (pathname.endsWith('/')) pathname += 'index.html';
  const path = resolve(root, '.' + pathname);
  return path === root || path.startsWith(root + sep) ? path : undefined;
}

function respond(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(message + '\n');
}

function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    server.close(() => done());
    // Keep-alive connections from a browser would otherwise hold close() open.
    server.closeAllConnections();
  });
}

const usage = `usage: clipsift serve-demo [--port N] [--host 127.0.0.1]

Serves the browser demo (built into dist/web by \`npm run build\`) with the
cross-origin isolation headers that let it score on several threads.

options:
  --port N     port to listen on (default 8787; 0 picks a free one)
  --host H     interface to bind (default 127.0.0.1, this machine only)
  -h, --help   show this help`;

export const command: Command = {
  name: 'serve-demo',
  summary: 'serve the browser demo on 127.0.0.1 (with cross-origin isolation, so it can use threads)',
  usage,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs(argv, {
      port: { type: 'string' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    if (positionals.length > 0)
      throw new UsageError(`serve-demo takes no positional arguments, got '${positionals[0]}'`);
    const port = portOption(values.port);
    const server = await serveDemo({ port, host: values.host ?? '127.0.0.1' });
    console.log(`clipsift demo: ${server.url}  (Ctrl-C to stop)`);
    await closeOnSignal(server);
    return 0;
  },
};
