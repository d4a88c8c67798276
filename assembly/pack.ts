// Packing of operands for the 4x8 micro-kernel, k-major so the kernel reads both panels linearly:
//   LHS: panels of 4 rows, element (k, r) of panel p at p*dim*16 + k*16 + r*4
//   RHS: panels of 8 rows, element (k, c) of panel q at q*dim*32 + k*32 + c*4
// Rows past the end are zero. Sources are row-major f16 (T = u16) or f32, widened on the way in.
import { load_elem, load_elem4 } from './f16';

export const LHS_ROWS = 4;
export const RHS_ROWS = 8;

/** Packs panels [p0, p1) of `panelRows`-row panels from a row-major rows x dim matrix. */
// @ts-ignore: decorator
@inline
export function pack_panels<T>(src: usize, rows: i32, dim: i32, dst: usize, panelRows: i32, p0: i32, p1: i32): void {
  const rowBytes = <usize>dim * sizeof<T>();
  const kStride = <usize>panelRows << 2;
  for (let p = p0; p < p1; p++) {
    const panel = dst + <usize>p * <usize>dim * kStride;
    for (let r = 0; r < panelRows; r++) {
      const row = p * panelRows + r;
      const out = panel + (<usize>r << 2);
      if (row >= rows) {
        for (let k = 0; k < dim; k++) store<f32>(out + <usize>k * kStride, 0);
        continue;
      }
      const srcRow = src + <usize>row * rowBytes;
      let k = 0;
      for (; k + 4 <= dim; k += 4) {
        const v = load_elem4<T>(srcRow, k);
        const at = out + <usize>k * kStride;
        v128.store32_lane(at, v, 0);
        v128.store32_lane(at + kStride, v, 1);
        v128.store32_lane(at + 2 * kStride, v, 2);
        v128.store32_lane(at + 3 * kStride, v, 3);
      }
      for (; k < dim; k++) store<f32>(out + <usize>k * kStride, load_elem<T>(srcRow, k));
    }
  }
}

/**
 * Packs the transpose of a row-major rows x dim matrix: panel p holds columns
 * [p*panelRows, (p+1)*panelRows) and its k runs over the rows. This is how a Gram matrix XᵀX
 * is fed to the same A·Bᵀ kernel.
 */
// @ts-ignore: decorator
@inline
export function pack_panels_transposed<T>(src: usize, rows: i32, dim: i32, dst: usize, panelRows: i32, p0: i32, p1: i32): void {
  const rowBytes = <usize>dim * sizeof<T>();
  const panelBytes = <usize>rows * (<usize>panelRows << 2);
  for (let p = p0; p < p1; p++) {
    const panel = dst + <usize>p * panelBytes;
    const c0 = p * panelRows;
    for (let k = 0; k < rows; k++) {
      const srcRow = src + <usize>k * rowBytes;
      const out = panel + <usize>k * (<usize>panelRows << 2);
      for (let c = 0; c < panelRows; c++) {
        store<f32>(out + (<usize>c << 2), c0 + c < dim ? load_elem<T>(srcRow, c0 + c) : 0);
      }
    }
  }
}
