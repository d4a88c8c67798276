// Lane-wise helpers shared by the kernels. `madd` is the one place where the relaxed build differs
// from the baseline: a fused multiply-add where the runtime has relaxed SIMD, mul then add elsewhere.
// Reductions use pmax (`a < b ? b : a`, one maxps in V8) rather than max, whose NaN and ±0 rules
// cost V8 a sequence of instructions; neither NaN nor -0 can change a log-sum-exp here.

// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline
export function hmax(v: v128): f32 {
  const m = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1));
}

// @ts-ignore: decorator
@inline
export function hsum(v: v128): f32 {
  const s = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1);
}
