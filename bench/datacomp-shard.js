// Shared by bench/score-shard.js and bench/big-shard.js: writes a synthetic DataComp shard
// (<name>.parquet with uid/url/text, <name>.npz with l14_img/l14_txt float16, stored like numpy.savez)
// without ever holding a whole matrix in memory, then times `clipsift score` on it in a fresh process
// whose peak RSS is the figure reported. Benchmarks, not tests: nothing here asserts a speed.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { crc32 } from '../dist/lib/io/crc32.js';
import { encodeNpyHeader } from '../dist/lib/io/npy.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** xorshift32: fast, seeded; the values only need to look like embeddings, not be good randomness. */
function generator(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float → float16 bits, round to nearest even (subnormals flushed: irrelevant for unit vectors at d=768). */
function toHalf(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = ((x >>> 23) & 0xff) - 112;
  if (exponent <= 0) return sign;
  const mantissa = x & 0x7fffff;
  let half = sign | (exponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return half;
}

/** rows × dim unit rows of float16 for image and text of `rows` pairs, `chunkRows` at a time. */
function* pairChunks(rows, dim, seed, chunkRows) {
  const next = generator(seed);
  const a = new Float64Array(dim);
  for (let start = 0; start < rows; start += chunkRows) {
    const count = Math.min(chunkRows, rows - start);
    const img = new Uint16Array(count * dim);
    const txt = new Uint16Array(count * dim);
    for (let r = 0; r < count; r++) {
      let si = 0;
      let st = 0;
      for (let j = 0; j < dim; j++) {
        a[j] = next() - 0.5;
        si += a[j] * a[j];
      }
      const b = Float64Array.from(a, (v) => v + 0.8 * (next() - 0.5));
      for (let j = 0; j < dim; j++) st += b[j] * b[j];
      const ni = 1 / Math.sqrt(si);
      const nt = 1 / Math.sqrt(st);
      for (let j = 0; j < dim; j++) {
        img[r * dim + j] = toHalf(a[j] * ni);
        txt[r * dim + j] = toHalf(b[j] * nt);
      }
    }
    yield { img, txt };
  }
}

/** A stored-entry zip writer that streams entries of known size (numpy.savez's layout, no zip64). */
class StoredZip {
  constructor(path) {
    this.fd = openSync(path, 'w');
    this.offset = 0;
    this.entries = [];
  }
  write(bytes) {
    writeSync(this.fd, bytes);
    this.offset += bytes.length;
  }
  /** Writes an entry whose data comes in pieces; the CRC is patched into the local header afterwards. */
  entry(name, size, pieces) {
    const nameBytes = new TextEncoder().encode(name);
    const headerAt = this.offset;
    const header = new DataView(new ArrayBuffer(30));
    header.setUint32(0, 0x04034b50, true);
    header.setUint16(4, 20, true);
    header.setUint32(18, size, true);
    header.setUint32(22, size, true);
    header.setUint16(26, nameBytes.length, true);
    this.write(new Uint8Array(header.buffer));
    this.write(nameBytes);
    let crc = 0;
    for (const piece of pieces) {
      crc = crc32(piece, crc);
      this.write(piece);
    }
    const crcBytes = new Uint8Array(4);
    new DataView(crcBytes.buffer).setUint32(0, crc, true);
    writeSync(this.fd, crcBytes, 0, 4, headerAt + 14);
    this.entries.push({ nameBytes, size, crc, headerAt });
  }
  close() {
    const directoryAt = this.offset;
    for (const e of this.entries) {
      const c = new DataView(new ArrayBuffer(46));
      c.setUint32(0, 0x02014b50, true);
      c.setUint16(4, 20, true);
      c.setUint16(6, 20, true);
      c.setUint32(16, e.crc, true);
      c.setUint32(20, e.size, true);
      c.setUint32(24, e.size, true);
      c.setUint16(28, e.nameBytes.length, true);
      c.setUint32(42, e.headerAt, true);
      this.write(new Uint8Array(c.buffer));
      this.write(e.nameBytes);
    }
    const end = new DataView(new ArrayBuffer(22));
    end.setUint32(0, 0x06054b50, true);
    end.setUint16(8, this.entries.length, true);
    end.setUint16(10, this.entries.length, true);
    end.setUint32(12, this.offset - directoryAt, true);
    end.setUint32(16, directoryAt, true);
    this.write(new Uint8Array(end.buffer));
    closeSync(this.fd);
  }
}

/**
 * Writes `<dir>/<name>.parquet` and `<dir>/<name>.npz` for `rows` pairs of `dim`-d float16 embeddings.
 * The image and text matrices are generated twice from the same seed (once per entry) so neither is
 * ever held whole.
 */
export function writeSyntheticShard(dir, name, rows, dim = 768, seed = 1) {
  const next = generator(seed ^ 0xabcdef);
  const uids = Array.from({ length: rows }, () => {
    let s = '';
    for (let i = 0; i < 4; i++)
      s += Math.floor(next() * 2 ** 32)
        .toString(16)
        .padStart(8, '0');
    return s;
  });
  writeFileSync(
    join(dir, `${name}.parquet`),
    new Uint8Array(
      parquetWriteBuffer({
        columnData: [
          { name: 'uid', data: uids, type: 'STRING' },
          { name: 'url', data: uids.map((u) => `https://example.com/${u}.jpg`), type: 'STRING' },
          { name: 'text', data: uids.map((_, i) => `synthetic caption ${i}`), type: 'STRING' },
        ],
      }),
    ),
  );
  const zip = new StoredZip(join(dir, `${name}.npz`));
  const header = encodeNpyHeader("'<f2'", [rows, dim]);
  for (const key of ['img', 'txt']) {
    const pieces = (function* () {
      yield header;
      for (const chunk of pairChunks(rows, dim, seed, 4096)) {
        const m = chunk[key];
        yield new Uint8Array(m.buffer, m.byteOffset, m.byteLength);
      }
    })();
    zip.entry(`l14_${key}.npy`, header.length + rows * dim * 2, pieces);
  }
  zip.close();
  return { embeddingBytes: 2 * rows * dim * 2 };
}

/** Runs `clipsift score` on `dir` in a fresh Node process and returns its wall time and peak RSS. */
export function timeScore(dir, extraArgs = []) {
  const out = join(dir, 'scores');
  const probe = `
    const { main } = await import(${JSON.stringify(join(ROOT, 'dist/lib/cli/main.js'))});
    const started = performance.now();
    const code = await main(${JSON.stringify(['score', dir, '--out', out, '--quiet', ...extraArgs])});
    const seconds = (performance.now() - started) / 1000;
    process.stderr.write(JSON.stringify({ code, seconds, maxRssKiB: process.resourceUsage().maxRSS }) + '\\n');
    process.exitCode = code;`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const last = result.stderr.trim().split('\n').pop() ?? '';
  let figures;
  try {
    figures = JSON.parse(last);
  } catch {
    throw new Error(`clipsift score failed (exit ${result.status}): ${result.stderr.trim()}`);
  }
  if (figures.code !== 0) throw new Error(`clipsift score exited ${figures.code}: ${result.stderr.trim()}`);
  return figures;
}

/** Generates a shard of `rows` rows, scores it, prints the figures, and removes the files. */
export function benchShard(rows, extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'clipsift-bench-'));
  try {
    const started = performance.now();
    const { embeddingBytes } = writeSyntheticShard(dir, 'shard', rows);
    console.log(
      `generated ${rows} rows × 768 float16 (${(embeddingBytes / 2 ** 20).toFixed(0)} MiB of embeddings) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const { seconds, maxRssKiB } = timeScore(dir, extraArgs);
    const rssBytes = maxRssKiB * 1024;
    console.log(
      `clipsift score ${extraArgs.join(' ')}: ${rows} rows in ${seconds.toFixed(1)} s = ${Math.round(rows / seconds)} rows/s`,
    );
    console.log(
      `peak RSS ${(rssBytes / 2 ** 20).toFixed(0)} MiB = ${(rssBytes / embeddingBytes).toFixed(2)}× the shard's embedding bytes`,
    );
    // negCLIPLoss dominates at the defaults (2·rows·batch·dim flops per repeat): this figure lets the
    // time at other batch sizes and repeats be worked out from a short run.
    const option = (name, fallback) => {
      const at = extraArgs.indexOf(name);
      return at >= 0 ? Number(extraArgs[at + 1]) : fallback;
    };
    const flops = 2 * rows * Math.min(option('--batch-size', 32768), rows) * 768 * option('--repeats', 10);
    console.log(
      `negCLIPLoss work: ${(flops / 1e9).toFixed(0)} GFLOP, ${(flops / 1e9 / seconds).toFixed(1)} GFLOP/s over the whole run`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
