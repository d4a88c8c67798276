/**
 * Helpers for the CLI tests: DataComp-shaped directories written from seeded random data, a float64
 * reference for the scores, running the CLI in-process or as a child process, and reading score files.
 *
 * The npz files are assembled with fflate (stored or deflated entries, as numpy.savez /
 * savez_compressed write them) and the parquet files with hyparquet-writer, so the fixtures do not
 * depend on the readers under test.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, vi } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import { fromFloat16Bits, toFloat16Bits } from '../../src/numeric/float16.js';
import { mixSeed, permutation } from '../../src/numeric/random.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin/clipsift.js');

const created: string[] = [];

/** A fresh temporary directory, removed after the test file (see the afterAll below). */
export function tempDir(prefix = 'clipsift-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

// Every test file that imports these helpers cleans up the directories it made.
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The largest |actual[i] − expected[i]|: a score column against its float64 reference. */
export function worstError(actual: unknown[], expected: Float64Array): number {
  return actual.reduce<number>((worst, v, i) => Math.max(worst, Math.abs((v as number) - expected[i]!)), 0);
}

/** A small deterministic generator (mulberry32) so fixtures are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/**
 * rows × dim unit vectors as float16 bits, in clusters of about 8 rows: image rows of a cluster are
 * close (cosine ~0.9) and each text row is a noisy copy of its image row, so a pair's own similarity
 * beats its cluster's only narrowly and negCLIPLoss depends on which rows share a batch.
 */
export function pairedEmbeddings(rows: number, dim: number, seed: number): { img: Uint16Array; txt: Uint16Array } {
  const next = rng(seed);
  const img = new Uint16Array(rows * dim);
  const txt = new Uint16Array(rows * dim);
  const clusters = Math.max(1, Math.ceil(rows / 8));
  const centers = Array.from({ length: clusters }, () => Float64Array.from({ length: dim }, () => gaussian(next)));
  const a = new Float64Array(dim);
  const b = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const center = centers[Math.floor(next() * clusters)]!;
    for (let j = 0; j < dim; j++) {
      a[j] = 3 * center[j]! + gaussian(next);
      b[j] = a[j]! + gaussian(next);
    }
    writeUnitHalf(a, img, r * dim);
    writeUnitHalf(b, txt, r * dim);
  }
  return { img, txt };
}

function writeUnitHalf(v: Float64Array, out: Uint16Array, at: number): void {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < v.length; j++) out[at + j] = toFloat16Bits(v[j]! * inv);
}

/** 32 lowercase hex characters from the generator. */
export function randomUid(next: () => number): string {
  let s = '';
  for (let i = 0; i < 4; i++)
    s += Math.floor(next() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return s;
}

export interface ShardSpec {
  name: string;
  rows: number;
  seed: number;
  /** Deflate the npz entries (numpy.savez_compressed). */
  compressed?: boolean;
  /** Replace generated uids. */
  uids?: string[];
  /** Edit the float16 matrices before they are written (to plant bad rows). */
  edit?: (m: ShardMatrices) => void;
  /** Leave out the b32 arrays. */
  l14Only?: boolean;
}

export interface ShardMatrices {
  l14_img: Uint16Array;
  l14_txt: Uint16Array;
  b32_img: Uint16Array;
  b32_txt: Uint16Array;
}

export interface WrittenShard {
  name: string;
  uids: string[];
  matrices: ShardMatrices;
}

/** Writes `<dir>/<name>.parquet` (uid, url, text) and `<dir>/<name>.npz` (l14_*, b32_* float16). */
export function writeDataCompShard(dir: string, spec: ShardSpec): WrittenShard {
  const next = rng(spec.seed ^ 0x5eed);
  const uids = spec.uids ?? Array.from({ length: spec.rows }, () => randomUid(next));
  const l14 = pairedEmbeddings(spec.rows, 768, spec.seed);
  const b32 = pairedEmbeddings(spec.rows, 512, spec.seed + 1);
  const matrices: ShardMatrices = { l14_img: l14.img, l14_txt: l14.txt, b32_img: b32.img, b32_txt: b32.txt };
  spec.edit?.(matrices);
  writeParquet(join(dir, `${spec.name}.parquet`), uids);
  const entries: Record<string, Uint8Array> = {};
  for (const [key, data] of Object.entries(matrices) as [keyof ShardMatrices, Uint16Array][]) {
    if (spec.l14Only && key.startsWith('b32')) continue;
    entries[`${key}.npy`] = encodeNpy(data, [
      data.length / (key.startsWith('l14') ? 768 : 512),
      key.startsWith('l14') ? 768 : 512,
    ]);
  }
  // A fixed entry time, so the bytes depend only on the spec (score files record a content fingerprint).
  writeFileSync(
    join(dir, `${spec.name}.npz`),
    zipSync(entries, { level: spec.compressed ? 6 : 0, mtime: FIXED_ZIP_TIME }),
  );
  return { name: spec.name, uids, matrices };
}

/** Zip entry time of the written npz files (fflate stamps the current time otherwise). */
const FIXED_ZIP_TIME = new Date(2024, 0, 1);

/** The DataComp metadata parquet: uid, url and caption text per row. */
export function writeParquet(path: string, uids: string[]): void {
  const bytes = parquetWriteBuffer({
    columnData: [
      { name: 'uid', data: uids, type: 'STRING' },
      { name: 'url', data: uids.map((u) => `https://example.com/${u}.jpg`), type: 'STRING' },
      { name: 'text', data: uids.map((_, i) => `caption ${i}`), type: 'STRING' },
    ],
  });
  writeFileSync(path, new Uint8Array(bytes));
}

/** A target .npy of unit float16 rows. */
export function writeTarget(path: string, rows: number, dim: number, seed: number): Uint16Array {
  const { img } = pairedEmbeddings(rows, dim, seed);
  writeFileSync(path, encodeNpy(img, [rows, dim]));
  return img;
}

/** Writes a DataComp-shaped directory of shards and returns what was written. */
export function makeDataCompDir(specs: ShardSpec[]): { dir: string; shards: WrittenShard[] } {
  const dir = tempDir('clipsift-pool-');
  mkdirSync(dir, { recursive: true });
  return { dir, shards: specs.map((spec) => writeDataCompShard(dir, spec)) };
}

// ---------------------------------------------------------------------------------------------
// The float64 reference, written from the paper's definitions rather than from the engine.

/** float16 bits → float64 rows. */
export function widen(bits: Uint16Array): Float64Array {
  return Float64Array.from(bits, fromFloat16Bits);
}

/** CLIPScore: the dot product of each image row with its own text row. */
export function referenceClipScore(img: Float64Array, txt: Float64Array, dim: number): Float64Array {
  const rows = img.length / dim;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += img[i * dim + j]! * txt[i * dim + j]!;
    out[i] = s;
  }
  return out;
}

