/**
 * NormSim targets named by URL in a request (`POST /score?target=https://…`): read through io's http(s)
 * byte source (ranged GETs with retries, the ETag checked on every response) and io's embedding-file
 * reader (.npy, .npz, .pt, .safetensors, .parquet), prepared by the engine from their rows, and kept per
 * isolate by URL and ETag. Only URLs under the deployment's TARGET_URL_PREFIXES are read (the handler
 * fetches nothing a client names freely), and only up to MAX_TARGET_BYTES.
 */
import type { Embeddings, Engine, Target } from '../index.js';
import { InputError } from '../io/errors.js';
import type { FileSystem } from '../io/file-system.js';
import { isHttpUrl, openHttpSource, type RemoteOptions, urlWithoutQuery } from '../io/http.js';
import { openEmbeddingFile } from '../io/layouts.js';
import { readAllRows } from '../io/reader.js';
import type { ByteSource } from '../io/source.js';
import { HttpError } from './http-error.js';

/** Which target URLs a deployment reads, and how large they may be. */
export interface TargetUrlConfig {
  /** URL prefixes `?target=` may start with (TARGET_URL_PREFIXES, space- or comma-separated); none: no URLs. */
  prefixes: string[];
  /** Largest target file read, in bytes (MAX_TARGET_BYTES, default 64 MiB). */
  maxBytes: number;
}

export const DEFAULT_MAX_TARGET_BYTES = 64 * 1024 * 1024;

/** Targets kept per isolate; the oldest is dropped first. */
const CACHED_TARGETS = 4;

/** The target URL settings from named variables (Worker vars, Deno's environment); unset or invalid: defaults. */
export function targetUrlConfig(read: (name: string) => unknown): TargetUrlConfig {
  const prefixes = read('TARGET_URL_PREFIXES');
  const max = Number(read('MAX_TARGET_BYTES'));
  return {
    prefixes: typeof prefixes === 'string' ? prefixes.split(/[\s,]+/).filter((prefix) => prefix !== '') : [],
    maxBytes: Number.isSafeInteger(max) && max > 0 ? max : DEFAULT_MAX_TARGET_BYTES,
  };
}

/** A target read from a URL, prepared for both p. */
export interface UrlTarget {
  url: string;
  etag: string | undefined;
  shape: [number, number];
  normSimInf: Target;
  normSim2: Target;
}

/** A failure of the server holding the target (answered 502), as opposed to a bad target file (400). */
class UpstreamError extends Error {}

/**
 * The URL targets of one isolate: `get` opens the URL (a HEAD, or a one-byte GET for a signed URL: size and ETag), answers from the cache
 * when the same URL has the same ETag, else reads and prepares it. Objects without an ETag are read anew
 * on every request.
 */
export class UrlTargets {
  private readonly cache = new Map<string, Promise<UrlTarget>>();

  constructor(private readonly remote: RemoteOptions = { retries: 2, backoffMs: 200, idleTimeoutMs: 10_000 }) {}

  /** @throws {HttpError} 400 for a URL not allowed, too large or not a target file; 502 when its server fails */
  async get(url: string, config: TargetUrlConfig, engine: Engine): Promise<UrlTarget> {
    checkAllowed(url, config);
    let source: ByteSource;
    try {
      source = await openHttpSource(url, this.remote);
    } catch (error) {
      throw upstream(url, error);
    }
    if (source.size > config.maxBytes)
      throw new HttpError(
        400,
        `target ${url} is ${source.size} bytes, over this deployment's MAX_TARGET_BYTES (${config.maxBytes})`,
      );
    const key = source.etag === undefined ? undefined : `${url}\n${source.etag}`;
    const cached = key === undefined ? undefined : this.cache.get(key);
    if (cached) return cached;
    const reading = readTarget(url, source, engine);
    if (key !== undefined) {
      for (const other of this.cache.keys()) if (other.startsWith(`${url}\n`)) this.cache.delete(other);
      this.cache.set(key, reading);
      while (this.cache.size > CACHED_TARGETS) this.cache.delete(this.cache.keys().next().value!);
      // A failed read is not kept: the next request tries again.
      reading.catch(() => this.cache.get(key) === reading && this.cache.delete(key));
    }
    return reading;
  }
}

function checkAllowed(url: string, config: TargetUrlConfig): void {
  if (config.prefixes.length === 0)
    throw new HttpError(
      400,
      `target ${url}: this deployment reads no target URLs (its operator allows some with TARGET_URL_PREFIXES)`,
    );
  if (!isHttpUrl(url)) throw new HttpError(400, `target ${url} is not an http:// or https:// URL`);
  if (!config.prefixes.some((prefix) => url.startsWith(prefix)))
    throw new HttpError(
      400,
      `target ${url} is not under this deployment's TARGET_URL_PREFIXES (${config.prefixes.join(' ')})`,
    );
}

function upstream(url: string, error: unknown): HttpError {
  const cause = error instanceof UpstreamError ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause);
  // io's messages already start with the URL (without its query string, which may be a signature).
  return new HttpError(502, `target ${message.startsWith(urlWithoutQuery(url)) ? message : `${url}: ${message}`}`);
}

async function readTarget(url: string, source: ByteSource, engine: Engine): Promise<UrlTarget> {
  // Reads that fail are the server's trouble (502); what the bytes say is the file's (400).
  const tagged: ByteSource = {
    name: source.name,
    size: source.size,
    read: (offset, length) =>
      source.read(offset, length).catch((error: unknown) => {
        throw new UpstreamError('read failed', { cause: error });
      }),
  };
  // The file's kind from its path: a query string (a signed URL's) is not part of the name.
  const path = urlWithoutQuery(url);
  const fs: FileSystem = {
    open: async () => tagged,
    list: async (dir) => {
      throw new InputError(dir, 'is not a directory');
    },
  };
  try {
    const rows: Embeddings = await readAllRows(await openEmbeddingFile(fs, path));
    return {
      url,
      etag: source.etag,
      shape: [rows.rows, rows.dim],
      // As the CLI and the library prepare a target from its rows (the engine builds G itself above dim rows).
      normSimInf: await engine.prepareTarget(rows, { p: Infinity }),
      normSim2: await engine.prepareTarget(rows, { p: 2 }),
    };
  } catch (error) {
    if (error instanceof UpstreamError) throw upstream(url, error);
    if (error instanceof InputError) throw new HttpError(400, `target ${error.message}`);
    throw error;
  }
}
