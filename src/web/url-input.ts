/**
 * Pools and targets the page reads from URLs: http(s) locations read by ranged GETs through io's byte
 * sources (io/remote.ts remoteFileSystem, no local file system), from the browser, so the server must
 * allow this page to read them (CORS). The browser hides why a cross-origin read failed, so the
 * messages here say what the server must send.
 */
import { InputError } from '../io/errors.js';
import type { FileSystem } from '../io/file-system.js';
import { isHttpUrl } from '../io/http.js';
import { remoteFileSystem } from '../io/remote.js';

/** What a server must send for the page to read a file from it by ranges. */
export const CORS_NEEDS =
  'the server must send Access-Control-Allow-Origin (and allow the Range header) and expose Content-Range and Accept-Ranges (Access-Control-Expose-Headers) for ranged reads';

/**
 * The URLs in a text field or query parameters: whitespace-separated http(s):// URLs.
 * @throws {InputError} naming the first entry that is not an http(s) URL
 */
export function parseUrls(texts: readonly string[]): string[] {
  const urls = texts.flatMap((text) => text.split(/\s+/)).filter((url) => url !== '');
  for (const url of urls) {
    if (!isHttpUrl(url)) throw new InputError(url, 'is not an http:// or https:// URL');
  }
  return urls;
}

/**
 * fetch for cross-origin reads: a network failure (which is what a CORS refusal looks like from a
 * page) says what the server must send, and a ranged answer whose Content-Range the page may not read
 * fails at once, naming the URL, instead of being retried as a wrong range.
 */
export const corsFetch: typeof fetch = async (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  let response: Response;
  try {
    response = await fetch(input, init);
  } catch (error) {
    // Still a TypeError: io retries it as a network failure, then names the URL and this reason.
    if (error instanceof TypeError)
      throw new TypeError(`${error.message}: the server is down, or it does not let this page read it (${CORS_NEEDS})`);
    throw error;
  }
  if (response.status === 206 && response.headers.get('content-range') === null) {
    await response.body?.cancel().catch(() => undefined);
    throw new InputError(
      url,
      `the server answers ranged reads but hides their Content-Range from this page: ${CORS_NEEDS}`,
    );
  }
  return response;
};

/** The file system the page reads URLs through: io's remote one, with corsFetch and few retries (a user waits). */
export function urlFileSystem(): FileSystem {
  return remoteFileSystem(undefined, { fetch: corsFetch, retries: 2, backoffMs: 200 });
}
