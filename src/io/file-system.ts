/**
 * The little a layout reader needs from a file system, so the browser can
 * hand over dropped files and Node its disk (node-files.ts) through the same
 * interface.
 */
import { InputError } from './errors.js';
import { blobSource, bytesSource, type ByteSource } from './source.js';

/** What a path names. */
export type PathKind = 'file' | 'directory' | 'missing';

export interface FileSystem {
  /** Names (not paths) of the entries directly inside `dir`, files and directories alike, sorted. */
  list(dir: string): Promise<string[]>;
  /** Open a file for reading. @throws {InputError} if it does not exist */
  open(path: string): Promise<ByteSource>;
  /** Whether `path` is a file, a directory or nothing; see pathKindIn for file systems without it. */
  kind?(path: string): Promise<PathKind>;
}

/**
 * What `path` names in `fs`: its own answer, else found out by listing it (a directory) or opening it (a file).
 */
export async function pathKindIn(fs: FileSystem, path: string): Promise<PathKind> {
  if (fs.kind) return fs.kind(path);
  try {
    await fs.list(path);
    return 'directory';
  } catch {
    try {
      const source = await fs.open(path);
      await source.close?.();
      return 'file';
    } catch {
      return 'missing';
    }
  }
}

/** The directory part of a '/'-separated path ('' for a bare name). */
export function dirName(path: string): string {
  const at = path.replace(/[\\/]+$/, '').search(/[\\/][^\\/]*$/);
  return at < 0 ? '' : at === 0 ? path[0]! : path.slice(0, at);
}

/** Join path segments with '/', which Node accepts on every platform and browsers use for relative paths. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '' && p !== '.').join('/');
  // Keep a URL's scheme separator (s3://bucket, https://host) whole; collapse every other '//'.
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(joined)?.[0] ?? '';
  return scheme + joined.slice(scheme.length).replace(/\/{2,}/g, '/');
}

/** The last segment of a path. */
export function baseName(path: string): string {
  return (
    path
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? path
  );
}

/**
 * A file system over files in memory or Blobs, keyed by '/'-separated
 * relative paths (e.g. a browser drop's webkitRelativePath).
 */
export function memoryFileSystem(
  files: Map<string, Uint8Array | Blob> | Record<string, Uint8Array | Blob>,
): FileSystem {
  const byPath = files instanceof Map ? files : new Map(Object.entries(files));
  const normal = (path: string) => joinPath(...path.split(/[\\/]/));
  const entries = new Map([...byPath].map(([path, data]) => [normal(path), data]));
  return {
    async kind(path) {
      const at = normal(path);
      if (entries.has(at)) return 'file';
      if (at === '' || [...entries.keys()].some((p) => p.startsWith(`${at}/`))) return 'directory';
      return 'missing';
    },
    async list(dir) {
      const prefix = normal(dir) === '' ? '' : normal(dir) + '/';
      const names = new Set<string>();
      for (const path of entries.keys()) {
        if (path.startsWith(prefix)) names.add(path.slice(prefix.length).split('/')[0]!);
      }
      if (names.size === 0 && prefix !== '') throw new InputError(dir, 'no such directory');
      return [...names].sort();
    },
    async open(path) {
      const data = entries.get(normal(path));
      if (data === undefined) throw new InputError(path, 'no such file');
      return data instanceof Uint8Array ? bytesSource(path, data) : blobSource(data, path);
    },
  };
}
