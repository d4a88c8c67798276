// Row-wise dot products a_i · b_i (CLIPScore), four lanes of partial sums per row.
//   f32: widened rows, f32 sums.
//   i16: both rows quantised with their own scales per block (quantize.ts, the same q as packing gives),
//        an exact i32 sum per block, dequantised as (f32(acc) · inv_b) · inv_a and added in block order:
//        bit for bit the diagonal of the i16 GEMM.
import { load_elem, load_elem4 } from './f16';
import { SCALE_BLOCK, inverse_scale, load_quantized, load_quantized4, scale_of_block } from './quantize';
import { hsum } from './simd';

// @ts-ignore: decorator
@inline
export function dot_rows<T, E>(a: usize, b: usize, dim: i32, out: usize, r0: i32, r1: i32): void {
  const rowBytes = <usize>dim * sizeof<T>();
  for (let r = r0; r < r1; r++) {
    const ra = a + <usize>r * rowBytes;
    const rb = b + <usize>r * rowBytes;
    store<f32>(out + (<usize>r << 2), isFloat<E>() ? dot_f32<T>(ra, rb, dim) : dot_i16<T>(ra, rb, dim));
  }
}

// @ts-ignore: decorator
@inline
function dot_f32<T>(ra: usize, rb: usize, dim: i32): f32 {
  let acc = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= dim; k += 4) acc = f32x4.add(acc, f32x4.mul(load_elem4<T>(ra, k), load_elem4<T>(rb, k)));
  let s = hsum(acc);
  for (; k < dim; k++) s += load_elem<T>(ra, k) * load_elem<T>(rb, k);
  return s;
}

// @ts-ignore: decorator
@inline
function dot_i16<T>(ra: usize, rb: usize, dim: i32): f32 {
  let sum: f32 = 0;
  for (let k0 = 0; k0 < dim; k0 += SCALE_BLOCK) {
    const k1 = min(dim, k0 + SCALE_BLOCK);
    const block = dot_i16_block<T>(ra, rb, k0, k1, dim);
    sum = k0 == 0 ? block : sum + block;
  }
  return sum;
}

/** One scale block [k0, k1) of an i16 dot product, dequantised. */
// @ts-ignore: decorator
@inline
function dot_i16_block<T>(ra: usize, rb: usize, k0: i32, k1: i32, dim: i32): f32 {
  const sa = scale_of_block<T>(ra, k0, k1);
  const sb = scale_of_block<T>(rb, k0, k1);
  const sav = f32x4.splat(sa);
  const sbv = f32x4.splat(sb);
  let acc = i32x4.splat(0);
  let k = k0;
  for (; k + 4 <= k1; k += 4) acc = i32x4.add(acc, i32x4.mul(load_quantized4<T>(ra, k, sav), load_quantized4<T>(rb, k, sbv)));
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; k < k1; k++) s += load_quantized<T>(ra, k, dim, sa) * load_quantized<T>(rb, k, dim, sb);
  return <f32>s * inverse_scale(sb) * inverse_scale(sa);
}
