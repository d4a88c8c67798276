/**
 * Fixtures for the select / subset / demo CLI tests: score files and DataComp metadata directories
 * written with the io writers (parquet) and fflate (npz), an independent subset-file decoder, and an
 * in-process runner for the built CLI. The CLI runs from the build (`npm run build`); set
 * CLIPSIFT_TEST_DIST to test another build directory.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { captureOutput, ROOT, tempDir as cliTempDir } from '../cli/helpers.js';
import { encodeNpy } from '../../src/io/npy.js';
import { writeParquetTable } from '../../src/io/parquet.js';

export { ROOT };
const DIST = process.env.CLIPSIFT_TEST_DIST ?? join(ROOT, 'dist');

/** A fresh temporary directory, removed after the test file (test/cli/helpers.ts's tempDir). */
export function tempDir(): string {
  return cliTempDir('clipsift-select-');
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI's main(argv) in this process, capturing its output. */
export async function runCli(argv: string[]): Promise<CliResult> {
  const { main } = (await import(join(DIST, 'lib/cli/main.js'))) as { main: (argv: string[]) => Promise<number> };
  return captureOutput(() => main(argv));
}

/** Writes a score file the way `clipsift score` does: uid column plus float32 score columns. */
export function writeScoreFile(path: string, uids: string[], columns: Record<string, Float32Array>): void {
  writeFileSync(path, writeParquetTable({ columns: { uid: uids, ...columns } }));
}

/** A DataComp metadata shard: `<name>.parquet` (uid, text) and `<name>.npz` with `<arch>_img` / `<arch>_txt` float16. */
export function writeDataCompShard(
  dir: string,
  name: string,
  uids: string[],
  image: Uint16Array,
  text: Uint16Array,
  dim: number,
  arch = 'b32',
): void {
  writeFileSync(
    join(dir, `${name}.parquet`),
    writeParquetTable({ columns: { uid: uids, text: uids.map((u) => `caption ${u.slice(0, 6)}`) } }),
  );
  const npz = zipSync(
    {
      [`${arch}_img.npy`]: encodeNpy(image, [uids.length, dim]),
      [`${arch}_txt.npy`]: encodeNpy(text, [uids.length, dim]),
    },
    { level: 0 },
  );
  writeFileSync(join(dir, `${name}.npz`), npz);
}

/**
 * Decodes a DataComp subset file straight from its bytes (independent of src/io): checks the header
 * names the (u64, u64) dtype and returns the uids as 32-hex strings in file order.
 */
export function readSubsetUids(path: string): string[] {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  if (!header.includes("'descr': [('f0', '<u8'), ('f1', '<u8')]")) throw new Error(`unexpected header ${header}`);
  const uids: string[] = [];
  for (let at = 10 + headerLength; at < bytes.length; at += 16) {
    uids.push(
      bytes.readBigUInt64LE(at).toString(16).padStart(16, '0') +
        bytes
          .readBigUInt64LE(at + 8)
          .toString(16)
          .padStart(16, '0'),
    );
  }
  return uids;
}

/** Random-looking but reproducible uids (distinct, unsorted). */
export function makeUids(count: number, salt: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const a = (Math.imul(i + 1, 0x9e3779b1) ^ salt) >>> 0;
    const b = Math.imul(a ^ (a >>> 15), 0x85ebca6b) >>> 0;
    return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0') + i.toString(16).padStart(16, '0');
  });
}
