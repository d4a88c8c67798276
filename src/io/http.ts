/**
 * Runtime-neutral HTTP(S) byte sources: ranged GETs through the global fetch, so the same code reads a
 * remote shard in Node, Deno, browsers (CORS permitting) and edge functions.
 *
 * Reliability contract: a read either returns exactly the bytes asked for, from the same version of the
 * object (ETag checked on every response when the server sends one), or throws an InputError naming the
 * URL. Server errors (5xx, 429), connection resets, short bodies and stalls are retried a bounded number of
 * times with exponential backoff; any other 4xx fails at once. A response whose Content-Range or length
 * does not match the request is never used.
 */
import { InputError } from './errors.js';
import { checkRange, concatBytes, type ByteSource } from './source.js';

/** How remote reads behave; every field has a default. */
export interface RemoteOptions {
  /** The fetch to use (tests inject one; defaults to globalThis.fetch). */
  fetch?: typeof fetch;
  /** Attempts after the first, for retryable failures (default 5). */
  retries?: number;
  /** First backoff in ms, doubled on every retry, with jitter (default 250). */
  backoffMs?: number;
  /** A request fails when no byte arrives for this long, in ms (default 30 000). */
  idleTimeoutMs?: number;
  /** Concurrent requests per source (default 4). */
  concurrency?: number;
  /** Reads larger than this are split into parallel ranged GETs (default 8 MiB). */
  partBytes?: number;
}

/** Resolved options. */
export interface RemoteSettings {
  fetch: typeof fetch;
  retries: number;
  backoffMs: number;
  idleTimeoutMs: number;
  concurrency: number;
  partBytes: number;
}

export function remoteSettings(options: RemoteOptions = {}): RemoteSettings {
  return {
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    retries: options.retries ?? 5,
    backoffMs: options.backoffMs ?? 250,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    concurrency: Math.max(1, options.concurrency ?? 4),
    partBytes: Math.max(1, options.partBytes ?? 8 * 1024 * 1024),
  };
}

/** Whether `path` names an http(s):// resource. */
export function isHttpUrl(path: string): boolean {
  return /^https?:\/\//i.test(path);
}

/** A failure worth another attempt, with what to say if it was the last one. */
export class RetryableError extends Error {}

