// negCLIPLoss of one batch, fused on the tile loop: the b x b similarity matrix is never stored.
//   negclip_i = s_ii - τ/2 · [ LSE_j(s_ij/τ) + LSE_j(s_ji/τ) ]
// A task owns one block of BLOCK_ROWS image rows against every text row: it completes those rows'
// LSEs and leaves one (max, sum) partial per column; negclip_merge folds the partials in block
// order, so the result is the same whichever thread ran which block. E is the packed element type
// (f32, or i16 with the similarities dequantised per tile by the micro-kernel).
import { exp_f32x4, log_f32x4 } from './expf-simd';
import { fold_strip_lse, scale_strip } from './lse';
import { BLOCK_ROWS, STRIP_BYTES, STRIP_COLS, STRIP_SCRATCH, compute_strip, pad_strip } from './tile';

/** Floats between one block's column partials and the next: n rounded up to whole vectors. */
// @ts-ignore: decorator
@inline
export function partial_stride(n: i32): i32 {
  return (n + 3) & ~3;
}

// @ts-ignore: decorator
@inline
export function negclip_block<E>(
  lhs: usize, rhs: usize, n: i32, dim: i32, invTau: f32, block: i32,
  rowMax: usize, rowSum: usize, diag: usize, colPartials: usize, strips: usize,
): void {
  const r0 = block * BLOCK_ROWS;
  assert(block >= 0 && r0 < n, 'negclip block out of range');
  const rows = min(BLOCK_ROWS, n - r0);
  const strip = strips + <usize>block * STRIP_BYTES;
  const scratch = strip + <usize>(STRIP_BYTES - STRIP_SCRATCH);
  const partial = <usize>block * <usize>partial_stride(n) << 2;
  const blockRowMax = rowMax + (<usize>r0 << 2);
  const blockRowSum = rowSum + (<usize>r0 << 2);
  for (let r = 0; r < rows; r++) {
    store<f32>(blockRowMax + (<usize>r << 2), -Infinity);
    store<f32>(blockRowSum + (<usize>r << 2), 0);
  }
  for (let c0 = 0; c0 < n; c0 += STRIP_COLS) {
    const cols = min(STRIP_COLS, n - c0);
    compute_strip<E>(lhs, r0, rows, rhs, c0, cols, dim, strip);
    pick_diagonal(strip, r0, rows, c0, cols, diag);
    scale_strip(strip, rows, invTau);
    pad_strip(strip, rows, cols, -Infinity);
    fold_strip_lse(strip, rows, cols, blockRowMax, blockRowSum, colPartials + partial + (<usize>c0 << 2), scratch);
  }
}

function pick_diagonal(strip: usize, r0: i32, rows: i32, c0: i32, cols: i32, diag: usize): void {
  const first = max(r0, c0);
  const last = min(r0 + rows, c0 + cols);
  for (let i = first; i < last; i++) {
    store<f32>(diag + (<usize>i << 2), load<f32>(strip + (<usize>((i - r0) * STRIP_COLS + (i - c0)) << 2)));
  }
}

/** Column LSEs for columns [c0, c1) (multiples of 4, c1 <= partial_stride(n)) from every block's partial LSE. */
export function negclip_merge(colPartials: usize, blocks: i32, n: i32, colLse: usize, c0: i32, c1: i32): void {
  const stride = <usize>partial_stride(n) << 2;
  for (let c = c0; c < c1; c += 4) {
    const at = <usize>c << 2;
    let m = f32x4.splat(-Infinity);
    for (let b = 0; b < blocks; b++) m = f32x4.pmax(m, v128.load(colPartials + <usize>b * stride + at));
    let s = f32x4.splat(0);
    for (let b = 0; b < blocks; b++) s = f32x4.add(s, exp_f32x4(f32x4.sub(v128.load(colPartials + <usize>b * stride + at), m)));
    v128.store(colLse + at, f32x4.add(m, log_f32x4(s)));
  }
}

/** negclip for rows [r0, r1), in f64 so the final subtraction loses nothing. */
export function negclip_finish(diag: usize, rowMax: usize, rowSum: usize, colLse: usize, tau: f64, out: usize, r0: i32, r1: i32): void {
  for (let i = r0; i < r1; i++) {
    const at = <usize>i << 2;
    const rowLse = <f64>load<f32>(rowMax + at) + Math.log(<f64>load<f32>(rowSum + at));
    const value = <f64>load<f32>(diag + at) - 0.5 * tau * (rowLse + <f64>load<f32>(colLse + at));
    store<f32>(out + at, <f32>value);
  }
}
