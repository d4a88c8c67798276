/**
 * `clipsift inspect`: what is in an embedding file or directory, before scoring it: shapes, dtypes,
 * norm range, and how many rows hold NaN/Inf or are all zeros.
 */
import { extname, join } from 'node:path';
import process from 'node:process';
import { InputError } from '../io/errors.js';
import { type FileSystem, joinPath, pathKindIn } from '../io/file-system.js';
import { nodeFileSystem } from '../io/node-files.js';
import { isHttpUrl } from '../io/http.js';
import { isRemotePath, signedInputs } from '../io/remote.js';
import { openNpy, type NpyArray } from '../io/npy.js';
import { openNpz } from '../io/npz.js';
import { openParquet } from '../io/parquet.js';
import { openSafetensors } from '../io/safetensors.js';
import { openTorchFile } from '../io/torch.js';
import type { EmbeddingReader } from '../io/reader.js';
import { parseCommandArgs, UsageError } from './args.js';
import type { Command } from './command.js';
import { Progress, formatCount } from './progress.js';
import { counted } from './words.js';
import { gatherRowStats, listRows, type RowStats } from '../pipeline/rows.js';

const usage = `usage: clipsift inspect <file or dir...> [--headers] [--json] [--quiet]

Describes .npy, .npz, .parquet, .pt/.pth (torch.save) and .safetensors files (a directory: every
such file in it, recursively; an s3:// or https:// URL, signed or not, names one file):
rows, dim and dtype of each embedding array, its L2 norm range, and the rows holding NaN/Inf
or all zeros. Parquet files also list their columns; only numeric vector columns of one fixed
length are embeddings (a list of lists such as face_bboxes is not). A file that cannot be read is
reported on stderr and the others are still described (exit 1).

options:
  --headers    read headers only (fast; no norms or NaN counts)
  --json       one JSON object per file on stdout instead of text
  -q, --quiet  no progress output
  -h, --help   this help`;

/** One embedding matrix's description. */
export interface ArrayReport {
  /** npz key, parquet column, or tensor key ('' for a bare .pt tensor); null for an .npy. */
  key: string | null;
  rows: number;
  dim: number;
  /** The stored element type: float16, float32 or float64. */
  dtype: string;
  /** Measured over all rows unless --headers. */
  stats?: {
    minNorm: number | null;
    maxNorm: number | null;
    meanNorm: number | null;
    nonFiniteRows: number;
    zeroRows: number;
    /** First few offending rows, for a quick look. */
    firstNonFiniteRows: number[];
    firstZeroRows: number[];
  };
}

/** One file's description. */
export interface FileReport {
  file: string;
  kind: FileKind;
  bytes: number;
  /** Parquet only: row count and column names. */
  table?: { rows: number; columns: string[] };
  arrays: ArrayReport[];
  /** Arrays or columns that could not be read as embeddings, with why. */
  skipped: { key: string; reason: string }[];
}

type FileKind = 'npy' | 'npz' | 'parquet' | 'pt' | 'safetensors';

/** Element types of tensors as inspect names them. */
const TENSOR_DTYPE_NAMES = { f2: 'float16', f4: 'float32', f8: 'float64', bf16: 'bfloat16' } as const;

