// The tile loop every driver shares: a strip of similarities S[rows x STRIP_COLS] between a block of
// packed LHS rows and STRIP_COLS packed RHS rows, computed panel by panel with the micro-kernel.
// Drivers then reduce the strip (log-sum-exp, max, sums) while it is still in L1.
import { f32_gemm_4x8 } from './gemm-f32-4x8-simd';
import { LHS_ROWS, RHS_ROWS } from './pack';

/** Rows of a block: the unit of work of one task; fixed, so results do not depend on threads. */
export const BLOCK_ROWS = 128;
/** Columns of a strip. */
export const STRIP_COLS = 32;
export const STRIP_BYTES: i32 = BLOCK_ROWS * STRIP_COLS * 4;

/**
 * Fills strip rows [0, rows) and columns [0, cols) with LHS rows from panel lhsPanel0 on, times
 * RHS rows from panel rhsPanel0 on; cols <= STRIP_COLS. Columns past cols hold padding products.
 */
export function compute_strip(lhs: usize, lhsPanel0: i32, rows: i32, rhs: usize, rhsPanel0: i32, cols: i32, dim: i32, strip: usize): void {
  const lhsPanelBytes = <usize>dim * (LHS_ROWS << 2);
  const rhsPanelBytes = <usize>dim * (RHS_ROWS << 2);
  const rowPanels = (rows + LHS_ROWS - 1) / LHS_ROWS;
  const colPanels = (cols + RHS_ROWS - 1) / RHS_ROWS;
  const ldc: usize = STRIP_COLS << 2;
  for (let cp = 0; cp < colPanels; cp++) {
    const b = rhs + <usize>(rhsPanel0 + cp) * rhsPanelBytes;
    for (let rp = 0; rp < rowPanels; rp++) {
      const a = lhs + <usize>(lhsPanel0 + rp) * lhsPanelBytes;
      f32_gemm_4x8(a, b, dim, strip + <usize>rp * LHS_ROWS * ldc + (<usize>cp * RHS_ROWS << 2), ldc);
    }
  }
}

/** Sets columns [cols, STRIP_COLS) of strip rows [0, rows) to value, so reductions can run whole vectors. */
export function pad_strip(strip: usize, rows: i32, cols: i32, value: f32): void {
  if (cols >= STRIP_COLS) return;
  for (let r = 0; r < rows; r++) {
    const row = strip + <usize>r * (STRIP_COLS << 2);
    for (let c = cols; c < STRIP_COLS; c++) store<f32>(row + (<usize>c << 2), value);
  }
}
