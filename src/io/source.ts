/**
 * Random-access byte sources: the one abstraction every reader in src/io
 * works over, so the same parsers serve local files (node-files.ts), dropped
 * browser files (Blob) and in-memory buffers.
 */
import { InputError } from './errors.js';

/**
 * A file that can be read at any offset. `read` returns exactly `length`
 * bytes or throws InputError when the range lies outside the file, so
 * callers never see a short read.
 */
export interface ByteSource {
  /** Name used in error messages (a path, or a file name in the browser). */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** The version of a remote object (its ETag) when the server names one: what a cache of its contents keys on. */
  readonly etag?: string;
  /** Read `length` bytes starting at `offset`. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Release an OS handle if the source holds one; reading again reopens it. */
  close?(): Promise<void>;
}

/**
 * Throw InputError unless [offset, offset+length) lies inside a file of
 * `size` bytes. `what` says which structure wanted the bytes, so a truncated
 * file names the region that is missing.
 */
export function checkRange(name: string, size: number, offset: number, length: number, what = 'data'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new InputError(name, `${what} has an invalid position (offset ${offset}, length ${length})`);
  }
  if (offset + length > size) {
    throw new InputError(
      name,
      `truncated: ${what} needs bytes ${offset}..${offset + length} but the file has ${size} bytes`,
    );
  }
}

/**
 * A source over bytes already in memory. Reads return copies, as file reads
 * do, so a caller that normalises rows in place cannot change the source.
 * @param name name for error messages
 * @param bytes file contents
 */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      checkRange(name, bytes.length, offset, length);
      return bytes.slice(offset, offset + length);
    },
  };
}

/**
 * A source over a Blob or File (browser drops, fetch responses, Deno).
 * @param file the blob
 * @param name name for error messages; defaults to File.name
 */
export function blobSource(file: Blob, name?: string): ByteSource {
  const label = name ?? (file as { name?: string }).name ?? 'blob';
  return {
    name: label,
    size: file.size,
    async read(offset, length) {
      checkRange(label, file.size, offset, length);
      return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/**
 * A window [offset, offset+length) of another source, presented as a whole
 * file: how a stored zip entry becomes an .npy we can read at random.
 */
export function subSource(parent: ByteSource, offset: number, length: number, name: string): ByteSource {
  checkRange(parent.name, parent.size, offset, length, `entry ${name}`);
  return {
    name,
    size: length,
    async read(at, count) {
      checkRange(name, length, at, count);
      return parent.read(offset + at, count);
    },
  };
}

/** The parts joined into one new buffer (contiguous, and aligned for typed-array views). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.byteLength;
  }
  return whole;
}
