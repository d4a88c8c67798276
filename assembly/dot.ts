// Row-wise dot products a_i · b_i (CLIPScore), four lanes of partial sums per row.
//   f32: widened rows, f32 sums.
//   i16: both rows quantised with their own scales (quantize.ts, the same q as packing gives), exact
//        i32 sums, dequantised as (f32(acc) · inv_b) · inv_a: bit for bit the diagonal of the i16 GEMM.
import { load_elem, load_elem4 } from './f16';
import { inverse_scale, load_quantized, load_quantized4, scale_of_row } from './quantize';
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
  const sa = scale_of_row<T>(ra, dim);
  const sb = scale_of_row<T>(rb, dim);
  const sav = f32x4.splat(sa);
  const sbv = f32x4.splat(sb);
  let acc = i32x4.splat(0);
  let k = 0;
  for (; k + 4 <= dim; k += 4) acc = i32x4.add(acc, i32x4.mul(load_quantized4<T>(ra, k, sav), load_quantized4<T>(rb, k, sbv)));
  let s = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; k < dim; k++) s += load_quantized<T>(ra, k, dim, sa) * load_quantized<T>(rb, k, dim, sb);
  return <f32>s * inverse_scale(sb) * inverse_scale(sa);
}
