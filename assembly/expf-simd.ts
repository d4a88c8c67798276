// exp and log on f32x4 lanes (Cephes expf/logf range reduction and polynomials), ~1 ulp.
// Log-sum-exp needs exp of arguments <= 0 and log of sums >= 1; the kernels call these for
// every similarity, so they stay branch-free. Polynomials use madd: fused in the relaxed build.

import { madd } from './simd';

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
// Below this exp underflows past the smallest normal float: the lane is flushed to zero,
// which also turns -Infinity (masked or padded entries) into an exact 0.
const EXP_MIN: f32 = -87.33654;
const ROUNDING_SHIFT: f32 = 12582912.0; // 1.5 * 2^23

/** e^x lane-wise; exactly 0 for x < -87.34 or NaN, x must be <= 88. */
// @ts-ignore: decorator
@inline
export function exp_f32x4(x: v128): v128 {
  const keep = f32x4.ge(x, f32x4.splat(EXP_MIN));
  const xc = f32x4.pmax(x, f32x4.splat(EXP_MIN));
  // Adding 1.5·2^23 rounds x·log2(e) to an integer n held in the low mantissa bits: cheaper in V8
  // than nearest + trunc_sat, and those bits shifted into the exponent field give 2^n directly.
  const shifted = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUNDING_SHIFT));
  const n = f32x4.sub(shifted, f32x4.splat(ROUNDING_SHIFT));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = madd(p, r, f32x4.splat(1.3981999507e-3));
  p = madd(p, r, f32x4.splat(8.3334519073e-3));
  p = madd(p, r, f32x4.splat(4.1665795894e-2));
  p = madd(p, r, f32x4.splat(1.6666665459e-1));
  p = madd(p, r, f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  const y = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1.0));
  // n >= -126 after the clamp, so 2^n is a normal number.
  const scale = i32x4.add(i32x4.shl(shifted, 23), i32x4.splat(127 << 23));
  return v128.and(f32x4.mul(y, scale), keep);
}

/** Natural log lane-wise; -Infinity for 0 and for subnormal inputs, NaN for negative ones. */
// @ts-ignore: decorator
@inline
export function log_f32x4(x: v128): v128 {
  const bits = x;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(126));
  let m = v128.or(v128.and(bits, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  // m < sqrt(1/2): use 2m - 1 and one less in the exponent, so the argument stays near 1.
  e = i32x4.add(e, small); // true lanes are -1
  const mm = f32x4.sub(f32x4.add(m, v128.and(m, small)), f32x4.splat(1.0));
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(mm, mm);
  let y = f32x4.splat(7.0376836292e-2);
  y = madd(y, mm, f32x4.splat(-1.1514610310e-1));
  y = madd(y, mm, f32x4.splat(1.1676998740e-1));
  y = madd(y, mm, f32x4.splat(-1.2420140846e-1));
  y = madd(y, mm, f32x4.splat(1.4249322787e-1));
  y = madd(y, mm, f32x4.splat(-1.6668057665e-1));
  y = madd(y, mm, f32x4.splat(2.0000714765e-1));
  y = madd(y, mm, f32x4.splat(-2.4999993993e-1));
  y = madd(y, mm, f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, mm), z);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let r = f32x4.add(f32x4.add(mm, y), f32x4.mul(fe, f32x4.splat(LN2_HI)));
  const tiny = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  r = v128.bitselect(f32x4.splat(-Infinity), r, v128.and(tiny, f32x4.ge(x, f32x4.splat(0))));
  return v128.bitselect(f32x4.splat(NaN), r, f32x4.lt(x, f32x4.splat(0)));
}
