/**
 * The clipsift engine: CLIPScore, negCLIPLoss and NormSim over embedding matrices, computed by
 * SIMD WebAssembly kernels in one or more threads.
 */
import { checkPrecision, type Kernels, type Precision, readKernels } from './abi.js';
import type { Executor } from './executor.js';
import { openExecutor, type ExecutorInfo, type ExecutorOptions } from './open.js';
import * as ops from './ops.js';
import { normalizeRows } from '../numeric/normalize.js';
import {
  checkEmbeddings,
  checkFiniteScores,
  checkNorms,
  checkPairs,
  checkPositiveInteger,
  maxFiniteNorm,
  temperatureProblem,
  type Embeddings,
  type RowNorms,
} from './validate.js';

export type { Embeddings } from './validate.js';
export {
  firstNonFiniteRow,
  firstOverlargeRow,
  maxFiniteNorm,
  TEMPERATURE_RANGE,
  temperatureProblem,
} from './validate.js';

/** Image and text rows must be small enough for finite scores (see maxFiniteNorm). */
function checkScoreNorms(
  img: Embeddings,
  txt: Embeddings,
  limit: number,
  [imgNorms, txtNorms]: [RowNorms, RowNorms],
): void {
  checkNorms('image embeddings', img, limit, imgNorms);
  checkNorms('text embeddings', txt, limit, txtNorms);
}
export type { ExecutorInfo as EngineInfo } from './open.js';
export type { Precision } from './abi.js';
export type { Nearest } from './ops.js';

export interface EngineOptions extends ExecutorOptions {
  /**
   * Default precision of the similarity GEMM for every call (each call can override it):
   * 'f32' (the default) multiplies float32 panels; 'i16' quantises each row to int16 with its own
   * scale on the way into wasm, multiplies exactly in int32 (about twice the f32 rate) and
   * dequantises per tile. Error of 'i16' on unit-norm rows: README "Precision".
   */
  precision?: Precision;
}

/**
 * negCLIPLoss's defaults, the paper's: batches of 32768 rows, τ = 0.01, 10 shuffles averaged, seed 0.
 * The CLI's options, the demo page and the edge function take theirs from here.
 */
export const NEGCLIP_LOSS_DEFAULTS = Object.freeze({ batchSize: 32768, temperature: 0.01, repeats: 10, seed: 0 });

/** An L2-normalised float32 copy of `e` (zero rows stay zero); the caller's array is not touched. */
function normalized(e: Embeddings): Embeddings {
  return { data: normalizeRows(e.data, e.dim), rows: e.rows, dim: e.dim };
}

/** Per-call precision override. */
export interface PrecisionOption {
  /** 'f32' or 'i16'; defaults to the engine's precision. */
  precision?: Precision;
}

export interface NegClipLossOptions extends PrecisionOption {
  /** Rows per batch (default 32768); the last batch of a shuffle may be smaller. */
  batchSize?: number;
  /** τ (default 0.01). */
  temperature?: number;
  /** Independent shuffles averaged (default 10). */
  repeats?: number;
  /** Seed of the shuffles (default 0). */
  seed?: number;
  /** L2-normalise rows first (default false: DataComp and clip-retrieval embeddings already are). */
  normalize?: boolean;
  /** Called after each batch with (rows × repeats done, rows × repeats). */
  onProgress?: (done: number, total: number) => void;
  /** Stops the call between batches; it then rejects with the signal's reason (see {@link Abortable}). */
  signal?: AbortSignal;
}

/**
 * Long operations take an AbortSignal. It is checked when the call starts (calls run one at a time,
 * so a queued call may start later) and between its batches: an aborted call rejects with
 * `signal.reason` (an AbortError DOMException by default) without running further kernels, and the
 * engine stays usable for the calls after it.
 */
export interface Abortable {
  signal?: AbortSignal;
}

export interface NormSimOptions extends Abortable, PrecisionOption {
  normalize?: boolean;
  /** Called after each chunk of candidates with (candidates done, candidates). */
  onProgress?: (done: number, total: number) => void;
}

export interface PrepareTargetOptions extends Abortable {
  /** The norm: Infinity (default, max similarity) or any p >= 1. */
  p?: number;
  normalize?: boolean;
}

/**
 * A target given by its Gram matrix G = TᵀT (row-major dim × dim, float64), for NormSim_2 where
 * the target rows are not at hand: computed once with engine.gramMatrix and shipped instead of them.
 */
export interface GramTarget {
  gram: Float64Array;
  dim: number;
  /** Rows of T (reported by target.rows; not needed for the scores). */
  rows: number;
}

