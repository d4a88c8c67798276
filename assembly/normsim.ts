// NormSim_p(x) = (Σ_t |x·t|^p)^(1/p) over target rows t, on the same tile loop as negCLIPLoss.
// One task owns BLOCK_ROWS candidates against a chunk of the target; the host streams target
// chunks through in a fixed order, so per-row accumulators see the same sequence at any thread count.
//   max_abs:     p = ∞, running max |s|
//   sum_squares: p = 2 against a target with fewer rows than dims (cheaper than its Gram matrix)
//   power:       any other p, as a log-sum-exp of p·log|s| so no power overflows or underflows
// p = 2 against a larger target goes through the Gram matrix G = TᵀT: NormSim_2(x)² = xᵀGx.
import { exp_f32x4, log_f32x4 } from './expf-simd';
import { update_row_lse } from './lse';
import { F32_GEMM_MR, F32_GEMM_NR, f32_gemm_4x8_simd } from './f32-gemm-4x8-simd';
import { gemm_nr, packed_lhs_value, panel_bytes, panel_group_bytes, panel_header_bytes } from './gemm';
import { SCALE_BLOCK, inverse_scale, quantize1, row_scale, scale_blocks } from './quantize';
import { hmax, hsum } from './simd';
import { BLOCK_ROWS, STRIP_BYTES, STRIP_COLS, compute_strip, pad_strip } from './tile';

// The modes, defined here only: the host gets one from normsim_mode and passes it back.
const MODE_MAX_ABS = 0;
const MODE_SUM_SQUARES = 1;
const MODE_POWER = 2;
const MODE_QUADRATIC_FORM = 3;

/** The mode for norm p (Infinity for max) against target rows, or against a Gram matrix (quadratic != 0, p = 2). */
export function normsim_mode(p: f64, quadratic: i32): i32 {
  if (quadratic) return MODE_QUADRATIC_FORM;
  if (p == Infinity) return MODE_MAX_ABS;
  return p == 2 ? MODE_SUM_SQUARES : MODE_POWER;
}

/** Clears the accumulators of candidates [0, count) for a mode (acc0 is f64 for the quadratic form). */
export function normsim_init(mode: i32, acc0: usize, acc1: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    if (mode == MODE_QUADRATIC_FORM) store<f64>(acc0 + (<usize>i << 3), 0);
    else {
      store<f32>(acc0 + (<usize>i << 2), mode == MODE_POWER ? -Infinity : 0);
      store<f32>(acc1 + (<usize>i << 2), 0);
    }
  }
}

const STRIP_VECTORS = STRIP_COLS / 4;
const ROW_BYTES: usize = STRIP_COLS << 2;

/**
 * Folds target rows [0, targetRows) (packed RHS) into the accumulators of candidate block `block`.
 * acc0/acc1 are per candidate: max | sum of squares | (LSE max, LSE sum).
 */
// @ts-ignore: decorator
@inline
export function normsim_block<E>(
  lhs: usize, candidates: i32, rhs: usize, targetRows: i32, dim: i32, block: i32,
  mode: i32, p: f32, acc0: usize, acc1: usize, strips: usize,
): void {
  const r0 = block * BLOCK_ROWS;
  const rows = min(BLOCK_ROWS, candidates - r0);
  const strip = strips + <usize>block * STRIP_BYTES;
  const rowAcc0 = acc0 + (<usize>r0 << 2);
  const rowAcc1 = acc1 + (<usize>r0 << 2);
  for (let c0 = 0; c0 < targetRows; c0 += STRIP_COLS) {
    const cols = min(STRIP_COLS, targetRows - c0);
    compute_strip<E>(lhs, r0, rows, rhs, c0, cols, dim, strip);
    pad_strip(strip, rows, cols, 0);
    if (mode == MODE_MAX_ABS) fold_max_abs(strip, rows, rowAcc0);
    else if (mode == MODE_SUM_SQUARES) fold_sum_squares(strip, rows, rowAcc0);
    else {
      to_power_logits(strip, rows, p);
      update_row_lse(strip, rows, rowAcc0, rowAcc1);
    }
  }
}

