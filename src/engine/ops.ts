/**
 * The engine's operations: lay out wasm memory, stage rows from JS memory batch by batch, and hand
 * the executor independent tasks. Task boundaries depend on the data only, never on the thread
 * count, which keeps results bitwise identical however many threads run them.
 */
import type { GemmKernels, Kernels, Precision, SourceType } from './abi.js';
import { Arena } from './arena.js';
import type { Task } from './executor.js';
import { float16ToFloat32 } from '../numeric/float16.js';
import { mixSeed, permutation } from '../numeric/random.js';
import type { Embeddings } from './validate.js';

/** Candidate rows staged per round of NormSim, and target rows per chunk. */
const CANDIDATE_CHUNK = 8192;
const TARGET_CHUNK = 8192;
/** Rows staged per round of CLIPScore. */
const PAIR_CHUNK = 16384;
/** Target rows per Gram partial, and partials summed per wave. */
const GRAM_CHUNK = 1024;
const GRAM_WAVE = 8;

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;
const elementBytes = (e: Embeddings) => (e.data instanceof Uint16Array ? 2 : 4);
const sourceType = (e: Embeddings): SourceType => (e.data instanceof Uint16Array ? 'f16' : 'f32');

/** Splits [0, count) into tasks of `per` items: fn(...head, start, end). */
function rangeTasks(fn: string, head: number[], count: number, per: number): Task[] {
  const tasks: Task[] = [];
  for (let start = 0; start < count; start += per)
    tasks.push({ fn, args: [...head, start, Math.min(count, start + per)] });
  return tasks;
}

/** Copies rows of `e` (all of [first, first+count), or the listed ones) into wasm memory at `at`. */
function stageRows(
  memory: WebAssembly.Memory,
  at: number,
  e: Embeddings,
  first: number,
  count: number,
  order?: Uint32Array,
): void {
  const { dim, data } = e;
  // The caller's array is read when the call runs, not when it was made (calls queue): one that was
  // detached (transferred to a worker) or swapped meanwhile must fail, not stage stale memory.
  if (data.length !== e.rows * dim) {
    throw new Error(
      `clipsift: an input array changed after the call was made (${data.length} values, expected ${e.rows} × ${dim}: detached or transferred?); keep inputs unchanged until the call settles`,
    );
  }
  const View = data instanceof Uint16Array ? Uint16Array : Float32Array;
  const dst = new View(memory.buffer, at, count * dim);
  if (!order) {
    dst.set(data.subarray(first * dim, (first + count) * dim));
    return;
  }
  for (let i = 0; i < count; i++) {
    const row = order[first + i];
    dst.set(data.subarray(row * dim, (row + 1) * dim), i * dim);
  }
}

/** Panel rows of one side of a precision's micro-kernel. */
const panelRows = (g: GemmKernels, side: 'lhs' | 'rhs') => (side === 'lhs' ? g.mr : g.nr);

/** Bytes of `rows` rows of dim packed for one side of a precision's micro-kernel. */
const packedBytes = (g: GemmKernels, side: 'lhs' | 'rhs', rows: number, dim: number) =>
  g.packedBytes(rows, dim, panelRows(g, side));

/**
 * Elements a pack task packs (~340 rows of dim 768, whatever the side's panel height): a task is one
 * message to a worker, so tasks stay coarse (a 4096-row side is 12 tasks; 94 when this counted panels
 * of 2 rows, whose messages made packing on 2 workers slower than on one).
 */
const PACK_TASK_ELEMENTS = 1 << 18;

function packTasks(g: GemmKernels, side: 'lhs' | 'rhs', e: Embeddings, src: number, rows: number, dst: number): Task[] {
  const panels = Math.ceil(rows / panelRows(g, side));
  const perTask = Math.max(1, Math.ceil(PACK_TASK_ELEMENTS / (e.dim * panelRows(g, side))));
  return rangeTasks(g.pack[side][sourceType(e)], [src, rows, e.dim, dst], panels, perTask);
}

