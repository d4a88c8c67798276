/**
 * Paths that may be URLs: one place that sends s3:// to s3.ts, http(s):// to http.ts and everything else
 * to a local file system, so every reader and layout takes remote inputs through the same interface.
 * Runtime-neutral; Node's disk comes in as the `local` FileSystem (node-files.ts).
 */
import { InputError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { isHttpUrl, openHttpSource } from './http.js';
import { isS3Url, listS3, openS3Source, type S3Options } from './s3.js';
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
  return {
    list: async (dir) => (isRemotePath(dir) ? listRemote(dir, options) : local ? local.list(dir) : noLocal(dir)),
    open: async (path) => (isRemotePath(path) ? openRemote(path, options) : local ? local.open(path) : noLocal(path)),
  };
}
