// int16 GEMM micro-kernel, 4 x 8 tile, SIMD128 (i32x4.dot_i16x8_s: plain SIMD, no relaxed ops).
// C[4 x 8] = dequantised A[4 x kc] · B[8 x kc]ᵀ from int16 panels (see gemm.ts, pack.ts, quantize.ts):
//   a panel starts with its rows' f32 inverse scales, MR (or NR) per scale block of SCALE_BLOCK k,
//   then k in pairs: LHS pair j, row r at j*16 + r*4; RHS pair j, column c at j*32 + c*4 (two i16 each).
// dot_i16x8_s multiplies the pairs and adds each pair's two products into one i32 lane: per pair of
// k, two loads of B, four broadcasts of A, eight dots and eight adds = 64 multiply-adds.
// Each scale block's i32 sums are exact (quantize.ts bounds them below 2^31), so a tile's integers are
// the same on every CPU, build and thread count; each block's sum is dequantised as
// (f32(acc) · colInv) · rowInv and the blocks are added into C in k order (block 0 stored, then
// C = C + block b), which dot.ts repeats for the diagonal bit for bit.
import { SCALE_BLOCK, scale_blocks } from './quantize';

export const I16_GEMM_MR = 4;
export const I16_GEMM_NR = 8;
export const I16_GEMM_KR = 2;

const BLOCK_PAIRS = SCALE_BLOCK / I16_GEMM_KR;

export function i16_gemm_4x8_simd(a: usize, b: usize, kc: i32, c: usize, ldc: usize): void {
  const blocks = scale_blocks(kc);
  const pairs = (kc + 1) >> 1;
  let aInv = a;
  let bInv = b;
  a += <usize>blocks * (I16_GEMM_MR << 2);
  b += <usize>blocks * (I16_GEMM_NR << 2);
  for (let block = 0; block < blocks; block++) {
    let c0l = i32x4.splat(0), c0h = i32x4.splat(0);
    let c1l = i32x4.splat(0), c1h = i32x4.splat(0);
    let c2l = i32x4.splat(0), c2h = i32x4.splat(0);
    let c3l = i32x4.splat(0), c3h = i32x4.splat(0);
    const n = min(BLOCK_PAIRS, pairs - block * BLOCK_PAIRS);
    for (let j = 0; j < n; j++) {
      const bl = v128.load(b);
      const bh = v128.load(b, 16);
      let av = v128.load32_splat(a);
      c0l = i32x4.add(c0l, i32x4.dot_i16x8_s(av, bl));
      c0h = i32x4.add(c0h, i32x4.dot_i16x8_s(av, bh));
      av = v128.load32_splat(a, 4);
      c1l = i32x4.add(c1l, i32x4.dot_i16x8_s(av, bl));
      c1h = i32x4.add(c1h, i32x4.dot_i16x8_s(av, bh));
      av = v128.load32_splat(a, 8);
      c2l = i32x4.add(c2l, i32x4.dot_i16x8_s(av, bl));
      c2h = i32x4.add(c2h, i32x4.dot_i16x8_s(av, bh));
      av = v128.load32_splat(a, 12);
      c3l = i32x4.add(c3l, i32x4.dot_i16x8_s(av, bl));
      c3h = i32x4.add(c3h, i32x4.dot_i16x8_s(av, bh));
      a += 16;
      b += 32;
    }
    const rowInv = v128.load(aInv);
    const colInvL = v128.load(bInv);
    const colInvH = v128.load(bInv, 16);
    const first = block == 0;
    let row = c;
    add_row(row, first, c0l, c0h, colInvL, colInvH, f32x4.splat(f32x4.extract_lane(rowInv, 0)));
    row += ldc;
    add_row(row, first, c1l, c1h, colInvL, colInvH, f32x4.splat(f32x4.extract_lane(rowInv, 1)));
    row += ldc;
    add_row(row, first, c2l, c2h, colInvL, colInvH, f32x4.splat(f32x4.extract_lane(rowInv, 2)));
    row += ldc;
    add_row(row, first, c3l, c3h, colInvL, colInvH, f32x4.splat(f32x4.extract_lane(rowInv, 3)));
    aInv += I16_GEMM_MR << 2;
    bInv += I16_GEMM_NR << 2;
  }
}

/** Stores (first block) or adds a block's dequantised row of 8 into C. */
// @ts-ignore: decorator
@inline
function add_row(c: usize, first: bool, lo: v128, hi: v128, colInvL: v128, colInvH: v128, rowInv: v128): void {
  let vl = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(lo), colInvL), rowInv);
  let vh = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(hi), colInvH), rowInv);
  if (!first) {
    vl = f32x4.add(v128.load(c), vl);
    vh = f32x4.add(v128.load(c, 16), vh);
  }
  v128.store(c, vl);
  v128.store(c, vh, 16);
}