/** CLIPScore_i = img_i · txt_i. */
export async function clipScore(
  k: Kernels,
  img: Embeddings,
  txt: Embeddings,
  precision: Precision,
  signal?: AbortSignal,
): Promise<Float32Array> {
  // Mixed f16/f32 pairs are compared in f32.
  if (sourceType(img) !== sourceType(txt)) [img, txt] = [toFloat32(img), toFloat32(txt)];
  const { rows, dim } = img;
  const chunk = Math.min(rows, PAIR_CHUNK);
  const arena = new Arena(k.executor.memory, k.heapBase);
  const a = arena.take(chunk * dim * elementBytes(img));
  const b = arena.take(chunk * dim * elementBytes(txt));
  const out = arena.take(chunk * 4);
  arena.commit('CLIPScore');
  const result = new Float32Array(rows);
  for (let first = 0; first < rows; first += chunk) {
    signal?.throwIfAborted();
    const count = Math.min(chunk, rows - first);
    stageRows(k.executor.memory, a, img, first, count);
    stageRows(k.executor.memory, b, txt, first, count);
    await k.executor.run(rangeTasks(k.gemm[precision].dotRows[sourceType(img)], [a, b, dim, out], count, 1024));
    result.set(new Float32Array(k.executor.memory.buffer, out, count), first);
  }
  return result;
}

/** Called after each batch (negCLIPLoss: rows × repeats done; NormSim: candidates done). */
export type Progress = (done: number, total: number) => void;

