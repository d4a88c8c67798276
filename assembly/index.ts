// The only surface the host calls. Every function works on byte offsets into linear memory that
// the host lays out; nothing here allocates, so one module serves one thread or many over shared memory.
// Names run op-tile order, element type first: <packed element>_<op>[_<source element>], where the
// packed element is f32 or i16 (the micro-kernel used) and the source is f32 or f16 (raw IEEE half bits).
import { dot_rows } from './dot';
import { F32_GEMM_MR, F32_GEMM_NR } from './f32-gemm-4x8-simd';
import { packed_bytes } from './gemm';
import { I16_GEMM_MR, I16_GEMM_NR } from './i16-gemm-2x16-simd';
import { negclip_block } from './negclip';
import { gram_pack, normsim_block, normsim_quadratic_block } from './normsim';
import { pack_panels, pack_panels_transposed } from './pack';
import { BLOCK_ROWS, STRIP_BYTES } from './tile';

export { negclip_merge, negclip_finish } from './negclip';
export { normsim_mode, normsim_init, normsim_finish, gram_partial, gram_partial_bytes, gram_accumulate } from './normsim';

/** First byte the host may use. */
export function heap_base(): usize { return __heap_base; }
export function block_rows(): i32 { return BLOCK_ROWS; }
export function strip_bytes(): i32 { return STRIP_BYTES; }

// ---- tile shapes and packed sizes, per micro-kernel ----
export function f32_gemm_mr(): i32 { return F32_GEMM_MR; }
export function f32_gemm_nr(): i32 { return F32_GEMM_NR; }
export function i16_gemm_mr(): i32 { return I16_GEMM_MR; }
export function i16_gemm_nr(): i32 { return I16_GEMM_NR; }
/** Bytes of `rows` rows packed into panels of panelRows rows. */
export function f32_packed_bytes(rows: i32, dim: i32, panelRows: i32): f64 { return <f64>packed_bytes<f32>(rows, dim, panelRows); }
export function i16_packed_bytes(rows: i32, dim: i32, panelRows: i32): f64 { return <f64>packed_bytes<i16>(rows, dim, panelRows); }

// ---- packing panels [p0, p1) of a row-major rows x dim matrix ----
export function f32_pack_lhs_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<f32, f32>(src, rows, dim, dst, F32_GEMM_MR, p0, p1); }
export function f32_pack_lhs_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<u16, f32>(src, rows, dim, dst, F32_GEMM_MR, p0, p1); }
export function f32_pack_rhs_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<f32, f32>(src, rows, dim, dst, F32_GEMM_NR, p0, p1); }
export function f32_pack_rhs_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<u16, f32>(src, rows, dim, dst, F32_GEMM_NR, p0, p1); }
export function i16_pack_lhs_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<f32, i16>(src, rows, dim, dst, I16_GEMM_MR, p0, p1); }
export function i16_pack_lhs_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<u16, i16>(src, rows, dim, dst, I16_GEMM_MR, p0, p1); }
export function i16_pack_rhs_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<f32, i16>(src, rows, dim, dst, I16_GEMM_NR, p0, p1); }
export function i16_pack_rhs_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<u16, i16>(src, rows, dim, dst, I16_GEMM_NR, p0, p1); }
export function f32_pack_lhs_transposed_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels_transposed<f32>(src, rows, dim, dst, F32_GEMM_MR, p0, p1); }
export function f32_pack_lhs_transposed_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels_transposed<u16>(src, rows, dim, dst, F32_GEMM_MR, p0, p1); }
export function f32_pack_rhs_transposed_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels_transposed<f32>(src, rows, dim, dst, F32_GEMM_NR, p0, p1); }
export function f32_pack_rhs_transposed_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels_transposed<u16>(src, rows, dim, dst, F32_GEMM_NR, p0, p1); }

// ---- CLIPScore ----
export function f32_dot_rows_f32(a: usize, b: usize, dim: i32, out: usize, r0: i32, r1: i32): void { dot_rows<f32, f32>(a, b, dim, out, r0, r1); }
export function f32_dot_rows_f16(a: usize, b: usize, dim: i32, out: usize, r0: i32, r1: i32): void { dot_rows<u16, f32>(a, b, dim, out, r0, r1); }
export function i16_dot_rows_f32(a: usize, b: usize, dim: i32, out: usize, r0: i32, r1: i32): void { dot_rows<f32, i16>(a, b, dim, out, r0, r1); }
export function i16_dot_rows_f16(a: usize, b: usize, dim: i32, out: usize, r0: i32, r1: i32): void { dot_rows<u16, i16>(a, b, dim, out, r0, r1); }

// ---- negCLIPLoss blocks ----
export function f32_negclip_block(lhs: usize, rhs: usize, n: i32, dim: i32, invTau: f32, block: i32, rowMax: usize, rowSum: usize, diag: usize, colPartials: usize, strips: usize): void {
  negclip_block<f32>(lhs, rhs, n, dim, invTau, block, rowMax, rowSum, diag, colPartials, strips);
}
export function i16_negclip_block(lhs: usize, rhs: usize, n: i32, dim: i32, invTau: f32, block: i32, rowMax: usize, rowSum: usize, diag: usize, colPartials: usize, strips: usize): void {
  negclip_block<i16>(lhs, rhs, n, dim, invTau, block, rowMax, rowSum, diag, colPartials, strips);
}

// ---- NormSim blocks ----
export function f32_normsim_block(lhs: usize, candidates: i32, rhs: usize, targetRows: i32, dim: i32, block: i32, mode: i32, p: f32, acc0: usize, acc1: usize, strips: usize): void {
  normsim_block<f32>(lhs, candidates, rhs, targetRows, dim, block, mode, p, acc0, acc1, strips);
}
export function i16_normsim_block(lhs: usize, candidates: i32, rhs: usize, targetRows: i32, dim: i32, block: i32, mode: i32, p: f32, acc0: usize, acc1: usize, strips: usize): void {
  normsim_block<i16>(lhs, candidates, rhs, targetRows, dim, block, mode, p, acc0, acc1, strips);
}
export function f32_normsim_quadratic_block(lhs: usize, candidates: i32, gram: usize, dim: i32, block: i32, acc: usize, strips: usize): void {
  normsim_quadratic_block<f32>(lhs, candidates, gram, dim, block, acc, strips);
}
export function i16_normsim_quadratic_block(lhs: usize, candidates: i32, gram: usize, dim: i32, block: i32, acc: usize, strips: usize): void {
  normsim_quadratic_block<i16>(lhs, candidates, gram, dim, block, acc, strips);
}
export function f32_gram_pack(gram: usize, dim: i32, dst: usize, q0: i32, q1: i32): void { gram_pack<f32>(gram, dim, dst, q0, q1); }
export function i16_gram_pack(gram: usize, dim: i32, dst: usize, q0: i32, q1: i32): void { gram_pack<i16>(gram, dim, dst, q0, q1); }

/** Sets n doubles at ptr to value. */
export function fill_f64(ptr: usize, n: i32, value: f64): void {
  for (let i = 0; i < n; i++) store<f64>(ptr + (<usize>i << 3), value);
}
