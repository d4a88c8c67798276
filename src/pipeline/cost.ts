/**
 * What scoring costs, before doing it: floating-point operations of each score from the shapes alone,
 * a time estimate from a short calibration run of the engine, and a peak-memory estimate from the
 * buffer sizes the engine and the map step allocate. Used by `clipsift score --dry-run`.
 *
 * Flops count a multiply-add as 2, over the similarity GEMMs that dominate (the exp/log work of
 * negCLIPLoss grows with the same b² pairs and is covered by calibrating on pairs, not flops).
 */
import type { Engine, Precision } from '../index.js';
import { toFloat16Bits } from '../numeric/float16.js';

/** CLIPScore: one dot product per pair, 2·rows·dim. */
export function clipScoreFlops(rows: number, dim: number): number {
  return 2 * rows * dim;
}

/**
 * Similarity pairs negCLIPLoss computes: repeats × Σ over batches of b_k², the pool cut into batches of
 * `batch` rows (the last smaller). One batch holding every row gives the same values whatever the
 * shuffle, so it is computed once whatever `repeats` says (as the engine does).
 */
export function negClipPairs(rows: number, batch: number, repeats: number): number {
  if (rows === 0) return 0;
  if (batch >= rows) return rows * rows;
  const full = Math.floor(rows / batch);
  const rest = rows - full * batch;
  return repeats * (full * batch * batch + rest * rest);
}

/** negCLIPLoss: 2·dim per pair, i.e. 2·rows·batch·dim·repeats when batch divides rows. */
export function negClipFlops(rows: number, batch: number, dim: number, repeats: number): number {
  return 2 * dim * negClipPairs(rows, batch, repeats);
}

/**
 * NormSim against `targetRows` target rows: 2·rows·targetRows·dim; for p = 2 with more target rows than
 * dim the engine goes through the d×d Gram matrix instead, 2·rows·dim² (plus 2·targetRows·dim² once to
 * build it, see gramFlops).
 */
export function normSimFlops(rows: number, targetRows: number, dim: number, p: number): number {
  return usesGram(targetRows, dim, p) ? 2 * rows * dim * dim : 2 * rows * targetRows * dim;
}

/** Building the Gram matrix of a p = 2 target, once per run: 2·targetRows·dim² (0 when not used). */
export function gramFlops(targetRows: number, dim: number, p: number): number {
  return usesGram(targetRows, dim, p) ? 2 * targetRows * dim * dim : 0;
}

/** Whether NormSim_p goes through the Gram matrix (as the engine's prepareTarget decides). */
export function usesGram(targetRows: number, dim: number, p: number): boolean {
  return p === 2 && targetRows > dim;
}

/** Seconds per unit of work, measured on this machine with the engine the run would use. */
export interface Calibration {
  /** Wall-clock seconds per negCLIPLoss similarity pair at this dim (GEMM + log-sum-exps). */
  negClipPair: number;
  /** Wall-clock seconds per CLIPScore row. */
  clipRow: number;
  /** Wall-clock seconds per NormSim candidate-target pair (with the Gram matrix: per candidate and dim). */
  normSimPair: number | undefined;
  /**
   * The same as CPU seconds of the whole process (all kernel threads), where the runtime reports it:
   * what the work costs when the cores are not shared with other processes.
   */
  cpu: { negClipPair: number; clipRow: number; normSimPair: number | undefined } | undefined;
  /** What was run, for the message. */
  batch: number;
  batches: number;
  seconds: number;
}

/** What the calibration runs: rows of the run's dim and element type. */
export interface CalibrationSettings {
  dim: number;
  /** Batch size of the run; the calibration uses at most CALIBRATION_BATCH of it. */
  batchSize: number;
  temperature: number;
  dtype: 'f2' | 'f4';
  precision: Precision;
  /** NormSim's p and target rows, when the run has a target. */
  target: { p: number; rows: number } | undefined;
}

/** Largest batch the calibration scores (a batch of 32768 rows takes minutes; the cost per pair is the same). */
export const CALIBRATION_BATCH = 2048;
/** Least similarity pairs the calibration computes, so small batches still take a measurable time. */
const CALIBRATION_PAIRS = 1 << 22;
const CALIBRATION_TARGET_ROWS = 4096;