function fold_max_abs(strip: usize, rows: i32, acc: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = strip + <usize>r * ROW_BYTES;
    let m = f32x4.abs(v128.load(row));
    for (let j = 1; j < STRIP_VECTORS; j++) m = f32x4.pmax(m, f32x4.abs(v128.load(row + (<usize>j << 4))));
    const at = acc + (<usize>r << 2);
    store<f32>(at, max(load<f32>(at), hmax(m)));
  }
}

function fold_sum_squares(strip: usize, rows: i32, acc: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = strip + <usize>r * ROW_BYTES;
    let s = f32x4.splat(0);
    for (let j = 0; j < STRIP_VECTORS; j++) {
      const v = v128.load(row + (<usize>j << 4));
      s = f32x4.add(s, f32x4.mul(v, v));
    }
    const at = acc + (<usize>r << 2);
    store<f32>(at, load<f32>(at) + hsum(s));
  }
}

/** s → p·log|s|; zeros (and padding) become -Infinity, which the LSE counts as nothing. */
function to_power_logits(strip: usize, rows: i32, p: f32): void {
  const pv = f32x4.splat(p);
  const end = strip + <usize>rows * ROW_BYTES;
  for (let q = strip; q < end; q += 16) v128.store(q, f32x4.mul(log_f32x4(f32x4.abs(v128.load(q))), pv));
}

/**
 * xᵀGx for candidate block `block`: strips of X·G (G packed as RHS panels of E), each dotted with the
 * matching slice of x read back from the packed LHS. Accumulates in f64 (acc is f64 per candidate).
 */
// @ts-ignore: decorator
@inline
export function normsim_quadratic_block<E>(lhs: usize, candidates: i32, gram: usize, dim: i32, block: i32, acc: usize, strips: usize): void {
  const r0 = block * BLOCK_ROWS;
  const rows = min(BLOCK_ROWS, candidates - r0);
  const strip = strips + <usize>block * STRIP_BYTES;
  for (let c0 = 0; c0 < dim; c0 += STRIP_COLS) {
    const cols = min(STRIP_COLS, dim - c0);
    compute_strip<E>(lhs, r0, rows, gram, c0, cols, dim, strip);
    for (let r = 0; r < rows; r++) {
      const row = r0 + r;
      const y = strip + <usize>r * ROW_BYTES;
      let s: f32 = 0;
      for (let c = 0; c < cols; c++) s += load<f32>(y + (<usize>c << 2)) * packed_lhs_value<E>(lhs, row, c0 + c, dim);
      const at = acc + (<usize>row << 3);
      store<f64>(at, load<f64>(at) + <f64>s);
    }
  }
}

/** Final NormSim values for candidates [r0, r1). */
export function normsim_finish(mode: i32, p: f64, acc0: usize, acc1: usize, out: usize, r0: i32, r1: i32): void {
  for (let i = r0; i < r1; i++) {
    const at = <usize>i << 2;
    let value: f64;
    if (mode == MODE_MAX_ABS) value = <f64>load<f32>(acc0 + at);
    else if (mode == MODE_SUM_SQUARES) value = Math.sqrt(<f64>load<f32>(acc0 + at));
    else if (mode == MODE_QUADRATIC_FORM) value = Math.sqrt(max(0, load<f64>(acc0 + (<usize>i << 3))));
    else value = Math.exp((<f64>load<f32>(acc0 + at) + Math.log(<f64>load<f32>(acc1 + at))) / p);
    store<f32>(out + at, <f32>value);
  }
}

// ---- Gram matrix G = TᵀT, for NormSim_2 ----

// The partial is always f32: G is built once per target, its k runs over target rows whose scales
// differ, and f64 sums of f32 chunk partials keep it accurate for any number of rows.

/** Row stride (in floats) of a Gram partial: dim rounded up to a whole RHS panel. */
// @ts-ignore: decorator
@inline
function gram_stride(dim: i32): i32 {
  return (dim + F32_GEMM_NR - 1) / F32_GEMM_NR * F32_GEMM_NR;
}

/** Bytes of one Gram partial (rows rounded up to whole LHS panels, gram_stride floats each). */
export function gram_partial_bytes(dim: i32): i32 {
  return (dim + F32_GEMM_MR - 1) / F32_GEMM_MR * F32_GEMM_MR * gram_stride(dim) * 4;
}

/**
 * Upper triangle (with the diagonal) of TᵀT for one chunk of target rows, from the chunk packed
 * transposed as LHS (4-dim panels) and as RHS (8-dim panels). The lower triangle is left unwritten.
 */
