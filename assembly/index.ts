// The only surface the host calls. Every function works on byte offsets into linear memory that
// the host lays out; nothing here allocates, so one module serves one thread or many over shared memory.
// Suffixes name the element type of the source rows: _f32, or _f16 for raw IEEE half bits.
import { dot_rows } from './dot';
import { LHS_ROWS, RHS_ROWS, pack_panels, pack_panels_transposed } from './pack';
import { BLOCK_ROWS, STRIP_BYTES } from './tile';

export { negclip_block, negclip_merge, negclip_finish } from './negclip';
export { normsim_block, normsim_quadratic_block, normsim_finish, gram_partial, gram_accumulate, gram_pack } from './normsim';

/** First byte the host may use. */
export function heap_base(): usize { return __heap_base; }
export function block_rows(): i32 { return BLOCK_ROWS; }
export function strip_bytes(): i32 { return STRIP_BYTES; }
export function lhs_panel_rows(): i32 { return LHS_ROWS; }
export function rhs_panel_rows(): i32 { return RHS_ROWS; }

export function pack_lhs_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<f32>(src, rows, dim, dst, LHS_ROWS, p0, p1); }
export function pack_lhs_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<u16>(src, rows, dim, dst, LHS_ROWS, p0, p1); }
export function pack_rhs_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<f32>(src, rows, dim, dst, RHS_ROWS, p0, p1); }
export function pack_rhs_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels<u16>(src, rows, dim, dst, RHS_ROWS, p0, p1); }
export function pack_lhs_transposed_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels_transposed<f32>(src, rows, dim, dst, LHS_ROWS, p0, p1); }
export function pack_lhs_transposed_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels_transposed<u16>(src, rows, dim, dst, LHS_ROWS, p0, p1); }
export function pack_rhs_transposed_f32(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels_transposed<f32>(src, rows, dim, dst, RHS_ROWS, p0, p1); }
export function pack_rhs_transposed_f16(src: usize, rows: i32, dim: i32, dst: usize, p0: i32, p1: i32): void { pack_panels_transposed<u16>(src, rows, dim, dst, RHS_ROWS, p0, p1); }

export function dot_rows_f32(a: usize, b: usize, dim: i32, out: usize, r0: i32, r1: i32): void { dot_rows<f32>(a, b, dim, out, r0, r1); }
export function dot_rows_f16(a: usize, b: usize, dim: i32, out: usize, r0: i32, r1: i32): void { dot_rows<u16>(a, b, dim, out, r0, r1); }

/** Sets n floats at ptr to value (accumulator initialisation). */
export function fill_f32(ptr: usize, n: i32, value: f32): void {
  for (let i = 0; i < n; i++) store<f32>(ptr + (<usize>i << 2), value);
}
/** Sets n doubles at ptr to value. */
export function fill_f64(ptr: usize, n: i32, value: f64): void {
  for (let i = 0; i < n; i++) store<f64>(ptr + (<usize>i << 3), value);
}
