// Per-row int16 quantisation for the i16 kernels: q_k = round(s · x_k), x_k ≈ q_k / s.
//
// Why no int32 sum can overflow, for any finite row (unit-norm or not):
//   s = min(32767 / max|x|, (46340 − √dim/2 − 1) / ‖x‖, 2^126), and q is clamped to [−32767, 32767].
//   Rounding moves each element by at most 1/2 (plus the f32 product's relative 2^-24 of s·|x_k|),
//   so ‖q‖ ≤ s‖x‖(1 + 2^-23) + √dim/2 < 46340 − 1 + 0.01 < 46340; clamping only shrinks |q_k|.
//   A dot product of two such rows, and by Cauchy–Schwarz every partial sum of it over any subset of k
//   in any order (an i32 lane of the GEMM, a pair inside i32x4.dot_i16x8_s), is at most
//   ‖q‖·‖p‖ < 46340² = 2 147 395 600 < 2^31 − 1. The max|x| term keeps |q_k| ≤ 32767, so no element
//   is clipped, and a pair of products stays below 2·32767² < 2^31 (−32768 is never produced).
//   The 2^126 cap keeps s a normal f32; it binds only for rows with max|x| < 2^-111, which lose
//   precision (never overflow). A row of zeros gets s = 0 and inverse 0: it stays exactly zero.
// The same scale is used for a row everywhere (packing and CLIPScore), so q depends only on the row.
import { load_elem, load_elem4 } from './f16';

/** Bound on ‖q‖₂ of a quantised row: its square is below 2^31. */
export const NORM_LIMIT: f64 = 46340;
/** Largest |q|. */
export const Q_MAX: f64 = 32767;
const SCALE_MAX: f64 = 8.507059173023462e37; // 2^126

/** The scale for a row with this max |x| and ‖x‖₂ (0 for a zero row). */
// @ts-ignore: decorator
@inline
export function row_scale(maxAbs: f64, norm: f64, dim: i32): f64 {
  if (!(maxAbs > 0)) return 0;
  const budget = NORM_LIMIT - 0.5 * Math.sqrt(<f64>dim) - 1;
  return min(min(Q_MAX / maxAbs, budget / norm), SCALE_MAX);
}

/** f32 scale of a row of T (u16 = f16 bits, or f32) of dim elements. */
// @ts-ignore: decorator
@inline
export function scale_of_row<T>(row: usize, dim: i32): f32 {
  let m: f64 = 0;
  let n2: f64 = 0;
  for (let k = 0; k < dim; k++) {
    const x = <f64>load_elem<T>(row, k);
    m = max(m, Math.abs(x));
    n2 += x * x;
  }
  return <f32>row_scale(m, Math.sqrt(n2), dim);
}

/** 1/s as the dequantisation factor (0 for a zero row). */
// @ts-ignore: decorator
@inline
export function inverse_scale(s: f32): f32 {
  return s > 0 ? <f32>(1.0 / <f64>s) : 0;
}

/** round(x·s) clamped to ±32767, lane-wise on f32x4 → i32x4. */
// @ts-ignore: decorator
@inline
export function quantize4(x: v128, s: v128): v128 {
  const q = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(x, s)));
  return i32x4.min_s(i32x4.max_s(q, i32x4.splat(-32767)), i32x4.splat(32767));
}

/** round(x·s) clamped to ±32767: the same value quantize4 gives in a lane. */
// @ts-ignore: decorator
@inline
export function quantize1(x: f32, s: f32): i32 {
  return i32x4.extract_lane(quantize4(f32x4.splat(x), f32x4.splat(s)), 0);
}

/** Elements k..k+3 of a row of T, quantised with scale s, as i32x4. */
// @ts-ignore: decorator
@inline
export function load_quantized4<T>(row: usize, k: i32, s: v128): v128 {
  return quantize4(load_elem4<T>(row, k), s);
}

/** Element k of a row of T, quantised; 0 past the end of the row (k >= dim). */
// @ts-ignore: decorator
@inline
export function load_quantized<T>(row: usize, k: i32, dim: i32, s: f32): i32 {
  return k < dim ? quantize1(load_elem<T>(row, k), s) : 0;
}