/**
 * Times a few negCLIPLoss batches (and a CLIPScore and a NormSim pass) of seeded unit rows on `engine`,
 * and returns the cost per unit of work. Batches of min(batchSize, 2048) rows: the per-pair cost of a
 * larger batch is the same or lower (staging and packing are O(b·d) against O(b²·d) of work), so the
 * estimate errs long.
 */
export async function calibrate(engine: Engine, s: CalibrationSettings): Promise<Calibration> {
  const started = performance.now();
  const cpuNow = cpuClock();
  const batch = Math.max(1, Math.min(s.batchSize, CALIBRATION_BATCH));
  const batches = Math.max(2, Math.min(16, Math.ceil(CALIBRATION_PAIRS / (batch * batch))));
  const rows = batch * batches;
  const img = unitRows(rows, s.dim, 1, s.dtype);
  const txt = unitRows(rows, s.dim, 2, s.dtype);
  const embeddings = (data: Float32Array | Uint16Array) => ({ data, rows, dim: s.dim });
  // One small untimed batch first: the first call starts and warms the workers.
  const warm = Math.min(batch, 256);
  await engine.negClipLoss(
    { data: img.subarray(0, warm * s.dim), rows: warm, dim: s.dim },
    { data: txt.subarray(0, warm * s.dim), rows: warm, dim: s.dim },
    { batchSize: warm, temperature: s.temperature, repeats: 1, seed: 0, precision: s.precision },
  );
  const time = async (run: () => Promise<unknown>, units: number) => {
    const wall = performance.now();
    const cpu = cpuNow?.();
    await run();
    const cpuAfter = cpuNow?.();
    return {
      wall: (performance.now() - wall) / 1000 / units,
      cpu: cpu !== undefined && cpuAfter !== undefined ? (cpuAfter - cpu) / units : undefined,
    };
  };
  const negClip = await time(
    () =>
      engine.negClipLoss(embeddings(img), embeddings(txt), {
        batchSize: batch,
        temperature: s.temperature,
        repeats: 1,
        seed: 0,
        precision: s.precision,
      }),
    negClipPairs(rows, batch, 1),
  );
  const clip = await time(() => engine.clipScore(embeddings(img), embeddings(txt), { precision: s.precision }), rows);
  let normSim: { wall: number; cpu: number | undefined } | undefined;
  if (s.target) {
    // A target of the run's kind: rows (as many as the run's, up to 4096), or dim + 1 rows for the Gram path.
    const gram = usesGram(s.target.rows, s.dim, s.target.p);
    const targetRows = gram ? s.dim + 1 : Math.min(s.target.rows, CALIBRATION_TARGET_ROWS);
    const prepared = await engine.prepareTarget(
      { data: unitRows(targetRows, s.dim, 3, s.dtype), rows: targetRows, dim: s.dim },
      { p: s.target.p },
    );
    const candidates = Math.min(rows, 4096);
    const sample = { data: img.subarray(0, candidates * s.dim), rows: candidates, dim: s.dim };
    const pairs = gram ? candidates * s.dim : candidates * targetRows;
    normSim = await time(() => engine.normSim(sample, prepared, { precision: s.precision }), pairs);
  }
  const cpu =
    negClip.cpu !== undefined && clip.cpu !== undefined
      ? { negClipPair: negClip.cpu, clipRow: clip.cpu, normSimPair: normSim?.cpu }
      : undefined;
  return {
    negClipPair: negClip.wall,
    clipRow: clip.wall,
    normSimPair: normSim?.wall,
    cpu,
    batch,
    batches,
    seconds: (performance.now() - started) / 1000,
  };
}

/** CPU seconds used by this process so far (every thread), or undefined where the runtime cannot say. */
function cpuClock(): (() => number) | undefined {
  const usage = (globalThis as { process?: { cpuUsage?: () => { user: number; system: number } } }).process?.cpuUsage;
  if (typeof usage !== 'function') return undefined;
  try {
    usage();
  } catch {
    return undefined;
  }
  return () => {
    const { user, system } = usage();
    return (user + system) / 1e6;
  };
}

