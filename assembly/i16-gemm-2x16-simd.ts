// int16 GEMM micro-kernel, 2 x 16 tile, SIMD128 (i32x4.dot_i16x8_s: plain SIMD, no relaxed ops).
// C[2 x 16] = dequantised A[2 x kc] · B[16 x kc]ᵀ from int16 panels (see gemm.ts, pack.ts, quantize.ts):
//   a panel starts with its rows' f32 inverse scales, MR (or NR) per scale block of SCALE_BLOCK k,
//   then k in pairs: LHS pair j, row r at j*8 + r*4; RHS pair j, column c at j*64 + c*4 (two i16 each).
// dot_i16x8_s multiplies the pairs and adds each pair's two products into one i32 lane: per pair of
// k, four loads of B, two broadcasts of A, eight dots and eight adds = 64 multiply-adds, in 13 vector
// registers. Chosen by measurement (bench/tiles.js, the engine's strip loop over 8 shapes): 1.08-1.10x
// the 4 x 8 tile's rate on the 2-core dev machine, as it needs half the broadcasts (a load plus a shuffle
// each) for the same multiply-adds; shapes over 16 vector registers spill. Results are bit-identical to
// any other tile shape: every C entry is the same integers, dequantised and added in the same order.
// Each scale block's i32 sums are exact (quantize.ts bounds them below 2^31), so a tile's integers are
// the same on every CPU, build and thread count; each block's sum is dequantised as
// (f32(acc) · colInv) · rowInv and the blocks are added into C in k order (block 0 stored, then
// C = C + block b), which dot.ts repeats for the diagonal bit for bit.
import { SCALE_BLOCK, scale_blocks } from './quantize';

export const I16_GEMM_MR = 2;
export const I16_GEMM_NR = 16;
export const I16_GEMM_KR = 2;

const BLOCK_PAIRS = SCALE_BLOCK / I16_GEMM_KR;

export function i16_gemm_2x16_simd(a: usize, b: usize, kc: i32, c: usize, ldc: usize): void {
  const blocks = scale_blocks(kc);
  const pairs = (kc + 1) >> 1;
  let aInv = a;
  let bInv = b;
  a += <usize>blocks * (I16_GEMM_MR << 2);
  b += <usize>blocks * (I16_GEMM_NR << 2);
  for (let block = 0; block < blocks; block++) {
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c02 = i32x4.splat(0), c03 = i32x4.splat(0);
    let c10 = i32x4.splat(0), c11 = i32x4.splat(0), c12 = i32x4.splat(0), c13 = i32x4.splat(0);
    const n = min(BLOCK_PAIRS, pairs - block * BLOCK_PAIRS);
    for (let j = 0; j < n; j++) {
      const b0 = v128.load(b);
      const b1 = v128.load(b, 16);
      const b2 = v128.load(b, 32);
      const b3 = v128.load(b, 48);
      let av = v128.load32_splat(a);
      c00 = i32x4.add(c00, i32x4.dot_i16x8_s(av, b0));
      c01 = i32x4.add(c01, i32x4.dot_i16x8_s(av, b1));
      c02 = i32x4.add(c02, i32x4.dot_i16x8_s(av, b2));
      c03 = i32x4.add(c03, i32x4.dot_i16x8_s(av, b3));
      av = v128.load32_splat(a, 4);
      c10 = i32x4.add(c10, i32x4.dot_i16x8_s(av, b0));
      c11 = i32x4.add(c11, i32x4.dot_i16x8_s(av, b1));
      c12 = i32x4.add(c12, i32x4.dot_i16x8_s(av, b2));
      c13 = i32x4.add(c13, i32x4.dot_i16x8_s(av, b3));
      a += 8;
      b += 64;
    }
    const first = block == 0;
    const inv0 = f32x4.splat(load<f32>(aInv));
    const inv1 = f32x4.splat(load<f32>(aInv, 4));
    add_quarter(c, first, c00, v128.load(bInv), inv0);
    add_quarter(c + 16, first, c01, v128.load(bInv, 16), inv0);
    add_quarter(c + 32, first, c02, v128.load(bInv, 32), inv0);
    add_quarter(c + 48, first, c03, v128.load(bInv, 48), inv0);
    add_quarter(c + ldc, first, c10, v128.load(bInv), inv1);
    add_quarter(c + ldc + 16, first, c11, v128.load(bInv, 16), inv1);
    add_quarter(c + ldc + 32, first, c12, v128.load(bInv, 32), inv1);
    add_quarter(c + ldc + 48, first, c13, v128.load(bInv, 48), inv1);
    aInv += I16_GEMM_MR << 2;
    bInv += I16_GEMM_NR << 2;
  }
}

/** Stores (first block) or adds four dequantised columns of a block into C. */
// @ts-ignore: decorator
@inline
function add_quarter(c: usize, first: bool, acc: v128, colInv: v128, rowInv: v128): void {
  let v = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(acc), colInv), rowInv);
  if (!first) v = f32x4.add(v128.load(c), v);
  v128.store(c, v);
}
