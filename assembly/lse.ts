// Online log-sum-exp over strips (see tile.ts): running (max, sum of exp(x - max)) per row, and
// (max, sum) per column over a block's rows. Keeping the running max makes every exp argument
// <= 0, so nothing overflows: with τ = 0.01 an identical pair alone would give exp(100).
// negCLIPLoss needs both at once (fold_strip_lse), with one exp per entry; NormSim_p the rows only.
import { exp_f32x4, log_f32x4 } from './expf-simd';
import { hmax, hsum } from './simd';
import { STRIP_COLS, STRIP_SCRATCH } from './tile';

const STRIP_VECTORS = STRIP_COLS / 4;
const ROW_BYTES: usize = STRIP_COLS << 2;

/** Multiplies strip rows [0, rows) by s (1/τ turns similarities into logits). */
export function scale_strip(strip: usize, rows: i32, s: f32): void {
  const sv = f32x4.splat(s);
  const end = strip + <usize>rows * ROW_BYTES;
  for (let p = strip; p < end; p += 16) v128.store(p, f32x4.mul(v128.load(p), sv));
}

/** Folds every row of the strip into its running (max, sum); rows are the strip's [0, rows). */
export function update_row_lse(strip: usize, rows: i32, rowMax: usize, rowSum: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = strip + <usize>r * ROW_BYTES;
    let m = v128.load(row);
    for (let j = 1; j < STRIP_VECTORS; j++) m = f32x4.pmax(m, v128.load(row + (<usize>j << 4)));
    const oldMax = load<f32>(rowMax + (<usize>r << 2));
    const newMax = max(oldMax, hmax(m));
    const shift = f32x4.splat(newMax);
    let s = f32x4.splat(0);
    for (let j = 0; j < STRIP_VECTORS; j++) s = f32x4.add(s, exp_f32x4(f32x4.sub(v128.load(row + (<usize>j << 4)), shift)));
    const rescale = f32x4.extract_lane(exp_f32x4(f32x4.splat(oldMax - newMax)), 0);
    store<f32>(rowSum + (<usize>r << 2), load<f32>(rowSum + (<usize>r << 2)) * rescale + hsum(s));
    store<f32>(rowMax + (<usize>r << 2), newMax);
  }
}

/** The log-sum-exp of strip column vector j over rows [0, rows), to colLse + 16·j: its own max, then the sum of exps below it. */
// @ts-ignore: decorator
@inline
function column_lse(strip: usize, rows: i32, j: i32, colLse: usize): void {
  const col = strip + (<usize>j << 4);
  let m = f32x4.splat(-Infinity);
  for (let r = 0; r < rows; r++) m = f32x4.pmax(m, v128.load(col + <usize>r * ROW_BYTES));
  let s = f32x4.splat(0);
  for (let r = 0; r < rows; r++) s = f32x4.add(s, exp_f32x4(f32x4.sub(v128.load(col + <usize>r * ROW_BYTES), m)));
  v128.store(colLse + (<usize>j << 4), f32x4.add(m, log_f32x4(s)));
}

/**
 * Column maxima a strip's shared shift serves exactly: a column whose max lies more than this many
 * logits below the strip's max is folded on its own (see fold_strip_lse).
 */
const SHARED_SHIFT_SPAN: f32 = 60;

/**
 * Folds a strip into its rows' running (max, sum), as update_row_lse does, and writes its columns'
 * log-sum-exps over rows [0, rows), as column_lse does for each column, with one exp per entry instead of two:
 * e_rj = exp(x_rj − m_r) with m_r row r's max in this strip serves the row (its sum is rescaled by
 * exp(m_r − max_r)), and the column as Σ_r e_rj · exp(m_r − M) = Σ_r exp(x_rj − M), M the strip's max.
 * That shared shift M is exact for column j when its own max c_j ≥ M − 60: the row r holding c_j has
 * e_rj·w_r = exp(c_j − M) ≥ e^-60, a normal float, and a term lost to underflow (an exp below e^-87,
 * which exp_f32x4 flushes to 0, or a product below the smallest normal) is below e^-27 of that
 * largest term: under 128·e^-27 < 3e-10 of the column's sum together, far below float32's 6e-8.
 * Columns under that floor (a column far from every other in the strip, or padding) are folded
 * directly (column_lse). The partial is M + log(Σ) instead of c_j + log(Σ exp(x − c_j)):
 * the same value to a few ulps. Everything depends only on the strip, so it is the same at any thread count.
 * `scratch` holds STRIP_SCRATCH bytes (the strip's column maxima and sums).
 */
export function fold_strip_lse(strip: usize, rows: i32, cols: i32, rowMax: usize, rowSum: usize, colLse: usize, scratch: usize): void {
  const colMax = scratch;
  const colSum = scratch + ROW_BYTES;
  let all = f32x4.splat(-Infinity);
  for (let j = 0; j < STRIP_VECTORS; j++) {
    const col = strip + (<usize>j << 4);
    let m = v128.load(col);
    for (let r = 1; r < rows; r++) m = f32x4.pmax(m, v128.load(col + <usize>r * ROW_BYTES));
    v128.store(colMax + (<usize>j << 4), m);
    v128.store(colSum + (<usize>j << 4), f32x4.splat(0));
    all = f32x4.pmax(all, m);
  }
  const stripMax = hmax(all);
  for (let r = 0; r < rows; r++) {
    const row = strip + <usize>r * ROW_BYTES;
    let m = v128.load(row);
    for (let j = 1; j < STRIP_VECTORS; j++) m = f32x4.pmax(m, v128.load(row + (<usize>j << 4)));
    const own = hmax(m);
    const oldMax = load<f32>(rowMax + (<usize>r << 2));
    const newMax = max(oldMax, own);
    // Three factors in one vector exp: the old sum's rescale, this strip's, and the column weight.
    let f = f32x4.splat(0);
    f = f32x4.replace_lane(f, 0, oldMax - newMax);
    f = f32x4.replace_lane(f, 1, own - newMax);
    f = f32x4.replace_lane(f, 2, own - stripMax);
    f = exp_f32x4(f);
    const shift = f32x4.splat(own);
    const weight = f32x4.splat(f32x4.extract_lane(f, 2));
    let s = f32x4.splat(0);
    for (let j = 0; j < STRIP_VECTORS; j++) {
      const e = exp_f32x4(f32x4.sub(v128.load(row + (<usize>j << 4)), shift));
      s = f32x4.add(s, e);
      const at = colSum + (<usize>j << 4);
      v128.store(at, f32x4.add(v128.load(at), f32x4.mul(e, weight)));
    }
    const sumAt = rowSum + (<usize>r << 2);
    store<f32>(sumAt, load<f32>(sumAt) * f32x4.extract_lane(f, 0) + hsum(s) * f32x4.extract_lane(f, 1));
    store<f32>(rowMax + (<usize>r << 2), newMax);
  }
  const floor = f32x4.splat(stripMax - SHARED_SHIFT_SPAN);
  const shared = f32x4.splat(stripMax);
  for (let j = 0; j < STRIP_VECTORS && (j << 2) < cols; j++) {
    const at = <usize>j << 4;
    if (v128.any_true(f32x4.lt(v128.load(colMax + at), floor))) column_lse(strip, rows, j, colLse);
    else v128.store(colLse + at, f32x4.add(shared, log_f32x4(v128.load(colSum + at))));
  }
}