export interface ClipScoreOptions extends Abortable, PrecisionOption {
  normalize?: boolean;
}

export interface NearestOptions extends Abortable {
  /** Subtracted from each centroid's dot products (one value per centroid). */
  shift?: Float64Array;
}

/** A target set prepared for NormSim: reuse it across candidate batches. */
export interface Target {
  readonly p: number;
  readonly rows: number;
  readonly dim: number;
}

const prepared = new WeakMap<Target, ops.PreparedTarget>();

export interface Engine {
  /** CLIPScore_i = img_i · txt_i. */
  clipScore(img: Embeddings, txt: Embeddings, options?: ClipScoreOptions): Promise<Float32Array>;
  /** negCLIPLoss_i = s_ii − τ/2·[log Σ_j exp(s_ij/τ) + log Σ_j exp(s_ji/τ)] over i's batch, averaged over shuffles. */
  negClipLoss(img: Embeddings, txt: Embeddings, options?: NegClipLossOptions): Promise<Float32Array>;
  /**
   * Prepares target image embeddings for NormSim_p (p = 2 builds the d×d Gram matrix), or a Gram matrix for p = 2.
   * For p ≠ 2 (and for p = 2 with no more rows than dims) the target keeps a reference to `target.data`,
   * not a copy, so a multi-gigabyte target is held once: leave those rows unchanged while the Target is in use.
   */
  prepareTarget(target: Embeddings | GramTarget, options?: PrepareTargetOptions): Promise<Target>;
  /** G = TᵀT in float64 (row-major dim × dim), summed in a fixed order. */
  gramMatrix(target: Embeddings, options?: Abortable): Promise<Float64Array>;
  /** NormSim_p(x) = (Σ_t |x·t|^p)^(1/p) for every candidate row x (max_t |x·t| for p = ∞). */
  normSim(candidates: Embeddings, target: Target, options?: NormSimOptions): Promise<Float32Array>;
  /**
   * For every row x: the index of the centroid c with the largest x·c − shift[c] (the lowest index
   * among equals) and that value. shift[c] = ‖c‖²/2 makes it the nearest centroid in L2 distance;
   * no shift, the largest inner product. Dot products in float32 (the f32 GEMM), bitwise the same
   * at any thread count.
   */
  nearestCentroids(rows: Embeddings, centroids: Embeddings, options?: NearestOptions): Promise<ops.Nearest>;
  /** Runtime, threads and SIMD variant in use, and the default precision. */
  info(): ExecutorInfo & { precision: Precision };
  /** Terminates workers; later calls reject. */
  close(): Promise<void>;
}

/** Creates an engine. `threads: 'auto'` uses every core where workers and shared memory exist. */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  const precision = checkPrecision(options.precision ?? 'f32');
  const { executor, info } = await openExecutor(options);
  let k: Kernels;
  try {
    k = readKernels(executor);
  } catch (error) {
    await executor.close();
    throw error;
  }
  return new SerialEngine(k, executor, info, precision);
}

