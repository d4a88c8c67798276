// Thin wrappers for the kernel tests, compiled only into the debug build (asconfig target `debug`,
// `npm run build:debug`): each calls one inlined kernel piece over arrays the test lays out.
import { exp_f32x4, log_f32x4 } from './expf-simd';
import { f16_to_f32, f16x4_to_f32x4 } from './f16';
import { STRIP_COLS, STRIP_SCRATCH } from './tile';
import { SCALE_BLOCK, inverse_scale, quantize1, row_scale, scale_blocks, scale_of_block } from './quantize';

export { f32_gemm_4x8_simd } from './f32-gemm-4x8-simd';
export { i16_gemm_2x16_simd } from './i16-gemm-2x16-simd';

/** dst[i] = exp(src[i]) for n floats (n a multiple of 4). */
export function test_exp(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) v128.store(dst + (<usize>i << 2), exp_f32x4(v128.load(src + (<usize>i << 2))));
}

/** dst[i] = log(src[i]) for n floats (n a multiple of 4). */
export function test_log(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) v128.store(dst + (<usize>i << 2), log_f32x4(v128.load(src + (<usize>i << 2))));
}

/** Widens n f16 values with the scalar path into dst (n floats). */
export function test_f16_to_f32(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), f16_to_f32(<u32>load<u16>(src + (<usize>i << 1))));
}

/** Widens n f16 values (n a multiple of 4) with the vector path into dst. */
export function test_f16x4_to_f32(src: usize, dst: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) v128.store(dst + (<usize>i << 2), f16x4_to_f32x4(src + (<usize>i << 1)));
}

/** The scale for a block of n elements with (max|x|, ‖x‖), as the quantiser computes it in f64. */
export function test_row_scale(maxAbs: f64, norm: f64, n: i32): f64 {
  return row_scale(maxAbs, norm, n);
}

/** k values per scale block. */
export function test_scale_block(): i32 {
  return SCALE_BLOCK;
}

/**
 * Quantises one f32 row of dim into dst (i32 per element) and each scale block's inverse scale into
 * inv (f32 per block); returns the number of blocks.
 */
export function test_quantize_row(src: usize, dim: i32, dst: usize, inv: usize): i32 {
  const blocks = scale_blocks(dim);
  for (let b = 0; b < blocks; b++) {
    const k0 = b * SCALE_BLOCK;
    const k1 = min(dim, k0 + SCALE_BLOCK);
    const s = scale_of_block<f32>(src, k0, k1);
    store<f32>(inv + (<usize>b << 2), inverse_scale(s));
    for (let k = k0; k < k1; k++) store<i32>(dst + (<usize>k << 2), quantize1(load<f32>(src + (<usize>k << 2)), s));
  }
  return blocks;
}

export { fold_strip_lse } from './lse';

/** Columns of a strip (a row of it is STRIP_COLS f32). */
export function test_strip_cols(): i32 {
  return STRIP_COLS;
}

/** Scratch bytes fold_strip_lse takes after a strip. */
export function test_strip_scratch(): i32 {
  return STRIP_SCRATCH;
}
