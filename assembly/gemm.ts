// The kernel interface, written once for both element types E of the packed panels (f32, i16):
// the micro-kernel's tile shape and the panel layout it reads. Packing, the strip loop and the drivers
// take every shift and stride from here, so a new micro-kernel changes only its own file and this one.
//   Panel of R rows (R = MR for the LHS, NR for the RHS) over dim, k in groups of KR:
//     [header, i16 only: for each scale block b of SCALE_BLOCK k (quantize.ts), R f32 inverse scales,
//      row r's at (b*R + r)*4] [group g: R rows × KR elements of E, row r at g*R*KR*size + r*KR*size]
import { F32_GEMM_KR, F32_GEMM_MR, F32_GEMM_NR, f32_gemm_4x8_simd } from './f32-gemm-4x8-simd';
import { I16_GEMM_KR, I16_GEMM_MR, I16_GEMM_NR, i16_gemm_2x16_simd } from './i16-gemm-2x16-simd';
import { SCALE_BLOCK, scale_blocks } from './quantize';

/** Rows of an LHS panel. */
// @ts-ignore: decorator
@inline
export function gemm_mr<E>(): i32 {
  return isFloat<E>() ? F32_GEMM_MR : I16_GEMM_MR;
}

/** Rows of an RHS panel. */
// @ts-ignore: decorator
@inline
export function gemm_nr<E>(): i32 {
  return isFloat<E>() ? F32_GEMM_NR : I16_GEMM_NR;
}

/** k values packed next to each other per row. */
// @ts-ignore: decorator
@inline
export function gemm_kr<E>(): i32 {
  return isFloat<E>() ? F32_GEMM_KR : I16_GEMM_KR;
}

/** Bytes before a panel's k groups: one f32 inverse scale per row and scale block for quantised panels. */
// @ts-ignore: decorator
@inline
export function panel_header_bytes<E>(panelRows: i32, dim: i32): usize {
  return isFloat<E>() ? 0 : <usize>(panelRows * scale_blocks(dim)) << 2;
}

/** Bytes of one k group of a panel (panelRows rows × KR elements). */
// @ts-ignore: decorator
@inline
export function panel_group_bytes<E>(panelRows: i32): usize {
  return <usize>(panelRows * gemm_kr<E>()) * sizeof<E>();
}

/** Bytes of one packed panel of panelRows rows over dim. */
// @ts-ignore: decorator
@inline
export function panel_bytes<E>(panelRows: i32, dim: i32): usize {
  const groups = (dim + gemm_kr<E>() - 1) / gemm_kr<E>();
  return panel_header_bytes<E>(panelRows, dim) + <usize>groups * panel_group_bytes<E>(panelRows);
}

/** Bytes of `rows` rows packed in panels of panelRows (the last panel padded). */
// @ts-ignore: decorator
@inline
export function packed_bytes<E>(rows: i32, dim: i32, panelRows: i32): usize {
  return <usize>((rows + panelRows - 1) / panelRows) * panel_bytes<E>(panelRows, dim);
}

/** C[MR x NR] (f32, row stride ldc bytes) = A panel · B panelᵀ over kc = dim. */
// @ts-ignore: decorator
@inline
export function micro_kernel<E>(a: usize, b: usize, kc: i32, c: usize, ldc: usize): void {
  if (isFloat<E>()) f32_gemm_4x8_simd(a, b, kc, c, ldc);
  else i16_gemm_2x16_simd(a, b, kc, c, ldc);
}

/** Element k of row `row` of a packed LHS, as the f32 value the kernel multiplies (dequantised for i16). */
// @ts-ignore: decorator
@inline
export function packed_lhs_value<E>(lhs: usize, row: i32, k: i32, dim: i32): f32 {
  const mr = gemm_mr<E>();
  const kr = gemm_kr<E>();
  const panel = lhs + <usize>(row / mr) * panel_bytes<E>(mr, dim);
  const r = row % mr;
  const at = panel + panel_header_bytes<E>(mr, dim) + <usize>(k / kr) * panel_group_bytes<E>(mr) + <usize>(r * kr + k % kr) * sizeof<E>();
  if (isFloat<E>()) return load<f32>(at);
  return <f32>load<i16>(at) * load<f32>(panel + (<usize>((k / SCALE_BLOCK) * mr + r) << 2));
}
