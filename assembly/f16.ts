// IEEE binary16 → binary32, exact for every input (subnormals, infinities, NaN payloads).
// Embeddings travel into wasm memory as raw f16 bits and widen here, on the way into packing.

// 2^112 rescales an f16 exponent placed in an f32 exponent field; exact, and it also turns
// f16 subnormals (placed as f32 subnormals) into the right normal values.
const F16_EXP_REBIAS: f32 = 5.192296858534828e33;

// @ts-ignore: decorator
@inline
export function f16_to_f32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const magnitude = h & 0x7fff;
  if (magnitude >= 0x7c00) return reinterpret<f32>(sign | 0x7f800000 | ((magnitude & 0x3ff) << 13));
  const value = reinterpret<f32>(magnitude << 13) * F16_EXP_REBIAS;
  return reinterpret<f32>(reinterpret<u32>(value) | sign);
}

/** Four f16 values at ptr, widened to f32x4. */
// @ts-ignore: decorator
@inline
export function f16x4_to_f32x4(ptr: usize): v128 {
  const h = i32x4.extend_low_i16x8_u(v128.load64_zero(ptr));
  const sign = i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16);
  const magnitude = v128.and(h, i32x4.splat(0x7fff));
  const shifted = i32x4.shl(magnitude, 13);
  const finite = f32x4.mul(shifted, f32x4.splat(F16_EXP_REBIAS));
  const special = v128.or(v128.and(shifted, i32x4.splat(0x007fe000)), i32x4.splat(0x7f800000));
  const isSpecial = i32x4.gt_s(magnitude, i32x4.splat(0x7bff));
  return v128.or(v128.bitselect(special, finite, isSpecial), sign);
}

/** Element k of a row of T (u16 = f16 bits, or f32) as f32. */
// @ts-ignore: decorator
@inline
export function load_elem<T>(row: usize, k: i32): f32 {
  if (isInteger<T>()) return f16_to_f32(<u32>load<u16>(row + (<usize>k << 1)));
  return load<f32>(row + (<usize>k << 2));
}

/** Elements k..k+3 of a row of T as f32x4. */
// @ts-ignore: decorator
@inline
export function load_elem4<T>(row: usize, k: i32): v128 {
  if (isInteger<T>()) return f16x4_to_f32x4(row + (<usize>k << 1));
  return v128.load(row + (<usize>k << 2));
}
