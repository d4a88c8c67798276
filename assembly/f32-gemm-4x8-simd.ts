// f32 GEMM micro-kernel, 4 x 8 tile, SIMD128.
// C[4 x 8] = A[4 x kc] · B[8 x kc]ᵀ from packed panels (see pack.ts), stored row-major into C with a
// row stride of ldc bytes. Eight f32x4 accumulators stay in registers for the whole k loop:
// per k, two vector loads of B, four broadcasts of A, eight multiply-adds.
import { madd } from './simd';

/** Tile shape: rows of the LHS panel (MR), rows of the RHS panel (NR), k values packed together (KR). */
export const F32_GEMM_MR = 4;
export const F32_GEMM_NR = 8;
export const F32_GEMM_KR = 1;

export function f32_gemm_4x8_simd(a: usize, b: usize, kc: i32, c: usize, ldc: usize): void {
  let c0l = f32x4.splat(0), c0h = f32x4.splat(0);
  let c1l = f32x4.splat(0), c1h = f32x4.splat(0);
  let c2l = f32x4.splat(0), c2h = f32x4.splat(0);
  let c3l = f32x4.splat(0), c3h = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const bl = v128.load(b);
    const bh = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c0l = madd(av, bl, c0l);
    c0h = madd(av, bh, c0h);
    av = v128.load32_splat(a, 4);
    c1l = madd(av, bl, c1l);
    c1h = madd(av, bh, c1h);
    av = v128.load32_splat(a, 8);
    c2l = madd(av, bl, c2l);
    c2h = madd(av, bh, c2h);
    av = v128.load32_splat(a, 12);
    c3l = madd(av, bl, c3l);
    c3h = madd(av, bh, c3h);
    a += 16;
    b += 32;
  }
  v128.store(c, c0l);
  v128.store(c, c0h, 16);
  c += ldc;
  v128.store(c, c1l);
  v128.store(c, c1h, 16);
  c += ldc;
  v128.store(c, c2l);
  v128.store(c, c2h, 16);
  c += ldc;
  v128.store(c, c3l);
  v128.store(c, c3h, 16);
}
