// Int16 quantisation for the i16 kernels, with one scale per row and per block of SCALE_BLOCK k:
// q_k = round(s_b · x_k), x_k ≈ q_k / s_b for k in block b. Blocks of 256 rather than one scale per
// row: each block's scale fits that block's own norm, so the rounding step is ~√(dim/256) times finer
// (on 768-d CLIP rows the dot products' error falls from 2.9e-5 to 1.5e-5), and the GEMM dequantises
// each block's exact int32 sum on its own (i16-gemm-2x16-simd.ts). Smaller blocks are more exact still
// (128: 1.1e-5) but each block ends in an epilogue: an i16 negCLIPLoss (4096 x 4096, one thread, A/B
// builds) ran ~5 % slower with blocks of 128, and within 1 % of 256 with one block per 768-d row.
//
// Why no int32 sum can overflow, for any finite row (unit-norm or not):
//   for a block of n elements, s = min(32767 / max|x|, (46340 − √n/2 − 1) / ‖x‖, 2^126) over that
//   block, and q is clamped to [−32767, 32767]. Rounding moves each element by at most 1/2 (plus the
//   f32 product's relative 2^-24 of s·|x_k|), so ‖q‖ ≤ s‖x‖(1 + 2^-23) + √n/2 < 46340 − 1 + 0.01 < 46340;
//   clamping only shrinks |q_k|. A block's dot product of two such rows, and by Cauchy–Schwarz every
//   partial sum of it over any subset of k in any order (an i32 lane of the GEMM, a pair inside
//   i32x4.dot_i16x8_s), is at most ‖q‖·‖p‖ < 46340² = 2 147 395 600 < 2^31 − 1. Sums never run across
//   blocks in int32. The max|x| term keeps |q_k| ≤ 32767, so no element is clipped, and a pair of
//   products stays below 2·32767² < 2^31 (−32768 is never produced).
//   The 2^126 cap keeps s a normal f32; it binds only for blocks with max|x| < 2^-111, which lose
//   precision (never overflow). A block of zeros gets s = 0 and inverse 0: it stays exactly zero.
// The same scales are used for a row everywhere (packing and CLIPScore), so q depends only on the row.
import { load_elem, load_elem4 } from './f16';
import { hmax } from './simd';

/** Bound on ‖q‖₂ of a quantised row: its square is below 2^31. */
export const NORM_LIMIT: f64 = 46340;
/** k values sharing one scale: a multiple of 8 (pack.ts quantises 8 at a time) and of every KR. */
export const SCALE_BLOCK: i32 = 256;
/** Largest |q|. */
export const Q_MAX: f64 = 32767;
const SCALE_MAX: f64 = 8.507059173023462e37; // 2^126

/** Scale blocks of a row of dim elements. */
// @ts-ignore: decorator
@inline
export function scale_blocks(dim: i32): i32 {
  return (dim + SCALE_BLOCK - 1) / SCALE_BLOCK;
}

/** The scale for a block of n elements with this max |x| and ‖x‖₂ (0 for a zero block). */
// @ts-ignore: decorator
@inline
export function row_scale(maxAbs: f64, norm: f64, n: i32): f64 {
  if (!(maxAbs > 0)) return 0;
  const budget = NORM_LIMIT - 0.5 * Math.sqrt(<f64>n) - 1;
  return min(min(Q_MAX / maxAbs, budget / norm), SCALE_MAX);
}

/**
 * f32 scale of elements [k0, k1) of a row of T (u16 = f16 bits, or f32). max|x| is exact in f32 lanes;
 * Σx² runs in four f64 lanes (exact products, a sum whose rounding is far below the −1 of the budget).
 */
// @ts-ignore: decorator
@inline
export function scale_of_block<T>(row: usize, k0: i32, k1: i32): f32 {
  let m4 = f32x4.splat(0);
  let lo = f64x2.splat(0);
  let hi = f64x2.splat(0);
  let k = k0;
  for (; k + 4 <= k1; k += 4) {
    const x = load_elem4<T>(row, k);
    m4 = f32x4.pmax(m4, f32x4.abs(x));
    const a = f64x2.promote_low_f32x4(x);
    const b = f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 0, 1));
    lo = f64x2.add(lo, f64x2.mul(a, a));
    hi = f64x2.add(hi, f64x2.mul(b, b));
  }
  let m = <f64>hmax(m4);
  let n2 = f64x2.extract_lane(lo, 0) + f64x2.extract_lane(lo, 1) + (f64x2.extract_lane(hi, 0) + f64x2.extract_lane(hi, 1));
  for (; k < k1; k++) {
    const x = <f64>load_elem<T>(row, k);
    m = max(m, Math.abs(x));
    n2 += x * x;
  }
  return <f32>row_scale(m, Math.sqrt(n2), k1 - k0);
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