/** A failed response: retryable or not by status, with a one-line reason. */
export function statusError(url: string, response: Response, detail = ''): Error {
  const reason = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${detail}`;
  if (response.status >= 500 || response.status === 429 || response.status === 408) return new RetryableError(reason);
  return new InputError(url, reason);
}

/**
 * Run `attempt` until it succeeds, retrying RetryableErrors and network failures (fetch's TypeError,
 * aborts from the idle timer) with exponential backoff. After the last attempt throws one InputError
 * naming `url`, the attempts made and the last failure.
 */
export async function withRetries<T>(url: string, settings: RemoteSettings, attempt: () => Promise<T>): Promise<T> {
  let last = '';
  for (let tries = 0; tries <= settings.retries; tries++) {
    if (tries > 0) {
      const delay = settings.backoffMs * 2 ** (tries - 1) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    try {
      return await attempt();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      last = err instanceof RetryableError ? err.message : describeNetworkError(err);
    }
  }
  throw new InputError(url, `failed after ${settings.retries + 1} attempts; last: ${last}`);
}

/** Server trouble, network failures (fetch's TypeError: resets, refused, terminated bodies) and aborts. */
function isRetryable(err: unknown): boolean {
  if (err instanceof RetryableError || err instanceof TypeError) return true;
  const name = (err as { name?: string } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  return detail && detail !== err.message ? `${err.message} (${detail})` : err.message;
}

/**
 * fetch with an idle timer: aborted when neither headers nor body bytes arrive for `idleTimeoutMs`.
 * Returns the response and a function that reads the body into exactly `expected` bytes (or fails).
 * The timer runs only while something is awaited (the headers, then each body chunk), so a response
 * whose body is discarded or never read leaves no timer behind to hold the process open.
 */
export async function fetchIdle(
  settings: RemoteSettings,
  request: Request | string,
  init: RequestInit = {},
): Promise<{ response: Response; body(expected?: number): Promise<Uint8Array> }> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(
      () => controller.abort(new RetryableError(`no data for ${settings.idleTimeoutMs} ms`)),
      settings.idleTimeoutMs,
    );
  };
  const disarm = () => timer !== undefined && clearTimeout(timer);
  arm();
  let response: Response;
  try {
    response = await settings.fetch(request, { ...init, signal: controller.signal });
  } catch (err) {
    throw controller.signal.aborted ? controller.signal.reason : err;
  } finally {
    disarm();
  }
  const body = async (expected?: number): Promise<Uint8Array> => {
    try {
      if (!response.body) return new Uint8Array(0);
      const reader = response.body.getReader();
      const chunks: Uint8Array[] = [];
      let total = 0;
      const out = expected !== undefined ? new Uint8Array(expected) : undefined;
      for (;;) {
        arm();
        const { done, value } = await reader.read();
        if (done) break;
        if (out) {
          if (total + value.length > out.length) {
            await reader.cancel().catch(() => undefined);
            throw new RetryableError(`body longer than the ${expected} bytes asked for`);
          }
          out.set(value, total);
        } else chunks.push(value);
        total += value.length;
      }
      if (out) {
        if (total !== out.length) throw new RetryableError(`body ended after ${total} of ${expected} bytes`);
        return out;
      }
      return concatBytes(chunks);
    } catch (err) {
      throw controller.signal.aborted ? controller.signal.reason : err;
    } finally {
      disarm();
    }
  };
  return { response, body };
}

/** Discard a response body we will not read, so the connection can be reused or closed. */
export async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** A counting semaphore: at most `limit` tasks at once. */
export function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** How a remote source makes its requests: plain for https, signed for s3. */
export interface RequestMaker {
  /** Name used in messages (the URL as the user wrote it). */
  name: string;
  /** A fresh request (signed anew for every attempt). */
  request(method: 'GET' | 'HEAD', headers: Record<string, string>): Promise<Request>;
  /** Extra words for a 401/403 message (which credentials were used; never a secret). */
  denied?(): string;
  /**
   * How the size and ETag are learnt: a HEAD (default), or a one-byte ranged GET for a URL signed for GET
   * alone (a presigned URL's signature covers the method, so a HEAD with it is refused).
   */
  sizeBy?: 'head' | 'get';
}

/** The error for a failed response; a 401/403 says which credentials were used (maker.denied). */
export function failure(maker: Pick<RequestMaker, 'name' | 'denied'>, response: Response, what: string): Error {
  const denied = response.status === 401 || response.status === 403 ? (maker.denied?.() ?? '') : '';
  return statusError(maker.name, response, `${what}${denied ? ` (${denied})` : ''}`);
}

/**
 * Open a remote object as a ByteSource: a HEAD for its size and ETag, then ranged GETs.
 * Reads of one source run at most `concurrency` requests at once; large reads are split into parts.
 * @throws {InputError} on a 4xx (at once) or when retries are exhausted
 */
export async function openRemoteSource(maker: RequestMaker, options: RemoteOptions = {}): Promise<ByteSource> {
  const settings = remoteSettings(options);
  const name = maker.name;
  const head = await withRetries(name, settings, async () => {
    const byGet = maker.sizeBy === 'get';
    const { response } = await fetchIdle(
      settings,
      await maker.request(byGet ? 'GET' : 'HEAD', byGet ? FIRST_BYTE : {}),
    );
    await discard(response);
    if (response.status === 404) throw new InputError(name, 'no such file (HTTP 404)');
    const etag = response.headers.get('etag');
    if (byGet) return { size: sizeFromFirstByte(maker, response), etag };
    if (!response.ok) throw failure(maker, response, '');
    const length = Number(response.headers.get('content-length') ?? NaN);
    if (!Number.isSafeInteger(length) || length < 0)
      throw new InputError(name, 'the server gives no Content-Length; cannot read it by ranges');
    return { size: length, etag };
  });
  const { size, etag } = head;
  const slot = limiter(settings.concurrency);

  const readPart = (offset: number, length: number): Promise<Uint8Array> =>
    slot(() =>
      withRetries(name, settings, async () => {
        const end = offset + length - 1;
        const { response, body } = await fetchIdle(
          settings,
          await maker.request('GET', { range: `bytes=${offset}-${end}` }),
        );
        if (response.status === 404) {
          await discard(response);
          throw new InputError(name, 'disappeared while being read (HTTP 404)');
        }
        if (response.status !== 206 && response.status !== 200) {
          await discard(response);
          throw failure(maker, response, ` for bytes ${offset}-${end}`);
        }
        const tag = response.headers.get('etag');
        if (etag && tag && tag !== etag) {
          await discard(response);
          throw new InputError(name, `changed while being read (ETag ${etag} became ${tag})`);
        }
        if (response.status === 200) {
          // The whole object: acceptable only when that is what we asked for.
          if (offset !== 0 || length !== size) {
            await discard(response);
            throw new InputError(name, 'the server ignores Range requests; cannot read it by ranges');
          }
          return body(length);
        }
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
        if (!range || Number(range[1]) !== offset || Number(range[2]) !== end) {
          await discard(response);
          throw new RetryableError(
            `Content-Range '${response.headers.get('content-range')}' does not match bytes ${offset}-${end}`,
          );
        }
        if (range[3] !== '*' && Number(range[3]) !== size) {
          await discard(response);
          throw new InputError(name, `changed while being read (size ${size} became ${range[3]})`);
        }
        return body(length);
      }),
    );

  return {
    name,
    size,
    ...(etag ? { etag } : {}),
    async read(offset, length) {
      checkRange(name, size, offset, length);
      if (length === 0) return new Uint8Array(0);
      if (length <= settings.partBytes) return readPart(offset, length);
      const out = new Uint8Array(length);
      const parts: Promise<void>[] = [];
      for (let at = 0; at < length; at += settings.partBytes) {
        const count = Math.min(settings.partBytes, length - at);
        parts.push(readPart(offset + at, count).then((bytes) => out.set(bytes, at)));
      }
      // Wait for every part before failing, so no request outlives the read that started it.
      const results = await Promise.allSettled(parts);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return out;
    },
  };
}

const FIRST_BYTE = { range: 'bytes=0-0' };

/** The object's size from the answer to a GET of its first byte (`sizeBy: 'get'`). */
function sizeFromFirstByte(maker: RequestMaker, response: Response): number {
  const range = response.headers.get('content-range') ?? '';
  const length = Number(response.headers.get('content-length') ?? NaN);
  // An empty object has no first byte (416, 'bytes */0'); a one-byte one may come whole (200).
  if (response.status === 416 && /^bytes \*\/0$/.test(range)) return 0;
  if (response.status === 200 && (length === 0 || length === 1)) return length;
  if (response.status === 200)
    throw new InputError(maker.name, 'the server ignores Range requests; cannot read it by ranges');
  if (!response.ok) throw failure(maker, response, '');
  const match = /^bytes 0-0\/(\d+)$/.exec(range);
  if (response.status !== 206 || !match)
    throw new RetryableError(`Content-Range '${response.headers.get('content-range')}' does not match bytes 0-0`);
  return Number(match[1]);
}

/** An http(s) URL without its query string and fragment ('https://host/a.npy?X-Amz-Signature=…' → 'https://host/a.npy'). */
export function urlWithoutQuery(url: string): string {
  return url.replace(/[?#].*$/s, '');
}

/**
 * Open an http(s):// URL as a ByteSource read by ranged GETs. A URL with a query string (a signed URL:
 * presigned S3, a CDN token) keeps its query on every request, is sized by a ranged GET (its signature
 * may allow GET alone), and is named in messages without the query, which may be a credential.
 * @throws {InputError} naming the URL on a 4xx, a server without Content-Length, or exhausted retries
 */
export function openHttpSource(url: string, options: RemoteOptions = {}): Promise<ByteSource> {
  const name = urlWithoutQuery(url);
  return openRemoteSource(
    {
      name,
      request: async (method, headers) => new Request(url, { method, headers }),
      ...(name !== url ? { sizeBy: 'get' as const } : {}),
    },
    options,
  );
}