/** Describes the file at `path`; reads all rows unless `headersOnly`. */
export async function inspectFile(
  path: string,
  options: { headersOnly: boolean; quiet: boolean },
  fs: FileSystem = nodeFileSystem,
): Promise<FileReport> {
  const kind = embeddingFileKind(path);
  if (!kind) throw new InputError(path, 'not an .npy, .npz, .parquet, .pt/.pth or .safetensors file');
  const source = await fs.open(path);
  const report: FileReport = { file: path, kind, bytes: source.size, arrays: [], skipped: [] };
  const describe = async (reader: EmbeddingReader, key: string | null, dtype: string) => {
    report.arrays.push(await describeArray(reader, key, dtype, options));
  };
  try {
    if (kind === 'npy') {
      const array = await openNpy(source);
      await describe(array, null, dtypeName(array));
    } else if (kind === 'npz') {
      const npz = await openNpz(source);
      for (const key of npz.keys) {
        try {
          const array = await npz.open(key);
          await describe(array, key, dtypeName(array));
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          report.skipped.push({ key, reason: error.problem });
        }
      }
    } else if (kind === 'pt' || kind === 'safetensors') {
      // Tensors only: the .pt pickle is read by io/torch.ts's data-only reader (it refuses any other object).
      const file = kind === 'pt' ? await openTorchFile(source) : await openSafetensors(source);
      for (const key of file.keys) {
        try {
          const tensor = await file.open(key);
          const dtype = (tensor as EmbeddingReader & { sourceDtype?: keyof typeof TENSOR_DTYPE_NAMES }).sourceDtype;
          await describe(
            tensor,
            key,
            dtype ? TENSOR_DTYPE_NAMES[dtype] : tensor.dtype === 'f2' ? 'float16' : 'float32',
          );
        } catch (error) {
          if (!(error instanceof InputError)) throw error;
          report.skipped.push({ key, reason: error.problem });
        }
      }
    } else {
      const parquet = await openParquet(source);
      report.table = { rows: parquet.rows, columns: parquet.columns };
      for (const column of parquet.columns) {
        let reader: EmbeddingReader;
        try {
          reader = await parquet.embeddings(column);
        } catch (error) {
          // Most columns (uid, url, text, ...) are not embeddings; only binary ones may be and need saying why.
          if (!(error instanceof InputError)) throw error;
          if (/^binary embedding column/.test(error.problem))
            report.skipped.push({ key: column, reason: error.problem });
          continue;
        }
        try {
          await describe(reader, column, reader.dtype === 'f2' ? 'float16' : 'float32');
        } catch (error) {
          // Lists of numbers that are not all of one length (or not all numbers) are not embeddings.
          if (!(error instanceof InputError)) throw error;
          report.skipped.push({
            key: column,
            reason: `${error.row !== undefined ? `row ${error.row}: ` : ''}${error.problem}`,
          });
        }
      }
    }
  } finally {
    await source.close?.();
  }
  return report;
}

async function describeArray(
  reader: EmbeddingReader,
  key: string | null,
  dtype: string,
  options: { headersOnly: boolean; quiet: boolean },
): Promise<ArrayReport> {
  const report: ArrayReport = { key, rows: reader.rows, dim: reader.dim, dtype };
  if (options.headersOnly) return report;
  const progress = new Progress({ label: reader.name, total: reader.rows, quiet: options.quiet });
  let stats: RowStats;
  try {
    stats = await gatherRowStats(reader, (rows) => progress.add(rows));
  } finally {
    // The report itself says what was read; a timing line per array would only be noise.
    progress.close();
  }
  report.stats = summarize(stats);
  return report;
}

function summarize(stats: RowStats): NonNullable<ArrayReport['stats']> {
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    minNorm: finite(stats.minNorm),
    maxNorm: finite(stats.maxNorm),
    meanNorm: stats.normCount > 0 ? stats.normSum / stats.normCount : null,
    nonFiniteRows: stats.nonFiniteRows.length,
    zeroRows: stats.zeroRows.length,
    firstNonFiniteRows: stats.nonFiniteRows.slice(0, 10),
    firstZeroRows: stats.zeroRows.slice(0, 10),
  };
}

function dtypeName(array: NpyArray): string {
  const order = array.fortranOrder ? ', Fortran order' : '';
  return `${{ '<f2': 'float16', '<f4': 'float32', '<f8': 'float64' }[array.sourceDtype]}${order}`;
}

