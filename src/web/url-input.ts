/**
 * Pools and targets the page reads from URLs: http(s) locations read by ranged GETs through io's byte
 * sources (io/remote.ts remoteFileSystem, no local file system), from the browser, so the server must
 * allow this page to read them (CORS). The browser hides why a cross-origin read failed, so the
 * messages here say what the server must send.
 *
 * Signed URLs (a query string: presigned S3, CDN tokens) are files known by their path: the name and
 * type come from the path, and every request goes to the URL with its query. s3:// URLs are refused:
 * reading them means signing requests with AWS credentials, which a web page must not hold.
 */
import { InputError } from '../io/errors.js';
import type { FileSystem } from '../io/file-system.js';
import { isHttpUrl } from '../io/http.js';
import { remoteFileSystem, signedInputs } from '../io/remote.js';
import { isS3Url } from '../io/s3.js';

/** What a server must send for the page to read a file from it by ranges. */
export const CORS_NEEDS =
  'the server must send Access-Control-Allow-Origin (and allow the Range header) and expose Content-Range and Accept-Ranges (Access-Control-Expose-Headers) for ranged reads';

/** Why the page takes no s3:// URL, and what to give instead. */
export const S3_REFUSED =
  "the page does not read s3:// URLs: that needs AWS credentials to sign requests, which a web page must not hold; give the file's presigned https:// URL (aws s3 presign <s3 URL>), or its https:// URL if the bucket is public";

/**
 * The URLs in a text field or query parameters: whitespace-separated http(s):// URLs.
 * @throws {InputError} naming the first entry that is not an http(s) URL (an s3:// one: why, and what to give)
 */
export function parseUrls(texts: readonly string[]): string[] {
  const urls = texts.flatMap((text) => text.split(/\s+/)).filter((url) => url !== '');
  for (const url of urls) {
    if (isS3Url(url)) throw new InputError(url, S3_REFUSED);
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

/** URLs as the page reads them: the file system, and the path io's resolver and readers know each URL by. */
export interface UrlInputs {
  fs: FileSystem;
  /** One per URL given, in order: the URL without its query string (the URL itself when it has none). */
  paths: string[];
}

/**
 * The file system the page reads `urls` through (io's remote one, with corsFetch and few retries: a user
 * waits), and their paths. Signed URLs are read as every shell reads them (io/remote.ts signedInputs):
 * known by their path, opened with their query, and a file looked for beside a given one that the server
 * refuses says to give that file's signed URL too.
 */
export function urlInputs(urls: readonly string[]): UrlInputs {
  const { fs, paths } = signedInputs(
    remoteFileSystem(undefined, { fetch: corsFetch, retries: 2, backoffMs: 200 }),
    urls,
  );
  return { fs, paths };
}