export interface NegClipOptions {
  batchSize: number;
  temperature: number;
  repeats: number;
  seed: number;
  precision: Precision;
  onProgress?: Progress;
  /** Checked before every batch: an aborted call stops there and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
}

/** negCLIPLoss, averaged over `repeats` seeded shuffles cut into batches of `batchSize` rows. */
export async function negClipLoss(
  k: Kernels,
  img: Embeddings,
  txt: Embeddings,
  o: NegClipOptions,
): Promise<Float32Array> {
  if (sourceType(img) !== sourceType(txt)) [img, txt] = [toFloat32(img), toFloat32(txt)];
  const g = k.gemm[o.precision];
  const n = img.rows;
  const batch = Math.min(o.batchSize, n);
  // One batch holds every row whatever the shuffle, so every repeat would give the same values.
  const repeats = batch === n ? 1 : o.repeats;
  const layout = negClipLayout(k, g, img, batch);
  const sum = new Float64Array(n);
  for (let rep = 0; rep < repeats; rep++) {
    const order = batch === n ? undefined : permutation(n, mixSeed(o.seed, rep));
    for (let first = 0; first < n; first += batch) {
      o.signal?.throwIfAborted();
      const count = Math.min(batch, n - first);
      await negClipBatch(k, g, layout, img, txt, first, count, order, o.temperature, sum);
      o.onProgress?.(rep * n + first + count, repeats * n);
    }
  }
  const result = new Float32Array(n);
  for (let i = 0; i < n; i++) result[i] = sum[i] / repeats;
  return result;
}

interface NegClipLayout {
  /** Raw rows of one side at a time: images are staged and packed, then texts. */
  staging: number;
  lhs: number;
  rhs: number;
  rowMax: number;
  rowSum: number;
  diag: number;
  colLse: number;
  out: number;
  colPartials: number;
  strips: number;
}

function negClipLayout(k: Kernels, g: GemmKernels, e: Embeddings, batch: number): NegClipLayout {
  const { dim } = e;
  const blocks = Math.ceil(batch / k.blockRows);
  const stride = roundUp(batch, 4);
  const arena = new Arena(k.executor.memory, k.heapBase);
  const layout: NegClipLayout = {
    staging: arena.take(batch * dim * elementBytes(e)),
    lhs: arena.take(packedBytes(g, 'lhs', batch, dim)),
    rhs: arena.take(packedBytes(g, 'rhs', batch, dim)),
    rowMax: arena.take(stride * 4),
    rowSum: arena.take(stride * 4),
    diag: arena.take(stride * 4),
    colLse: arena.take(stride * 4),
    out: arena.take(stride * 4),
    colPartials: arena.take(blocks * stride * 4),
    strips: arena.take(blocks * k.stripBytes),
  };
  arena.commit(`negCLIPLoss with a batch of ${batch} rows of dim ${dim}`);
  return layout;
}

/** One batch of negCLIPLoss: its rows staged, packed and scored; the values are added into `sum` at their rows. */
async function negClipBatch(
  k: Kernels,
  g: GemmKernels,
  l: NegClipLayout,
  img: Embeddings,
  txt: Embeddings,
  first: number,
  n: number,
  order: Uint32Array | undefined,
  temperature: number,
  sum: Float64Array,
): Promise<void> {
  const x = k.executor;
  const dim = img.dim;
  stageRows(x.memory, l.staging, img, first, n, order);
  await x.run(packTasks(g, 'lhs', img, l.staging, n, l.lhs));
  stageRows(x.memory, l.staging, txt, first, n, order);
  await x.run(packTasks(g, 'rhs', txt, l.staging, n, l.rhs));
  const blocks = Math.ceil(n / k.blockRows);
  const blockTasks: Task[] = [];
  for (let b = 0; b < blocks; b++) {
    blockTasks.push({
      fn: g.negclipBlock,
      args: [l.lhs, l.rhs, n, dim, 1 / temperature, b, l.rowMax, l.rowSum, l.diag, l.colPartials, l.strips],
    });
  }
  await x.run(blockTasks);
  await x.run(rangeTasks('negclip_merge', [l.colPartials, blocks, n, l.colLse], roundUp(n, 4), 512));
  x.kernels.negclip_finish(l.diag, l.rowMax, l.rowSum, l.colLse, temperature, l.out, 0, n);
  // Read out here, before anything else can run on this memory: no view of wasm memory leaves this module.
  const values = new Float32Array(x.memory.buffer, l.out, n);
  for (let i = 0; i < n; i++) sum[order ? order[first + i]! : first + i] += values[i]!;
}

/** A target made ready for NormSim: its rows (p ≠ 2, or few rows) or its Gram matrix (p = 2). */
export type PreparedTarget =
  | { kind: 'rows'; p: number; rows: number; dim: number; embeddings: Embeddings }
  | { kind: 'gram'; p: 2; rows: number; dim: number; gram: Float64Array };

/** Prepares a target once for many candidate batches. */
export async function prepareTarget(
  k: Kernels,
  target: Embeddings,
  p: number,
  signal?: AbortSignal,
): Promise<PreparedTarget> {
  const { rows, dim } = target;
  // Below dim rows, Σ_t (x·t)² directly costs less than xᵀGx and is exact to the last bit of each product.
  if (p !== 2 || rows <= dim) {
    // Kept by reference, not copied: a target can be gigabytes (ImageNet at float16 is ~2 GB), and the
    // caller, who loaded it, would otherwise hold it twice. The contract is on Engine.prepareTarget.
    return { kind: 'rows', p, rows, dim, embeddings: { ...target } };
  }
  return { kind: 'gram', p: 2, rows, dim, gram: await gramMatrix(k, target, signal) };
}

/** G = TᵀT in float64 (f32 products of each chunk, f64 sums), summed over chunks of target rows in a fixed order. */
export async function gramMatrix(k: Kernels, t: Embeddings, signal?: AbortSignal): Promise<Float64Array> {
  const { rows, dim } = t;
  const x = k.executor;
  const chunkRows = Math.min(GRAM_CHUNK, rows);
  const wave = Math.min(GRAM_WAVE, Math.ceil(rows / chunkRows));
  const partialBytes = k.gram.partialBytes(dim);
  const arena = new Arena(x.memory, k.heapBase);
  const gram = arena.take(dim * dim * 8);
  const slots = Array.from({ length: wave }, () => ({
    raw: arena.take(chunkRows * dim * elementBytes(t)),
    lhs: arena.take(k.gemm.f32.packedBytes(dim, chunkRows, k.gram.mr)),
    rhs: arena.take(k.gemm.f32.packedBytes(dim, chunkRows, k.gram.nr)),
  }));
  const partials = arena.take(wave * partialBytes);
  arena.commit(`the Gram matrix of a dim-${dim} target`);
  x.kernels.fill_f64(gram, dim * dim, 0);
  const transposed = k.gram.packTransposed[sourceType(t)];
  for (let first = 0; first < rows; first += wave * chunkRows) {
    signal?.throwIfAborted();
    const chunks = Math.min(wave, Math.ceil((rows - first) / chunkRows));
    const packs: Task[] = [];
    const products: Task[] = [];
    for (let c = 0; c < chunks; c++) {
      const start = first + c * chunkRows;
      const count = Math.min(chunkRows, rows - start);
      const s = slots[c];
      stageRows(x.memory, s.raw, t, start, count);
      packs.push({
        fn: transposed.lhs,
        args: [s.raw, count, dim, s.lhs, 0, Math.ceil(dim / k.gram.mr)],
      });
      packs.push({
        fn: transposed.rhs,
        args: [s.raw, count, dim, s.rhs, 0, Math.ceil(dim / k.gram.nr)],
      });
      products.push({ fn: 'gram_partial', args: [s.lhs, s.rhs, count, dim, partials + c * partialBytes] });
    }
    await x.run(packs);
    await x.run(products);
    await x.run(rangeTasks('gram_accumulate', [partials, chunks, dim, gram], dim, 32));
  }
  return new Float64Array(x.memory.buffer, gram, dim * dim).slice();
}

/** NormSim_p of every candidate against a prepared target. */
export async function normSim(
  k: Kernels,
  candidates: Embeddings,
  target: PreparedTarget,
  precision: Precision,
  onProgress?: Progress,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const x = k.executor;
  const g = k.gemm[precision];
  const { rows, dim } = candidates;
  const chunk = Math.min(rows, CANDIDATE_CHUNK);
  const arena = new Arena(x.memory, k.heapBase);
  const raw = arena.take(chunk * dim * elementBytes(candidates));
  const lhs = arena.take(packedBytes(g, 'lhs', chunk, dim));
  const acc0 = arena.take(roundUp(chunk, 4) * 8);
  const acc1 = arena.take(roundUp(chunk, 4) * 4);
  const out = arena.take(roundUp(chunk, 4) * 4);
  const strips = arena.take(Math.ceil(chunk / k.blockRows) * k.stripBytes);
  const targetChunk = target.kind === 'rows' ? Math.min(target.rows, TARGET_CHUNK) : 0;
  const targetRaw = target.kind === 'rows' ? arena.take(targetChunk * dim * elementBytes(target.embeddings)) : 0;
  const rhs = arena.take(packedBytes(g, 'rhs', target.kind === 'rows' ? targetChunk : dim, dim));
  const gram64 = target.kind === 'gram' ? arena.take(dim * dim * 8) : 0;
  arena.commit(`NormSim of dim-${dim} candidates`);

  const quadratic = target.kind === 'gram';
  const mode = k.normsimMode(target.p, quadratic);
  const stageTarget = async (first: number, count: number) => {
    if (target.kind !== 'rows') return;
    stageRows(x.memory, targetRaw, target.embeddings, first, count);
    await x.run(packTasks(g, 'rhs', target.embeddings, targetRaw, count, rhs));
  };
  if (target.kind === 'gram') {
    new Float64Array(x.memory.buffer, gram64, dim * dim).set(target.gram);
    await x.run(rangeTasks(g.gramPack, [gram64, dim, rhs], Math.ceil(dim / g.nr), 8));
  } else if (target.rows <= TARGET_CHUNK) {
    await stageTarget(0, target.rows);
  }

  const result = new Float32Array(rows);
  for (let first = 0; first < rows; first += chunk) {
    signal?.throwIfAborted();
    const count = Math.min(chunk, rows - first);
    const blocks = Math.ceil(count / k.blockRows);
    stageRows(x.memory, raw, candidates, first, count);
    await x.run(packTasks(g, 'lhs', candidates, raw, count, lhs));
    x.kernels.normsim_init(mode, acc0, acc1, count);
    if (quadratic) {
      await x.run(
        Array.from({ length: blocks }, (_, b) => ({
          fn: g.normsimQuadraticBlock,
          args: [lhs, count, rhs, dim, b, acc0, strips],
        })),
      );
    } else {
      for (let t0 = 0; t0 < target.rows; t0 += TARGET_CHUNK) {
        const tCount = Math.min(TARGET_CHUNK, target.rows - t0);
        if (target.rows > TARGET_CHUNK) await stageTarget(t0, tCount);
        await x.run(
          Array.from({ length: blocks }, (_, b) => ({
            fn: g.normsimBlock,
            args: [lhs, count, rhs, tCount, dim, b, mode, target.p, acc0, acc1, strips],
          })),
        );
      }
    }
    x.kernels.normsim_finish(mode, target.p, acc0, acc1, out, 0, count);
    result.set(new Float32Array(x.memory.buffer, out, count), first);
    onProgress?.(first + count, rows);
  }
  return result;
}

function toFloat32(e: Embeddings): Embeddings {
  if (e.data instanceof Float32Array) return e;
  return { data: float16ToFloat32(e.data), rows: e.rows, dim: e.dim };
}

/** Rows of a nearest-centroid task's row block, and centroids per tile (multiples of both panel heights). */
const NEAREST_BLOCK = 512;
const NEAREST_TILE = 512;
/** Centroids packed per round, and row blocks per wave of tasks. */
const NEAREST_CHUNK = 8192;
const NEAREST_WAVE = 8;

/** For each row: the centroid with the largest x·c − shift[c] (the lowest index among equals), and that value. */
export interface Nearest {
  index: Int32Array;
  score: Float64Array;
}

/**
 * argmax_c (x·c − shift[c]) for every row x of `rows`, the dot products from the f32 GEMM micro-kernel.
 *
 * The kernel exported for it is the Gram kernel (gram_partial), which computes the upper triangle of
 * S·Sᵀ for a packed S: with S's LHS panels = a block of B rows and its RHS panels = a tile of T
 * centroids placed after B rows (the RHS pointer is set back by B rows' panels, whose products land
 * in the ignored part), the triangle's upper-right B × T block is X·Cᵀ. That costs about twice the
 * flops of a plain GEMM. Blocks and tiles are fixed sizes and each dot product is one kernel call's
 * fixed-order sum, so the result is bitwise the same at any thread count; the argmax is taken in
 * centroid order with float64 shifts.
 */
export async function nearestCentroids(
  k: Kernels,
  rows: Embeddings,
  centroids: Embeddings,
  shift: Float64Array | undefined,
  signal?: AbortSignal,
): Promise<Nearest> {
  const x = k.executor;
  const g = k.gemm.f32;
  const { dim } = rows;
  const n = rows.rows;
  const index = new Int32Array(n).fill(-1);
  const score = new Float64Array(n).fill(-Infinity);
  if (n === 0 || centroids.rows === 0) return { index, score };
  const side = NEAREST_BLOCK + NEAREST_TILE;
  const lhsPanel = packedBytes(g, 'lhs', g.mr, dim);
  const rhsPanel = packedBytes(g, 'rhs', g.nr, dim);
  const stride = roundUp(side, g.nr);
  const chunk = Math.min(NEAREST_CHUNK, roundUp(centroids.rows, NEAREST_TILE));
  const blocks = Math.ceil(n / NEAREST_BLOCK);
  const wave = Math.min(NEAREST_WAVE, blocks);
  const arena = new Arena(x.memory, k.heapBase);
  const slots = Array.from({ length: wave }, () => ({
    raw: arena.take(NEAREST_BLOCK * dim * elementBytes(rows)),
    // Panels for B + T rows: the kernel reads the rows past the block (their products are ignored).
    lhs: arena.take((side / g.mr) * lhsPanel),
    out: arena.take(k.gram.partialBytes(side)),
  }));
  // At least B rows' RHS panels of memory lie before the centroids (the lhs slots), for the first tile.
  const cRaw = arena.take(chunk * dim * elementBytes(centroids));
  const packedC = arena.take((chunk / g.nr) * rhsPanel);
  arena.commit(`the nearest of ${centroids.rows} centroids of dim ${dim}`);
  // Panels past the data are read (their products ignored): zeros, not stale bits of earlier calls.
  new Uint8Array(x.memory.buffer, slots[0]!.raw, packedC + (chunk / g.nr) * rhsPanel - slots[0]!.raw).fill(0);

  for (let c0 = 0; c0 < centroids.rows; c0 += chunk) {
    signal?.throwIfAborted();
    const cCount = Math.min(chunk, centroids.rows - c0);
    stageRows(x.memory, cRaw, centroids, c0, cCount);
    await x.run(packTasks(g, 'rhs', centroids, cRaw, cCount, packedC));
    const tiles = Math.ceil(cCount / NEAREST_TILE);
    for (let b0 = 0; b0 < blocks; b0 += wave) {
      signal?.throwIfAborted();
      const inWave = Math.min(wave, blocks - b0);
      const packs: Task[] = [];
      for (let s = 0; s < inWave; s++) {
        const first = (b0 + s) * NEAREST_BLOCK;
        const count = Math.min(NEAREST_BLOCK, n - first);
        stageRows(x.memory, slots[s]!.raw, rows, first, count);
        packs.push(...packTasks(g, 'lhs', rows, slots[s]!.raw, count, slots[s]!.lhs));
      }
      await x.run(packs);
      for (let t = 0; t < tiles; t++) {
        const rhs = packedC + ((t * NEAREST_TILE - NEAREST_BLOCK) / g.nr) * rhsPanel;
        await x.run(
          Array.from({ length: inWave }, (_, s) => ({
            fn: 'gram_partial',
            args: [slots[s]!.lhs, rhs, dim, side, slots[s]!.out],
          })),
        );
        const tileFirst = c0 + t * NEAREST_TILE;
        const tileCount = Math.min(NEAREST_TILE, centroids.rows - tileFirst);
        for (let s = 0; s < inWave; s++) {
          const first = (b0 + s) * NEAREST_BLOCK;
          const count = Math.min(NEAREST_BLOCK, n - first);
          const out = new Float32Array(x.memory.buffer, slots[s]!.out, NEAREST_BLOCK * stride);
          for (let i = 0; i < count; i++) {
            const row = first + i;
            let best = score[row]!;
            let at = index[row]!;
            const base = i * stride + NEAREST_BLOCK;
            for (let j = 0; j < tileCount; j++) {
              const c = tileFirst + j;
              const v = out[base + j]! - (shift ? shift[c]! : 0);
              if (v > best) {
                best = v;
                at = c;
              }
            }
            score[row] = best;
            index[row] = at;
          }
        }
      }
    }
  }
  return { index, score };
}