/** The report as text, a few lines per file. */
export function formatReport(report: FileReport): string {
  const lines = [`${report.file}: ${report.kind}, ${formatCount(report.bytes)} bytes`];
  if (report.table) lines.push(`  ${formatCount(report.table.rows)} rows; columns: ${report.table.columns.join(', ')}`);
  for (const array of report.arrays) {
    const name = array.key === null || array.key === '' ? '' : `${array.key}: `;
    let line = `  ${name}${formatCount(array.rows)} × ${array.dim} ${array.dtype}`;
    const s = array.stats;
    if (s) {
      const norms =
        s.minNorm === null
          ? 'norms n/a'
          : `norms ${s.minNorm.toFixed(4)}..${s.maxNorm!.toFixed(4)} (mean ${s.meanNorm!.toFixed(4)})`;
      line += `, ${norms}, ${counted(s.nonFiniteRows, 'NaN/Inf row')}, ${counted(s.zeroRows, 'zero row')}`;
      if (s.nonFiniteRows > 0) line += ` [NaN/Inf rows ${listRows(s.firstNonFiniteRows, 5, s.nonFiniteRows)}]`;
      if (s.zeroRows > 0) line += ` [zero rows ${listRows(s.firstZeroRows, 5, s.zeroRows)}]`;
    }
    lines.push(line);
  }
  for (const skipped of report.skipped) lines.push(`  ${skipped.key}: not readable as embeddings (${skipped.reason})`);
  return lines.join('\n');
}

/** The kind of an embedding file from its extension, or undefined for anything else. */
function embeddingFileKind(path: string): FileKind | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.pt' || ext === '.pth') return 'pt';
  if (ext === '.safetensors') return 'safetensors';
  return ext === '.npy' ? 'npy' : ext === '.npz' ? 'npz' : ext === '.parquet' ? 'parquet' : undefined;
}

/**
 * Embedding files under `path` in `fs`, sorted: itself if it is a file (or an http(s) URL, which names
 * one file), else every embedding file in it and in its subdirectories, an s3:// prefix as a directory.
 */
export async function findEmbeddingFiles(fs: FileSystem, path: string): Promise<string[]> {
  if (isHttpUrl(path)) return [path];
  const kind = await pathKindIn(fs, path);
  if (kind === 'missing') throw new InputError(path, 'no such file or directory');
  if (kind === 'file') return [path];
  const found: string[] = [];
  for (const name of await fs.list(path)) {
    if (name.startsWith('.')) continue; // temporaries and hidden files
    const child = isRemotePath(path) ? joinPath(path, name) : join(path, name);
    if (embeddingFileKind(name)) found.push(child);
    else if ((await pathKindIn(fs, child)) === 'directory') found.push(...(await findEmbeddingFiles(fs, child)));
  }
  return found;
}

/** The `clipsift inspect` command. */
export const command: Command = {
  name: 'inspect',
  summary: 'describe embedding files: shapes, dtypes, norm range, NaN and zero rows',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      headers: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    });
    if (positionals.length === 0) throw new UsageError('give a file or directory to inspect');
    const options = { headersOnly: values.headers ?? false, quiet: values.quiet ?? false };
    let files = 0;
    let failed = 0;
    // Signed URLs (a query string) are known by their paths and read at their URLs, as score reads them.
    const { fs, paths } = signedInputs(nodeFileSystem, positionals);
    for (const path of paths) {
      const found = await findEmbeddingFiles(fs, path);
      if (found.length === 0) throw new InputError(path, 'holds no .npy, .npz, .parquet, .pt or .safetensors files');
      for (const file of found) {
        let report: FileReport;
        try {
          report = await inspectFile(file, options, fs);
        } catch (error) {
          // One unreadable file is reported and the rest of the directory still described; exit 1 at the end.
          if (!(error instanceof InputError)) throw error;
          process.stderr.write(`clipsift inspect: ${error.message}\n`);
          failed++;
          continue;
        }
        process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
        files++;
      }
    }
    return files > 0 && failed === 0 ? 0 : 1;
  },
};
