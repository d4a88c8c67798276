/** Shared helpers for the io tests: fixture loading and an independent half-float decoder. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { InputError } from '../../src/io/errors.js';
import type { EmbeddingReader } from '../../src/io/reader.js';
import { bytesSource, type ByteSource } from '../../src/io/source.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/io/', import.meta.url));
export const REAL = fileURLToPath(new URL('../fixtures/real/openai-b32-fashion-9pairs/', import.meta.url));

export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(FIXTURES + name));
}

export function fixture(name: string): ByteSource {
  return bytesSource(name, fixtureBytes(name));
}

/** Values numpy wrote for fixture `name` (see make_fixtures.py), as raw bytes. */
export function expectedBytes(name: string): Uint8Array {
  return fixtureBytes(`expected/${name}.bin`);
}

export const manifest = JSON.parse(readFileSync(FIXTURES + 'manifest.json', 'utf8')) as Record<
  string,
  Record<string, unknown>
>;

/** Bytes of a typed array, for exact comparison with numpy's tobytes(). */
export function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Every row of `reader` through readRowChunks(chunkRows), as bytes: the chunks must follow each other from
 * row 0, each hold `rows × dim` values, and end at the reader's row count.
 */
export async function readAllChunks(reader: EmbeddingReader, chunkRows: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let next = 0;
  for await (const chunk of reader.readRowChunks(chunkRows)) {
    expect(chunk.start).toBe(next);
    expect(chunk.data.length).toBe(chunk.rows * reader.dim);
    next += chunk.rows;
    parts.push(bytesOf(chunk.data).slice());
  }
  expect(next).toBe(reader.rows);
  return concatArrays(Uint8Array, parts);
}

/** `parts` end to end in one new array of type `Type`. */
export function concatArrays<T extends Uint8Array | Uint32Array | Float64Array>(
  Type: new (length: number) => T,
  parts: readonly T[],
): T {
  const out = new Type(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    (out as Uint8Array).set(p as Uint8Array, at);
    at += p.length;
  }
  return out;
}

/** IEEE 754 binary16 → number, written out from the spec rather than borrowed from src. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Run `fn` and check it throws an InputError whose message matches every pattern. */
export async function expectInputError(
  fn: () => Promise<unknown>,
  ...patterns: (string | RegExp)[]
): Promise<InputError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected an InputError').toBeInstanceOf(InputError);
  const error = caught as InputError;
  for (const pattern of patterns) expect(error.message).toMatch(pattern);
  expect(error.message).not.toContain('\n');
  return error;
}

/** Byte-exact comparison that stays fast on large arrays and reports the first difference. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length, 'byte length').toBe(expected.length);
  const first = actual.findIndex((b, i) => b !== expected[i]);
  expect(first, `first differing byte (${actual[first]} vs ${expected[first]})`).toBe(-1);
}

/**
 * The contract every parser keeps under fuzzing: it either finishes, or
 * throws an InputError whose one-line message starts with the file's name.
 * Anything else (a RangeError from a typed array, a TypeError, a hang past
 * `timeoutMs`) fails the property.
 * @returns whether it parsed
 */
export async function parsesOrInputError(
  file: string,
  run: () => Promise<unknown>,
  timeoutMs = 2000,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${file}: still running after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([run(), hang]);
    return true;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    expect(err.message.startsWith(file), err.message).toBe(true);
    expect(err.message).not.toContain('\n');
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Fuzzing budget per property: bounded runs and wall time, so the whole io
 * suite stays well under 20 s. For a deeper local search set
 * CLIPSIFT_FUZZ_RUNS and CLIPSIFT_FUZZ_MS (e.g. 20000 and 60000).
 */
export const FUZZ_RUNS = Number(process.env.CLIPSIFT_FUZZ_RUNS ?? 200);
export const FUZZ_TIME_MS = Number(process.env.CLIPSIFT_FUZZ_MS ?? 500);