/** Runs one operation at a time: operations share the wasm scratch memory. */
class SerialEngine implements Engine {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly k: Kernels,
    private readonly executor: Executor,
    private readonly about: ExecutorInfo,
    private readonly precision: Precision,
  ) {}

  private precisionOf(options: PrecisionOption): Precision {
    return options.precision === undefined ? this.precision : checkPrecision(options.precision);
  }

  private serial<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const run = async () => {
      if (this.closed) throw new Error('clipsift: engine is closed');
      signal?.throwIfAborted();
      return work();
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  clipScore(img: Embeddings, txt: Embeddings, options: ClipScoreOptions = {}) {
    const norms = checkPairs(img, txt);
    const precision = this.precisionOf(options);
    if (options.normalize) [img, txt] = [normalized(img), normalized(txt)];
    else checkScoreNorms(img, txt, maxFiniteNorm(), norms);
    return this.serial(
      async () => checkFiniteScores('CLIPScore', await ops.clipScore(this.k, img, txt, precision, options.signal)),
      options.signal,
    );
  }

  negClipLoss(img: Embeddings, txt: Embeddings, options: NegClipLossOptions = {}) {
    const norms = checkPairs(img, txt);
    const {
      batchSize = NEGCLIP_LOSS_DEFAULTS.batchSize,
      temperature = NEGCLIP_LOSS_DEFAULTS.temperature,
      repeats = NEGCLIP_LOSS_DEFAULTS.repeats,
      seed = NEGCLIP_LOSS_DEFAULTS.seed,
    } = options;
    checkPositiveInteger('batchSize', batchSize);
    checkPositiveInteger('repeats', repeats);
    const badTemperature = temperatureProblem(temperature);
    if (badTemperature) throw new RangeError(`clipsift: ${badTemperature}`);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError(`clipsift: seed must be an integer in [0, 2^32), got ${seed}`);
    const precision = this.precisionOf(options);
    if (options.normalize) [img, txt] = [normalized(img), normalized(txt)];
    else checkScoreNorms(img, txt, maxFiniteNorm(temperature), norms);
    return this.serial(
      async () =>
        checkFiniteScores(
          'negCLIPLoss',
          await ops.negClipLoss(this.k, img, txt, {
            batchSize,
            temperature,
            repeats,
            seed,
            precision,
            onProgress: options.onProgress,
            signal: options.signal,
          }),
        ),
      options.signal,
    );
  }

  async prepareTarget(target: Embeddings | GramTarget, options: PrepareTargetOptions = {}): Promise<Target> {
    if ('gram' in target) return this.prepareGramTarget(target, options);
    checkEmbeddings('target embeddings', target);
    const p = options.p ?? Infinity;
    if (typeof p !== 'number' || Number.isNaN(p) || p < 1)
      throw new RangeError(`clipsift: p must be >= 1 or Infinity, got ${p}`);
    if (options.normalize) target = normalized(target);
    const ready = await this.serial(() => ops.prepareTarget(this.k, target, p, options.signal), options.signal);
    const handle: Target = Object.freeze({ p, rows: target.rows, dim: target.dim });
    prepared.set(handle, ready);
    return handle;
  }

  private prepareGramTarget(target: GramTarget, options: PrepareTargetOptions): Target {
    const { gram, dim, rows } = target;
    const p = options.p ?? 2;
    if (p !== 2) throw new RangeError(`clipsift: a Gram matrix gives NormSim_2 only, not p = ${p}`);
    if (options.normalize)
      throw new RangeError('clipsift: a Gram matrix cannot be normalised; normalise the rows before computing it');
    if (!(gram instanceof Float64Array)) throw new TypeError('clipsift: gram must be a Float64Array');
    if (!Number.isInteger(dim) || dim < 1 || gram.length !== dim * dim) {
      throw new RangeError(`clipsift: gram has ${gram.length} values, not dim × dim = ${dim} × ${dim}`);
    }
    if (!Number.isInteger(rows) || rows < 1)
      throw new RangeError(`clipsift: rows must be a positive integer, got ${rows}`);
    const bad = gram.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new RangeError(`clipsift: gram row ${Math.floor(bad / dim)} has a non-finite value`);
    const handle: Target = Object.freeze({ p: 2, rows, dim });
    prepared.set(handle, { kind: 'gram', p: 2, rows, dim, gram: gram.slice() });
    return handle;
  }

  gramMatrix(target: Embeddings, options: Abortable = {}) {
    checkEmbeddings('target embeddings', target);
    return this.serial(() => ops.gramMatrix(this.k, target, options.signal), options.signal);
  }

  normSim(candidates: Embeddings, target: Target, options: NormSimOptions = {}) {
    checkEmbeddings('candidate embeddings', candidates);
    const ready = prepared.get(target);
    if (!ready) throw new TypeError('clipsift: target was not made by prepareTarget of an engine');
    if (candidates.dim !== target.dim)
      throw new RangeError(`clipsift: candidate dim ${candidates.dim} differs from target dim ${target.dim}`);
    const precision = this.precisionOf(options);
    if (options.normalize) candidates = normalized(candidates);
    return this.serial(
      async () =>
        checkFiniteScores(
          'NormSim',
          await ops.normSim(this.k, candidates, ready, precision, options.onProgress, options.signal),
        ),
      options.signal,
    );
  }

  nearestCentroids(rows: Embeddings, centroids: Embeddings, options: NearestOptions = {}) {
    checkEmbeddings('rows', rows);
    checkEmbeddings('centroids', centroids);
    if (rows.dim !== centroids.dim)
      throw new RangeError(`clipsift: row dim ${rows.dim} differs from centroid dim ${centroids.dim}`);
    const { shift } = options;
    if (shift !== undefined && (!(shift instanceof Float64Array) || shift.length !== centroids.rows))
      throw new RangeError(`clipsift: shift must be a Float64Array of ${centroids.rows} values (one per centroid)`);
    if (shift?.some((v) => !Number.isFinite(v))) throw new RangeError('clipsift: shift has a non-finite value');
    return this.serial(() => ops.nearestCentroids(this.k, rows, centroids, shift, options.signal), options.signal);
  }

  info() {
    return { ...this.about, precision: this.precision };
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.executor.close();
  }
}