/** Seconds a shard of `rows` rows takes to score, by the calibration. */
export function estimateSeconds(
  c: Pick<Calibration, 'negClipPair' | 'clipRow' | 'normSimPair'>,
  shape: { rows: number; dim: number; batch: number; repeats: number; target?: { rows: number; p: number } },
): { clipScore: number; negClipLoss: number; normSim: number } {
  const { rows, dim, batch, repeats, target } = shape;
  const normSim =
    target && c.normSimPair !== undefined
      ? c.normSimPair * rows * (usesGram(target.rows, dim, target.p) ? dim : target.rows)
      : 0;
  return {
    clipScore: c.clipRow * rows,
    negClipLoss: c.negClipPair * negClipPairs(rows, batch, repeats),
    normSim,
  };
}

/** What a run holds at its peak, in bytes, by part. */
export interface MemoryEstimate {
  /** The largest shard's image and text embeddings, as read (float16 stays float16), all pairs. */
  embeddings: number;
  /** Its identities (uids as strings and 128-bit words), scores and negCLIPLoss sums. */
  rowState: number;
  /** WebAssembly memory: negCLIPLoss's batch buffers (raw rows, two packed panels, per-row vectors). */
  wasm: number;
  /** The target as loaded, and its Gram matrix for p = 2. */
  target: number;
  /** The runtime itself and one isolate per kernel thread. */
  runtime: number;
  /** The JavaScript heap's headroom over what it holds (collector slack, reading buffers). */
  heapSlack: number;
  total: number;
}

/** Headroom of the JavaScript heap over what it holds live (collector slack, reading buffers). */
const HEAP_SLACK = 1.25;
/** Bytes per row of identity and bookkeeping: a uid string (~90 B in V8), 16 B of words, scores, sums, order. */
const ROW_STATE_BYTES = 90 + 16 + 4 * 4 + 8 + 4;
/** A Node or Deno process with score's modules loaded, and each worker thread's isolate with the kernels. */
const RUNTIME_BYTES = 100 * 2 ** 20;
const THREAD_BYTES = 30 * 2 ** 20;

/**
 * Peak memory of a run: the largest shard gathered whole (in its element type; --normalize of float16
 * adds a float32 copy) with its row state, the engine's batch buffers, the target, and the runtime.
 */
export function estimateMemory(s: {
  /** Rows of the largest shard, and bytes per embedding value of each pair (dims summed over pairs). */
  shardRows: number;
  pairs: { dim: number; elementBytes: number }[];
  batch: number;
  precision: Precision;
  normalize: boolean;
  target: { rows: number; dim: number; elementBytes: number; p: number } | undefined;
  threads: number;
}): MemoryEstimate {
  const embeddings = s.pairs.reduce(
    (n, p) => n + 2 * s.shardRows * p.dim * (p.elementBytes + (s.normalize && p.elementBytes === 2 ? 4 : 0)),
    0,
  );
  const rowState = s.shardRows * ROW_STATE_BYTES;
  const b = Math.min(s.batch, Math.max(1, s.shardRows));
  const packed = s.precision === 'i16' ? 2 : 4;
  const wasm = Math.max(
    0,
    ...s.pairs.map((p) => b * p.dim * p.elementBytes + 2 * roundUp(b, 8) * roundUp(p.dim, 8) * packed + 64 * b),
  );
  const target = s.target
    ? s.target.rows * s.target.dim * s.target.elementBytes +
      (usesGram(s.target.rows, s.target.dim, s.target.p) ? 2 * s.target.dim * s.target.dim * 8 : 0)
    : 0;
  const runtime = RUNTIME_BYTES + (s.threads > 1 ? s.threads * THREAD_BYTES : 0);
  const heapSlack = Math.round((HEAP_SLACK - 1) * (embeddings + rowState + target));
  return {
    embeddings,
    rowState,
    wasm,
    target,
    runtime,
    heapSlack,
    total: embeddings + rowState + wasm + target + runtime + heapSlack,
  };
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** `rows` seeded unit rows of `dim` (float16 bits for 'f2'). */
function unitRows(rows: number, dim: number, seed: number, dtype: 'f2' | 'f4'): Float32Array | Uint16Array {
  const out = new Float32Array(rows * dim);
  let state = seed * 0x9e3779b9;
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      const v = state / 2 ** 32 - 0.5;
      out[r * dim + j] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < dim; j++) out[r * dim + j]! *= inv;
  }
  return dtype === 'f2' ? Uint16Array.from(out, toFloat16Bits) : out;
}
