/**
 * Node-only file access: ByteSources over file handles, directory listing,
 * and atomic, no-clobber output writes. The only file in src/io that may
 * import node: modules (besides other node-*.ts).
 *
 * Every function here also takes s3:// and http(s):// URLs (remote.ts), so a
 * shell that opens, lists and writes through this module accepts remote
 * paths wherever it accepts local ones.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { link, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import process from 'node:process';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError, OutputError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { isRemotePath, listRemote, openRemote } from './remote.js';
import { isS3Url, listS3Objects, putS3Object, s3Exists, s3Kind } from './s3.js';
import { checkRange, concatBytes, type ByteSource } from './source.js';
import { readSubsetFile } from './subset-file.js';

/** A ByteSource over a local file; holds an OS handle from the first read until close(). */
export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

/** Remote requests from Node take credentials, region and endpoint from the environment (AWS_*). */
const remote = () => ({ env: process.env });

function isErrno(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { code?: string }).code ?? '');
}

/** The uids of a subset file (numpy.save'd uint32 pairs) at a path of `fs` (default: a local path or URL). */
export async function readSubsetFileAt(path: string, fs: FileSystem = nodeFileSystem): Promise<Uint32Array> {
  const source = await fs.open(path);
  try {
    return await readSubsetFile(source);
  } finally {
    await source.close?.();
  }
}

/**
 * Open a local file for random-access reads. The handle opens lazily and
 * reopens after close(), so thousands of shards can be listed and inspected
 * without holding thousands of descriptors.
 * @throws {InputError} if the path does not exist or is not a regular file
 */
export async function openFileSource(path: string): Promise<FileSource> {
  if (isRemotePath(path)) {
    const source = await openRemote(path, remote());
    return {
      name: source.name,
      size: source.size,
      read: (offset, length) => source.read(offset, length),
      close: async () => undefined,
    };
  }
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new InputError(path, 'is not a regular file');
    size = info.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(path, isErrno(err, 'ENOENT') ? 'no such file' : `cannot open: ${(err as Error).message}`);
  }
  return localFileSource(path, size);
}

/**
 * An existing output opened for reading, or undefined when nothing is there: one stat (or HEAD) where
 * outputExists followed by openFileSource would take two.
 * @throws {InputError} if something other than a regular file is there, or a remote store fails
 */
export async function openExistingFile(path: string): Promise<FileSource | undefined> {
  if (isRemotePath(path)) {
    try {
      return await openFileSource(path);
    } catch (err) {
      if (err instanceof InputError && /^no such file/.test(err.problem)) return undefined;
      throw err;
    }
  }
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  if (!info.isFile()) throw new InputError(path, 'is not a regular file');
  return localFileSource(path, info.size);
}

/** A local file of known size; its handle opens on the first read and again after close(). */
function localFileSource(path: string, size: number): FileSource {
  let handle: Promise<FileHandle> | undefined;
  return {
    name: path,
    size,
    async read(offset, length) {
      checkRange(path, size, offset, length);
      handle ??= open(path, 'r');
      const fd = await handle;
      const out = new Uint8Array(length);
      for (let filled = 0; filled < length; ) {
        const { bytesRead } = await fd.read(out, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw new InputError(path, `file shrank while being read (expected ${size} bytes)`);
        filled += bytesRead;
      }
      return out;
    },
    async close() {
      const current = handle;
      handle = undefined;
      if (current) await (await current).close();
    },
  };
}

/**
 * Names of the entries in a directory, sorted.
 * @throws {InputError} if it does not exist or is not a directory
 */
export async function listDirectory(path: string): Promise<string[]> {
  if (isRemotePath(path)) return listRemote(path, remote());
  try {
    return (await readdir(path)).sort();
  } catch (err) {
    throw new InputError(
      path,
      isErrno(err, 'ENOENT')
        ? 'no such directory'
        : isErrno(err, 'ENOTDIR')
          ? 'is not a directory'
          : `cannot list: ${(err as Error).message}`,
    );
  }
}

/** A file in a directory listing, with what tells a replaced file from the one listed before. */
export interface ListedFile {
  name: string;
  size: number;
  /** Changes when the file is replaced: the modification time (local) or the ETag (s3://). */
  version: string;
}

/**
 * The files of `dir` whose names `wanted` accepts, sorted, with their sizes and versions: on s3:// from
 * the listing alone, locally one stat per accepted name (a file gone meanwhile is left out).
 * @throws {InputError} if `dir` cannot be listed (an http(s):// URL has no listing)
 */
export async function listFiles(dir: string, wanted: (name: string) => boolean): Promise<ListedFile[]> {
  if (isS3Url(dir))
    return (await listS3Objects(dir, remote()))
      .filter((o) => wanted(o.name))
      .map((o) => ({ name: o.name, size: o.size, version: o.etag }));
  const files: ListedFile[] = [];
  for (const name of (await listDirectory(dir)).filter(wanted)) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) files.push({ name, size: info.size, version: String(info.mtimeMs) });
  }
  return files;
}