/**
 * negCLIPLoss (Wang et al. 2024): s_ii − τ/2 · (LSE_j s_ij/τ + LSE_j s_ji/τ) within each batch,
 * averaged over `repeats` shuffles. The shuffles come from the engine's exported permutation so that
 * batches match; with batchSize ≥ rows the order does not matter and one repeat is exact.
 */
export function referenceNegClip(
  img: Float64Array,
  txt: Float64Array,
  dim: number,
  o: { batchSize: number; temperature: number; repeats: number; seed: number },
): Float64Array {
  const n = img.length / dim;
  const batch = Math.min(o.batchSize, n);
  const repeats = batch === n ? 1 : o.repeats;
  const sum = new Float64Array(n);
  for (let rep = 0; rep < repeats; rep++) {
    const order = batch === n ? Uint32Array.from({ length: n }, (_, i) => i) : permutation(n, mixSeed(o.seed, rep));
    for (let first = 0; first < n; first += batch) {
      const members = Array.from(order.subarray(first, Math.min(first + batch, n)));
      const m = members.length;
      const s = new Float64Array(m * m);
      for (let a = 0; a < m; a++) {
        for (let b = 0; b < m; b++) {
          let d = 0;
          for (let j = 0; j < dim; j++) d += img[members[a]! * dim + j]! * txt[members[b]! * dim + j]!;
          s[a * m + b] = d;
        }
      }
      for (let a = 0; a < m; a++) {
        const rowLse = logSumExp(Array.from({ length: m }, (_, b) => s[a * m + b]! / o.temperature));
        const colLse = logSumExp(Array.from({ length: m }, (_, b) => s[b * m + a]! / o.temperature));
        sum[members[a]!] += s[a * m + a]! - 0.5 * o.temperature * (rowLse + colLse);
      }
    }
  }
  return sum.map((v) => v / repeats);
}

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((acc, v) => acc + Math.exp(v - max), 0));
}

/** NormSim_p: the p-norm over target rows of each candidate's dot products with them (max |·| for p = ∞). */
export function referenceNormSim(candidates: Float64Array, target: Float64Array, dim: number, p: number): Float64Array {
  const n = candidates.length / dim;
  const t = target.length / dim;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = p === Infinity ? -Infinity : 0;
    for (let k = 0; k < t; k++) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += candidates[i * dim + j]! * target[k * dim + j]!;
      if (p === Infinity) acc = Math.max(acc, Math.abs(d));
      else acc += Math.abs(d) ** p;
    }
    out[i] = p === Infinity ? acc : acc ** (1 / p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running the CLI.

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main(argv)` from the built dist in this process, capturing stdout and stderr. */
export async function runInProcess(argv: string[]): Promise<RunResult> {
  const { main } = (await import(join(ROOT, 'dist/lib/cli/main.js'))) as { main: (argv: string[]) => Promise<number> };
  return captureOutput(() => main(argv));
}

/** Runs a CLI entry in this process with stdout and stderr captured instead of written. */
export async function captureOutput(run: () => Promise<number>): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await run();
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Runs a command as a child process (with `env` added to this process's environment) and collects its output and exit code. */
export function runChild(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

// ---------------------------------------------------------------------------------------------
// Reading score files.

export interface ScoreFile {
  rows: Record<string, unknown>[];
  metadata: Record<string, string>;
  columns: string[];
}

/** Reads a score parquet with hyparquet: its rows, its column names and its key-value metadata. */
export async function readScoreFile(path: string): Promise<ScoreFile> {
  const bytes = readFileSync(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const meta = parquetMetadata(buffer);
  const metadata: Record<string, string> = {};
  for (const kv of meta.key_value_metadata ?? []) metadata[kv.key] = kv.value ?? '';
  const columns = meta.schema.slice(1).map((s) => s.name);
  const rows = (await parquetReadObjects({ file: buffer })) as Record<string, unknown>[];
  return { rows, metadata, columns };
}
