/**
 * Servers the remote-io tests start on 127.0.0.1 free ports and stop in teardown: a static HTTP server
 * that honours Range and injects faults on request, and s3rver (an S3-compatible store from npm).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { putS3Object } from '../../src/io/s3.js';

/** What the server does with one request (decided per request by the test). */
export type Fault =
  | 'none'
  | 'status500'
  | 'status503'
  | 'reset' // send half the body, then destroy the socket
  | 'stall' // send half the body, then nothing (until the client gives up)
  | 'slow' // send the body in small pieces with pauses (within the idle timeout)
  | 'longLength' // declare a Content-Length larger than the body, then end
  | 'wrongRange' // answer with a Content-Range one byte off
  | 'ignoreRange'; // answer 200 with the whole file

export interface RangeServer {
  url: string;
  /** Requests seen, in order (method, path, range header, query string with its '?' or ''). */
  log: { method: string; path: string; range: string | undefined; query: string }[];
  /** Choose the fault for each request (default: none). */
  fault: (request: { method: string; path: string; index: number }) => Fault;
  files: Map<string, Uint8Array>;
  /** Statuses to answer for paths (e.g. 403), before any fault. */
  statuses: Map<string, number>;
  close(): Promise<void>;
}

/** Cross-origin headers for pages reading the server: none, all a ranged reader needs, or Allow-Origin alone. */
export type Cors = 'none' | 'full' | 'origin-only';

/**
 * Start a static file server over `files` (path → bytes) on 127.0.0.1. `signed` (path → query string)
 * makes those paths behave as GET-presigned objects do on S3: any other query, none, or a HEAD is 403.
 */
export async function startRangeServer(
  files: Record<string, Uint8Array>,
  options: { cors?: Cors; signed?: Record<string, string> } = {},
): Promise<RangeServer> {
  const cors = options.cors ?? 'none';
  const signed = new Map(Object.entries(options.signed ?? {}));
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  const state: RangeServer = {
    url: '',
    log: [],
    fault: () => 'none',
    files: new Map(Object.entries(files)),
    statuses: new Map(),
    close: async () => undefined,
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname);
    const index = state.log.length;
    state.log.push({ method: req.method ?? '', path, range: req.headers.range, query: url.search });
    if (cors !== 'none') res.setHeader('access-control-allow-origin', '*');
    if (cors === 'full') {
      res.setHeader('access-control-expose-headers', 'Content-Range, Accept-Ranges, ETag, Content-Length');
      if (req.method === 'OPTIONS') {
        res
          .writeHead(204, { 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'Range' })
          .end();
        return;
      }
    }
    const signature = signed.get(path);
    if (signature !== undefined && (url.search !== signature || req.method !== 'GET')) {
      res.writeHead(403).end();
      return;
    }
    const status = state.statuses.get(path);
    if (status) {
      res.writeHead(status).end();
      return;
    }
    const bytes = state.files.get(path);
    if (!bytes) {
      res.writeHead(404).end();
      return;
    }
    const fault = state.fault({ method: req.method ?? '', path, index });
    if (fault === 'status500' || fault === 'status503') {
      res.writeHead(fault === 'status500' ? 500 : 503).end('trouble');
      return;
    }
    const etag = `"${bytes.length}-${bytes[0] ?? 0}"`;
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-length': bytes.length, etag, 'accept-ranges': 'bytes' }).end();
      return;
    }
    const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = bytes.length - 1;
    let code = 200;
    if (match && fault !== 'ignoreRange') {
      start = Number(match[1]);
      end = Math.min(Number(match[2]), bytes.length - 1);
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
        return;
      }
      code = 206;
    }
    const body = bytes.subarray(start, end + 1);
    const headers: Record<string, string | number> = { etag, 'content-length': body.length };
    if (code === 206) {
      const shift = fault === 'wrongRange' ? 1 : 0;
      headers['content-range'] = `bytes ${start + shift}-${end + shift}/${bytes.length}`;
    }
    if (fault === 'longLength') {
      headers['content-length'] = body.length + 10;
      res.writeHead(code, headers);
      res.write(body);
      // End the response without the promised bytes: the socket closes short.
      later(5, () => res.socket?.destroy());
      return;
    }
    res.writeHead(code, headers);
    const half = Math.floor(body.length / 2);
    if (fault === 'reset' || fault === 'stall') {
      res.write(body.subarray(0, half));
      if (fault === 'reset') later(5, () => res.socket?.destroy());
      return; // 'stall': the client's idle timer ends it
    }
    if (fault === 'slow') {
      const piece = Math.max(1, Math.ceil(body.length / 4));
      const send = (at: number) => {
        if (res.destroyed) return;
        if (at >= body.length) {
          res.end();
          return;
        }
        res.write(body.subarray(at, at + piece));
        later(20, () => send(at + piece));
      };
      send(0);
      return;
    }
    res.end(body);
  };
  const server: Server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = async () => {
    for (const timer of timers) clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

/**
 * A Range server answering like S3 to presigned URLs (startRangeServer's `signed`): `files`, plus each
 * `[prefix, dir, keep?]`'s files (those `keep` accepts) under `prefix/<name>`, each path under a signature
 * of its own. `signatures` is filled in place (path → query), so a test can hold it before the server starts.
 */
export async function startSignedServer(
  files: Record<string, Uint8Array>,
  dirs: [prefix: string, dir: string, keep?: (name: string) => boolean][],
  signatures: Record<string, string> = {},
): Promise<RangeServer> {
  const all = { ...files };
  for (const [prefix, dir, keep] of dirs) {
    for (const name of readdirSync(dir))
      if (!keep || keep(name)) all[`${prefix}/${name}`] = new Uint8Array(readFileSync(join(dir, name)));
  }
  let n = 0;
  for (const path of Object.keys(all))
    signatures[path] = `?X-Amz-Expires=3600&X-Amz-Signature=${(++n).toString(16).padStart(8, '0')}`;
  return startRangeServer(all, { signed: signatures });
}

export interface S3Server {
  endpoint: string;
  /** AWS_* variables pointing at this server with its credentials. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Start s3rver on a free 127.0.0.1 port with the given (empty) buckets, storing under a temp dir. */
export async function startS3(buckets: string[]): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), 'clipsift-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const address = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    env: {
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
    },
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * Puts every file of `dir` into the store as `${s3Prefix}/<name>` and returns the same files keyed
 * `${httpPath}/<name>`, for startRangeServer to serve the pool over http too.
 */
export async function publishDir(
  s3: S3Server,
  dir: string,
  s3Prefix: string,
  httpPath: string,
): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    await putS3Object(`${s3Prefix}/${name}`, bytes, { env: s3.env });
    files[`${httpPath}/${name}`] = bytes;
  }
  return files;
}

/** A pass-through HTTP proxy that logs every request: to count what a client asks of a server (e.g. s3rver). */
export interface LoggingProxy {
  url: string;
  /** Requests seen, in order: method, path with query, range header. */
  log: { method: string; path: string; range: string | undefined }[];
  close(): Promise<void>;
}

/** Start a LoggingProxy on a free 127.0.0.1 port in front of `upstream` (http://host:port). */
export async function startLoggingProxy(upstream: string): Promise<LoggingProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const log: LoggingProxy['log'] = [];
  const server = createServer((req, res) => {
    log.push({ method: req.method ?? '', path: req.url ?? '/', range: req.headers.range });
    const forward = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
