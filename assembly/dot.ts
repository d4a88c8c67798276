// Row-wise dot products a_i · b_i (CLIPScore), four lanes of partial sums per row.
import { load_elem, load_elem4 } from './f16';
import { hsum } from './simd';

// @ts-ignore: decorator
@inline
export function dot_rows<T>(a: usize, b: usize, dim: i32, out: usize, r0: i32, r1: i32): void {
  const rowBytes = <usize>dim * sizeof<T>();
  for (let r = r0; r < r1; r++) {
    const ra = a + <usize>r * rowBytes;
    const rb = b + <usize>r * rowBytes;
    let acc = f32x4.splat(0);
    let k = 0;
    for (; k + 4 <= dim; k += 4) acc = f32x4.add(acc, f32x4.mul(load_elem4<T>(ra, k), load_elem4<T>(rb, k)));
    let s = hsum(acc);
    for (; k < dim; k++) s += load_elem<T>(ra, k) * load_elem<T>(rb, k);
    store<f32>(out + (<usize>r << 2), s);
  }
}
