// The tile loop every driver shares: a strip of similarities S[rows x STRIP_COLS] (f32) between a
// block of packed LHS rows and STRIP_COLS packed RHS rows, computed panel by panel with the
// micro-kernel of element type E (gemm.ts). Drivers then reduce the strip (log-sum-exp, max, sums)
// while it is still in L1.
import { gemm_mr, gemm_nr, micro_kernel, panel_bytes } from './gemm';

/** Rows of a block: the unit of work of one task; fixed, so results do not depend on threads. A multiple of every MR. */
export const BLOCK_ROWS = 128;
/** Columns of a strip; a multiple of every NR and of 4 (reductions run whole f32x4 vectors). */
export const STRIP_COLS = 32;
/** Bytes after a strip's rows for its reductions: two rows (lse.ts keeps column maxima and sums there). */
export const STRIP_SCRATCH: i32 = 2 * STRIP_COLS * 4;
/** Bytes of one block's strip: BLOCK_ROWS rows of STRIP_COLS f32, then STRIP_SCRATCH. */
export const STRIP_BYTES: i32 = BLOCK_ROWS * STRIP_COLS * 4 + STRIP_SCRATCH;

/**
 * Fills strip rows [0, rows) and columns [0, cols) with LHS rows r0.. times RHS rows c0..
 * (r0 a multiple of MR, c0 of NR, cols <= STRIP_COLS). Columns past cols hold padding products.
 */
// @ts-ignore: decorator
@inline
export function compute_strip<E>(lhs: usize, r0: i32, rows: i32, rhs: usize, c0: i32, cols: i32, dim: i32, strip: usize): void {
  const mr = gemm_mr<E>();
  const nr = gemm_nr<E>();
  assert(rows <= BLOCK_ROWS && cols <= STRIP_COLS && r0 % mr == 0 && c0 % nr == 0, 'strip outside its block');
  const lhsPanelBytes = panel_bytes<E>(mr, dim);
  const rhsPanelBytes = panel_bytes<E>(nr, dim);
  const rowPanels = (rows + mr - 1) / mr;
  const colPanels = (cols + nr - 1) / nr;
  const ldc: usize = STRIP_COLS << 2;
  for (let cp = 0; cp < colPanels; cp++) {
    const b = rhs + <usize>(c0 / nr + cp) * rhsPanelBytes;
    for (let rp = 0; rp < rowPanels; rp++) {
      const a = lhs + <usize>(r0 / mr + rp) * lhsPanelBytes;
      micro_kernel<E>(a, b, dim, strip + <usize>(rp * mr) * ldc + (<usize>(cp * nr) << 2), ldc);
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
