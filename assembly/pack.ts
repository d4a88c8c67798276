// Packing of row panels for the micro-kernels (layout in gemm.ts), k-grouped so the kernel reads
// both panels linearly. Sources are row-major f16 (T = u16) or f32; f32 panels widen them on the way
// in, i16 panels quantise them on the way in (quantize.ts). Rows past the end are zero.
import { load_elem, load_elem4 } from './f16';
import { gemm_kr, panel_bytes, panel_group_bytes, panel_header_bytes } from './gemm';
import { NORM_LIMIT, SCALE_BLOCK, inverse_scale, load_quantized, load_quantized4, scale_blocks, scale_of_block } from './quantize';

/** Packs panels [p0, p1) of `panelRows`-row panels of element E from a row-major rows x dim matrix of T. */
// @ts-ignore: decorator
@inline
export function pack_panels<T, E>(src: usize, rows: i32, dim: i32, dst: usize, panelRows: i32, p0: i32, p1: i32): void {
  const rowBytes = <usize>dim * sizeof<T>();
  const panelSize = panel_bytes<E>(panelRows, dim);
  const header = panel_header_bytes<E>(panelRows, dim);
  const blocks = scale_blocks(dim);
  const groupStride = panel_group_bytes<E>(panelRows);
  const groups = (dim + gemm_kr<E>() - 1) / gemm_kr<E>();
  for (let p = p0; p < p1; p++) {
    const panel = dst + <usize>p * panelSize;
    for (let r = 0; r < panelRows; r++) {
      const row = p * panelRows + r;
      // Each row owns 4 bytes of every group: one f32, or one pair of i16.
      const out = panel + header + (<usize>r << 2);
      if (row >= rows) {
        if (!isFloat<E>()) for (let b = 0; b < blocks; b++) store<f32>(panel + (<usize>(b * panelRows + r) << 2), 0);
        for (let g = 0; g < groups; g++) store<u32>(out + <usize>g * groupStride, 0);
        continue;
      }
      const srcRow = src + <usize>row * rowBytes;
      if (isFloat<E>()) pack_row_f32<T>(srcRow, dim, out, groupStride);
      else {
        for (let b = 0; b < blocks; b++) {
          const k0 = b * SCALE_BLOCK;
          const k1 = min(dim, k0 + SCALE_BLOCK);
          const s = scale_of_block<T>(srcRow, k0, k1);
          store<f32>(panel + (<usize>(b * panelRows + r) << 2), inverse_scale(s));
          pack_block_i16<T>(srcRow, k0, k1, dim, out, groupStride, s);
          if (!ASC_NO_ASSERT) assert(packed_norm2(out, k0, k1, groupStride) < NORM_LIMIT * NORM_LIMIT, 'quantised block norm over its bound');
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function pack_row_f32<T>(srcRow: usize, dim: i32, out: usize, kStride: usize): void {
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

/** Quantises elements [k0, k1) of a row (k0 even) into (k, k+1) pairs, one pair per group. */
// @ts-ignore: decorator
@inline
function pack_block_i16<T>(srcRow: usize, k0: i32, k1: i32, dim: i32, out: usize, pairStride: usize, s: f32): void {
  const sv = f32x4.splat(s);
  let k = k0;
  for (; k + 8 <= k1; k += 8) {
    const q = i16x8.narrow_i32x4_s(load_quantized4<T>(srcRow, k, sv), load_quantized4<T>(srcRow, k + 4, sv));
    const at = out + <usize>(k >> 1) * pairStride;
    v128.store32_lane(at, q, 0);
    v128.store32_lane(at + pairStride, q, 1);
    v128.store32_lane(at + 2 * pairStride, q, 2);
    v128.store32_lane(at + 3 * pairStride, q, 3);
  }
  for (; k < k1; k += 2) {
    const lo = load_quantized<T>(srcRow, k, dim, s);
    const hi = load_quantized<T>(srcRow, k + 1, dim, s);
    store<u32>(out + <usize>(k >> 1) * pairStride, <u32>(lo & 0xffff) | (<u32>hi << 16));
  }
}

/** Σq² of elements [k0, k1) of one packed i16 row (debug builds check quantize.ts's bound with it). */
function packed_norm2(out: usize, k0: i32, k1: i32, pairStride: usize): f64 {
  let n2: f64 = 0;
  for (let g = k0 >> 1; g < (k1 + 1) >> 1; g++) {
    const lo = <f64>load<i16>(out + <usize>g * pairStride);
    const hi = <f64>load<i16>(out + <usize>g * pairStride, 2);
    n2 += lo * lo + hi * hi;
  }
  return n2;
}

/**
 * Packs the transpose of a row-major rows x dim matrix into f32 panels: panel p holds columns
 * [p*panelRows, (p+1)*panelRows) and its k runs over the rows. This is how a Gram matrix XᵀX
 * is fed to the same A·Bᵀ kernel (f32 only: see gram_partial).
 */
// @ts-ignore: decorator
@inline
export function pack_panels_transposed<T>(src: usize, rows: i32, dim: i32, dst: usize, panelRows: i32, p0: i32, p1: i32): void {
  const rowBytes = <usize>dim * sizeof<T>();
  const panelBytes = panel_bytes<f32>(panelRows, rows);
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
