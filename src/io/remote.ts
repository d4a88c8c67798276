/**
 * Paths that may be URLs: one place that sends s3:// to s3.ts, http(s):// to http.ts and everything else
 * to a local file system, so every reader and layout takes remote inputs through the same interface.
 * Runtime-neutral; Node's disk comes in as the `local` FileSystem (node-files.ts).
 */
import { InputError } from './errors.js';
import { pathKindIn, type FileSystem, type PathKind } from './file-system.js';
import { isHttpUrl, openHttpSource, urlWithoutQuery } from './http.js';
import { isS3Url, listS3, openS3Source, s3Kind, type S3Options } from './s3.js';
import type { ByteSource } from './source.js';

/** Whether `path` is an s3:// or http(s):// URL rather than a local path. */
export function isRemotePath(path: string): boolean {
  return isS3Url(path) || isHttpUrl(path);
}

/**
 * Open an s3:// or http(s):// URL as a ByteSource read by ranged GETs.
 * @throws {InputError} naming the URL if it is neither, or cannot be opened
 */
export function openRemote(url: string, options: S3Options = {}): Promise<ByteSource> {
  if (isS3Url(url)) return openS3Source(url, options);
  if (isHttpUrl(url)) return openHttpSource(url, options);
  throw new InputError(url, 'is not an s3:// or http(s):// URL');
}

/**
 * The entries directly under an s3:// prefix. http(s) servers have no listing: name the files.
 * @throws {InputError} naming the URL
 */
export function listRemote(url: string, options: S3Options = {}): Promise<string[]> {
  if (isS3Url(url)) return listS3(url, options);
  throw new InputError(url, 'cannot list an http(s):// directory; name its files, or use s3://');
}

/**
 * A FileSystem that reads s3:// and http(s):// URLs remotely and hands every other path to `local`
 * (none in browsers and edge functions: local paths are then an error).
 */
export function remoteFileSystem(local?: FileSystem, options: S3Options = {}): FileSystem {
  const noLocal = async (path: string): Promise<never> => {
    throw new InputError(path, 'is not an s3:// or http(s):// URL, and there is no local file system here');
  };
  const fs: FileSystem = {
    list: async (dir) => (isRemotePath(dir) ? listRemote(dir, options) : local ? local.list(dir) : noLocal(dir)),
    open: async (path) => (isRemotePath(path) ? openRemote(path, options) : local ? local.open(path) : noLocal(path)),
  };
  return {
    ...fs,
    // http(s): opened; s3: an object, else a prefix (s3Kind, as node-files asks); local paths: the local answer.
    kind: async (path) =>
      isHttpUrl(path)
        ? httpKind(path, options)
        : isS3Url(path)
          ? s3Kind(path, options)
          : local
            ? pathKindIn(local, path)
            : pathKindIn(fs, path),
  };
}

/**
 * An http(s) URL is a file when it can be opened, missing on a 404; any other failure (403, a refused
 * connection, a browser's CORS refusal) is thrown, so it is reported as itself and not as a missing file.
 */
async function httpKind(url: string, options: S3Options): Promise<PathKind> {
  try {
    const source = await openHttpSource(url, options);
    await source.close?.();
    return 'file';
  } catch (error) {
    if (error instanceof InputError && /\(HTTP 404\)$/.test(error.message)) return 'missing';
    throw error;
  }
}

/** Inputs some of which may be signed URLs: the file system to read them through, and the paths to name them by. */
export interface SignedInputs {
  /** `base`, reading each signed URL's path at the signed URL. */
  fs: FileSystem;
  /** One per input, in order: a signed URL without its query string (every other input as given). */
  paths: string[];
  /** Whether any input was a signed URL. */
  signed: boolean;
}

/**
 * What a signed http(s) URL (a query string: presigned S3, a CDN token) is read as, in every shell: a
 * file known by its path, so its name, its type and every message come from the path (the query may be a
 * credential), and opened at the URL with its query. A file the input resolver looks for beside a given
 * one (a DataComp shard's .npz beside its .parquet, a clip-retrieval part's siblings) is read at its own
 * signed URL when that was given too, else at its plain URL; when the server refuses that (401/403) while
 * signed URLs were given, the message says to give that file's signed URL as well, for a signature
 * reads only its own file.
 */
export function signedInputs(base: FileSystem, inputs: readonly string[]): SignedInputs {
  const signed = new Map<string, string>();
  const paths = inputs.map((input) => {
    if (!isHttpUrl(input)) return input;
    const path = urlWithoutQuery(input);
    if (path !== input && !signed.has(path)) signed.set(path, input);
    return path;
  });
  if (signed.size === 0) return { fs: base, paths, signed: false };
  const given = async <T>(path: string, use: (url: string) => Promise<T>): Promise<T> => {
    const url = signed.get(path);
    if (url !== undefined) return use(url);
    try {
      return await use(path);
    } catch (error) {
      if (!isHttpUrl(path) || !(error instanceof InputError) || !/^HTTP 40[13]\b/.test(error.problem)) throw error;
      throw new InputError(
        error.file,
        `${error.problem}; it was not given, and a signed URL reads only its own file: give this file's signed URL too`,
      );
    }
  };
  return {
    fs: {
      list: (dir) => base.list(dir),
      open: (path) => given(path, (url) => base.open(url)),
      kind: (path) => given(path, (url) => pathKindIn(base, url)),
    },
    paths,
    signed: true,
  };
}
