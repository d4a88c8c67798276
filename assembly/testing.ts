// Thin wrappers for the kernel tests, compiled only into the debug build (asconfig target `debug`,
// `npm run build:debug`): each calls one inlined kernel piece over arrays the test lays out.
import { exp_f32x4, log_f32x4 } from './expf-simd';
import { f16_to_f32, f16x4_to_f32x4 } from './f16';
import { quantize1, row_scale, scale_of_row, inverse_scale } from './quantize';

export { f32_gemm_4x8_simd } from './f32-gemm-4x8-simd';
export { i16_gemm_4x8_simd } from './i16-gemm-4x8-simd';

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

/** The scale for (max|x|, ‖x‖, dim), as the quantiser computes it in f64. */
export function test_row_scale(maxAbs: f64, norm: f64, dim: i32): f64 {
  return row_scale(maxAbs, norm, dim);
}

/** Quantises one f32 row of dim into dst (i32 per element); returns its inverse scale. */
export function test_quantize_row(src: usize, dim: i32, dst: usize): f32 {
  const s = scale_of_row<f32>(src, dim);
  for (let k = 0; k < dim; k++) store<i32>(dst + (<usize>k << 2), quantize1(load<f32>(src + (<usize>k << 2)), s));
  return inverse_scale(s);
}
