/**
 * The kernel module's interface as the host sees it, read once from its exports: constants (heap
 * base, block and strip sizes, each micro-kernel's tile shape) and, per precision, the exports that
 * pack, multiply and reduce. Every export name the host calls is written here, literally, once.
 */
import type { Executor } from './executor.js';

/**
 * Element type of the packed operands, i.e. which GEMM micro-kernel runs: 'f32' (float32 panels) or
 * 'i16' (per-row int16 quantisation, exact int32 dot products, dequantised per tile).
 */
export type Precision = 'f32' | 'i16';
/** Every precision, in a fixed order. */
export const PRECISIONS: readonly Precision[] = ['f32', 'i16'];

/** Element type of rows staged in wasm memory: float32, or float16 as raw bits. */
export type SourceType = 'f32' | 'f16';

/** The exports one precision runs on. */
export interface GemmKernels {
  /** Tile shape of the micro-kernel: rows of an LHS panel (MR) and of an RHS panel (NR). */
  mr: number;
  nr: number;
  /** Bytes of `rows` rows packed into panels of `panelRows` rows. */
  packedBytes(rows: number, dim: number, panelRows: number): number;
  pack: { lhs: Record<SourceType, string>; rhs: Record<SourceType, string> };
  dotRows: Record<SourceType, string>;
  negclipBlock: string;
  normsimBlock: string;
  normsimQuadraticBlock: string;
  gramPack: string;
}

/** The whole interface: what ops.ts needs besides its arguments. */
export interface Kernels {
  executor: Executor;
  heapBase: number;
  /** Rows of a block: the unit of one task. */
  blockRows: number;
  /** Bytes of one block's similarity strip. */
  stripBytes: number;
  /** Gram partials (always the f32 kernel): its tile shape, transposed packing and partial size. */
  gram: {
    mr: number;
    nr: number;
    packTransposed: Record<SourceType, { lhs: string; rhs: string }>;
    partialBytes(dim: number): number;
  };
  gemm: Record<Precision, GemmKernels>;
  /** The NormSim mode number for norm p, against target rows or (quadratic) a Gram matrix. */
  normsimMode(p: number, quadratic: boolean): number;
}

/** Reads the interface from an executor's kernels; throws naming the first export that is missing. */
export function readKernels(executor: Executor): Kernels {
  const x = executor.kernels;
  const fn = (name: string) => {
    if (typeof x[name] !== 'function') throw new Error(`clipsift: the kernel module has no export ${name}`);
    return name;
  };
  const call = (name: string) => x[fn(name)];
  const f32: GemmKernels = {
    mr: call('f32_gemm_mr')(),
    nr: call('f32_gemm_nr')(),
    packedBytes: (rows, dim, panelRows) => x.f32_packed_bytes(rows, dim, panelRows),
    pack: {
      lhs: { f32: fn('f32_pack_lhs_f32'), f16: fn('f32_pack_lhs_f16') },
      rhs: { f32: fn('f32_pack_rhs_f32'), f16: fn('f32_pack_rhs_f16') },
    },
    dotRows: { f32: fn('f32_dot_rows_f32'), f16: fn('f32_dot_rows_f16') },
    negclipBlock: fn('f32_negclip_block'),
    normsimBlock: fn('f32_normsim_block'),
    normsimQuadraticBlock: fn('f32_normsim_quadratic_block'),
    gramPack: fn('f32_gram_pack'),
  };
  const i16: GemmKernels = {
    mr: call('i16_gemm_mr')(),
    nr: call('i16_gemm_nr')(),
    packedBytes: (rows, dim, panelRows) => x.i16_packed_bytes(rows, dim, panelRows),
    pack: {
      lhs: { f32: fn('i16_pack_lhs_f32'), f16: fn('i16_pack_lhs_f16') },
      rhs: { f32: fn('i16_pack_rhs_f32'), f16: fn('i16_pack_rhs_f16') },
    },
    dotRows: { f32: fn('i16_dot_rows_f32'), f16: fn('i16_dot_rows_f16') },
    negclipBlock: fn('i16_negclip_block'),
    normsimBlock: fn('i16_normsim_block'),
    normsimQuadraticBlock: fn('i16_normsim_quadratic_block'),
    gramPack: fn('i16_gram_pack'),
  };
  const partialBytes = call('gram_partial_bytes');
  const mode = call('normsim_mode');
  fn('f32_packed_bytes');
  fn('i16_packed_bytes');
  return {
    executor,
    heapBase: call('heap_base')(),
    blockRows: call('block_rows')(),
    stripBytes: call('strip_bytes')(),
    gram: {
      mr: f32.mr,
      nr: f32.nr,
      packTransposed: {
        f32: { lhs: fn('f32_pack_lhs_transposed_f32'), rhs: fn('f32_pack_rhs_transposed_f32') },
        f16: { lhs: fn('f32_pack_lhs_transposed_f16'), rhs: fn('f32_pack_rhs_transposed_f16') },
      },
      partialBytes: (dim) => partialBytes(dim),
    },
    gemm: { f32, i16 },
    normsimMode: (p, quadratic) => mode(p, quadratic ? 1 : 0),
  };
}

/** Checks a precision option. */
export function checkPrecision(value: unknown): Precision {
  if (value === 'f32' || value === 'i16') return value;
  throw new RangeError(`clipsift: precision must be 'f32' or 'i16', got ${String(value)}`);
}