export function gram_partial(tLhs: usize, tRhs: usize, chunkRows: i32, dim: i32, out: usize): void {
  const ldc = <usize>gram_stride(dim) << 2;
  const rowPanels = (dim + F32_GEMM_MR - 1) / F32_GEMM_MR;
  const colPanels = (dim + F32_GEMM_NR - 1) / F32_GEMM_NR;
  const lhsPanelBytes = panel_bytes<f32>(F32_GEMM_MR, chunkRows);
  const rhsPanelBytes = panel_bytes<f32>(F32_GEMM_NR, chunkRows);
  for (let rp = 0; rp < rowPanels; rp++) {
    for (let cp = (rp * F32_GEMM_MR) / F32_GEMM_NR; cp < colPanels; cp++) {
      const c = out + <usize>(rp * F32_GEMM_MR) * ldc + (<usize>(cp * F32_GEMM_NR) << 2);
      f32_gemm_4x8_simd(tLhs + <usize>rp * lhsPanelBytes, tRhs + <usize>cp * rhsPanelBytes, chunkRows, c, ldc);
    }
  }
}

/** Adds `count` Gram partials (in order) into the f64 Gram matrix, rows [i0, i1), mirroring the triangle. */
export function gram_accumulate(partials: usize, count: i32, dim: i32, gram: usize, i0: i32, i1: i32): void {
  const stride = gram_stride(dim);
  const partialBytes = <usize>gram_partial_bytes(dim);
  for (let i = i0; i < i1; i++) {
    for (let j = 0; j < dim; j++) {
      const at = <usize>(min(i, j) * stride + max(i, j)) << 2;
      let s: f64 = load<f64>(gram + (<usize>(i * dim + j) << 3));
      for (let p = 0; p < count; p++) s += <f64>load<f32>(partials + <usize>p * partialBytes + at);
      store<f64>(gram + (<usize>(i * dim + j) << 3), s);
    }
  }
}

/**
 * Packs RHS panels [q0, q1) of the symmetric f64 Gram matrix as panels of E (RHS row j = column j of G):
 * narrowed to f32, or quantised row by row like any other i16 operand (quantize.ts).
 */
// @ts-ignore: decorator
@inline
export function gram_pack<E>(gram: usize, dim: i32, dst: usize, q0: i32, q1: i32): void {
  const nr = gemm_nr<E>();
  const header = panel_header_bytes<E>(nr, dim);
  const blocks = scale_blocks(dim);
  const groupStride = panel_group_bytes<E>(nr);
  for (let q = q0; q < q1; q++) {
    const panel = dst + <usize>q * panel_bytes<E>(nr, dim);
    for (let c = 0; c < nr; c++) {
      const j = q * nr + c;
      // Column j of G (= row j when G is symmetric, as gram_accumulate makes it).
      const col = gram + (<usize>j << 3);
      const colStride = <usize>dim << 3;
      const out = panel + header + (<usize>c << 2);
      if (isFloat<E>()) {
        for (let k = 0; k < dim; k++) store<f32>(out + <usize>k * groupStride, j < dim ? <f32>load<f64>(col + <usize>k * colStride) : 0);
        continue;
      }
      for (let b = 0; b < blocks; b++) {
        const k0 = b * SCALE_BLOCK;
        const k1 = min(dim, k0 + SCALE_BLOCK);
        let s: f32 = 0;
        if (j < dim) {
          let m: f64 = 0;
          let n2: f64 = 0;
          for (let k = k0; k < k1; k++) {
            const g = load<f64>(col + <usize>k * colStride);
            m = max(m, Math.abs(g));
            n2 += g * g;
          }
          s = <f32>row_scale(m, Math.sqrt(n2), k1 - k0);
        }
        store<f32>(panel + (<usize>(b * nr + c) << 2), inverse_scale(s));
        for (let k = k0; k < k1; k += 2) {
          const lo = j < dim ? quantize1(<f32>load<f64>(col + <usize>k * colStride), s) : 0;
          const hi = j < dim && k + 1 < dim ? quantize1(<f32>load<f64>(col + <usize>(k + 1) * colStride), s) : 0;
          store<u32>(out + <usize>(k >> 1) * groupStride, <u32>(lo & 0xffff) | (<u32>hi << 16));
        }
      }
    }
  }
}