/**
 * What a path names: a file, a directory (an s3:// prefix with objects under it), or nothing.
 * An http(s):// URL is taken to be a file (there is no listing to tell otherwise).
 */
export async function pathKind(path: string): Promise<'file' | 'directory' | 'missing'> {
  if (isS3Url(path)) return s3Kind(path, remote());
  if (isRemotePath(path)) return 'file';
  const info = await stat(path).catch((error: unknown) => {
    // Deno's refused read is not a missing file: let the shell say which permission to grant.
    if (error instanceof Error && /^Requires read access/.test(error.message)) throw error;
    return undefined;
  });
  return !info ? 'missing' : info.isDirectory() ? 'directory' : 'file';
}

/** Whether an output path already exists (local or s3://). */
export async function outputExists(path: string): Promise<boolean> {
  if (isS3Url(path)) return s3Exists(path, remote());
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The local disk, and s3:// / http(s):// URLs, as a layouts FileSystem. */
export const nodeFileSystem: FileSystem = { list: listDirectory, open: openFileSource, kind: pathKind };

/** Options for writeFileAtomic. */
export interface WriteOptions {
  /** Replace an existing file (never an input). */
  force?: boolean;
  /** Paths of the run's inputs: writing to any of them is refused even with force. */
  inputs?: Iterable<string>;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true;
  try {
    const [x, y] = await Promise.all([stat(a), stat(b)]);
    return x.dev === y.dev && x.ino === y.ino; // symlinks and hard links to an input
  } catch {
    return false;
  }
}

/**
 * Write `bytes` to `path` so the file is either whole or absent: write a
 * temporary file in the same directory, flush it, then rename (or, without
 * force, hard-link, which fails atomically if `path` appeared meanwhile).
 * An s3:// path is one PUT of the whole object.
 * @throws {OutputError} if `path` exists and force is not set, or if `path` is an input
 */
export function writeFileAtomic(path: string, bytes: Uint8Array, options: WriteOptions = {}): Promise<void> {
  return writeChunksAtomic(path, [bytes], options);
}

/**
 * writeFileAtomic for output produced in pieces (e.g. a subset merged from sorted runs): the chunks go
 * to the temporary file as they come, so the whole output never sits in memory (except for s3://,
 * where S3 takes an object in one PUT).
 */
export async function writeChunksAtomic(
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteOptions = {},
): Promise<void> {
  if (isRemotePath(path)) {
    for (const input of options.inputs ?? [])
      if (input === path) throw new OutputError(path, 'is one of the inputs; refusing to overwrite it');
    if (!isS3Url(path)) throw new OutputError(path, 'cannot be written: only s3:// URLs take outputs, not http(s)://');
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    const whole = concatBytes(parts.splice(0));
    // One PUT of the whole object: S3 never shows a partial object under its name.
    return putS3Object(path, whole, { ...remote(), force: options.force ?? false });
  }
  for (const input of options.inputs ?? []) {
    if (isRemotePath(input)) continue;
    if (await sameFile(path, input)) throw new OutputError(path, 'is one of the inputs; refusing to overwrite it');
  }
  const exists = () =>
    stat(path).then(
      () => true,
      () => false,
    );
  if (!options.force && (await exists()))
    throw new OutputError(path, 'already exists; refusing to overwrite it without --force');

  const directory = dirname(resolve(path));
  const isDirectory = await stat(directory).then(
    (info) => info.isDirectory(),
    () => false,
  );
  if (!isDirectory) throw new OutputError(path, `cannot be written: ${directory} is not an existing directory`);
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  trackTemporary(temporary);
  try {
    await writeAndPlace(path, temporary, chunks, options, exists);
  } catch (err) {
    // ENOSPC, EROFS, EACCES...: one line naming the file asked for, not the temporary or nothing at all.
    const problem = writeErrorProblem(err);
    if (problem) throw new OutputError(path, `cannot be written: ${problem}`);
    throw err;
  } finally {
    await unlink(temporary).catch(() => undefined);
    untrackTemporary(temporary);
  }
}

/**
 * What an errno from writing a file means, as a phrase with the code (e.g. "no space left on the
 * device (ENOSPC)"), or undefined when `err` is not one of the file-system errors users meet.
 */
export function writeErrorProblem(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const phrases: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EEXIST: 'a file of that name already exists',
    ENOTDIR: 'a part of the path is not a directory',
    EISDIR: 'it is a directory',
    ENOENT: 'its directory does not exist',
    EIO: 'input/output error',
    EFBIG: 'the file is too large for the file system',
    ENAMETOOLONG: 'the name is too long',
    EMFILE: 'too many open files (raise ulimit -n)',
    ENFILE: 'too many open files in the system',
  };
  return typeof code === 'string' && code in phrases ? `${phrases[code]} (${code})` : undefined;
}

