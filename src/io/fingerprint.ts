/**
 * A cheap content fingerprint of an input file, recorded in score files so a resumed run notices an input
 * that changed since its scores were computed, even at the same size.
 *
 * Files up to FULL_HASH_BYTES are hashed whole. Larger ones hash their size, their first and last
 * SAMPLE_BYTES (the npy header; the zip central directory with every entry's CRC-32, or the parquet
 * footer with its page offsets and statistics) and SAMPLES evenly spaced blocks in between. So any
 * change to an .npz's arrays (their CRC-32s change), any change of size, and any change inside the
 * sampled regions is noticed; a same-size edit of an .npy or .parquet over 16 MiB that touches none of
 * the sampled blocks (8 × 64 KiB in all) is not: pass `--force` after such an edit.
 *
 * SHA-256 through WebCrypto, so this runs in every runtime.
 */
import { concatBytes, type ByteSource } from './source.js';

/** Files up to this size are hashed whole. */
export const FULL_HASH_BYTES = 16 * 1024 * 1024;
/** Bytes hashed at the start, at the end, and in each sample of a larger file. */
export const SAMPLE_BYTES = 64 * 1024;
/** Evenly spaced samples between the first and last SAMPLE_BYTES of a larger file. */
export const SAMPLES = 6;

/**
 * The fingerprint of `source`: `sha256:<hex>` of its whole bytes, or `sampled-sha256:<hex>` of its size
 * and sampled blocks (see the module comment). Two files with the same fingerprint are taken to be the same.
 */
export async function fingerprint(source: ByteSource): Promise<string> {
  const { size } = source;
  if (size <= FULL_HASH_BYTES) return `sha256:${await sha256Hex([await source.read(0, size)])}`;
  const parts: Uint8Array[] = [new TextEncoder().encode(`${size}\n`)];
  const starts = [0];
  const span = size - 2 * SAMPLE_BYTES;
  for (let i = 1; i <= SAMPLES; i++)
    starts.push(SAMPLE_BYTES + Math.floor((span * i) / (SAMPLES + 1)) - SAMPLE_BYTES / 2);
  starts.push(size - SAMPLE_BYTES);
  for (const start of starts) parts.push(await source.read(start, SAMPLE_BYTES));
  return `sampled-sha256:${await sha256Hex(parts)}`;
}

async function sha256Hex(parts: Uint8Array[]): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', concatBytes(parts)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