/** Writes the temporary, flushes it, and puts it in place (see writeFileAtomic). */
async function writeAndPlace(
  path: string,
  temporary: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteOptions,
  exists: () => Promise<boolean>,
): Promise<void> {
  const handle = await open(temporary, 'wx');
  try {
    // FileHandle.write may write less than asked (a disk filling up returns a short count before ENOSPC).
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length; ) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (options.force) {
    await rename(temporary, path);
    return;
  }
  try {
    await link(temporary, path);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) throw new OutputError(path, 'already exists; refusing to overwrite it without --force');
    // File systems without hard links: fall back to a checked rename.
    if (await exists()) throw new OutputError(path, 'already exists; refusing to overwrite it without --force');
    await rename(temporary, path);
  }
}

/**
 * Temporaries (files, or directories such as select's spilled runs) in use right now, removed if SIGINT
 * or SIGTERM ends the process first.
 */
const temporaries = new Set<string>();
const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * On SIGINT/SIGTERM: remove the temporaries in flight, then let the signal do what it would have done.
 * When nobody else listens for it that is to end the process, so the handler steps aside and raises
 * the signal again (the exit status still says which signal it was).
 */
function onCleanupSignal(signal: NodeJS.Signals): void {
  for (const path of temporaries) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Already renamed or removed.
    }
  }
  temporaries.clear();
  for (const name of CLEANUP_SIGNALS) process.off(name, onCleanupSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** Removes `path` (a file or a whole directory) if SIGINT or SIGTERM ends the process before untrackTemporary(path). */
export function trackTemporary(path: string): void {
  if (temporaries.size === 0) for (const name of CLEANUP_SIGNALS) process.on(name, onCleanupSignal);
  temporaries.add(path);
}

/** `path` is renamed or removed: a signal leaves it alone. */
export function untrackTemporary(path: string): void {
  if (!temporaries.delete(path) || temporaries.size > 0) return;
  for (const name of CLEANUP_SIGNALS) process.off(name, onCleanupSignal);
}
