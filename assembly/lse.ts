// Online log-sum-exp over strips (see tile.ts): running (max, sum of exp(x - max)) per row, and
// (max, sum) per column over a block's rows. Keeping the running max makes every exp argument
// <= 0, so nothing overflows: with τ = 0.01 an identical pair alone would give exp(100).
import { exp_f32x4, log_f32x4 } from './expf-simd';
import { hmax, hsum } from './simd';
import { STRIP_COLS } from './tile';

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

/**
 * Writes the log-sum-exp of each strip column over rows [0, rows) to colLse, whole vectors at a
 * time (the array is padded to a multiple of 4 columns); only the first `cols` columns mean anything.
 * One f32 per column rather than (max, sum) halves the partials a batch keeps per block.
 */
export function store_column_lse(strip: usize, rows: i32, cols: i32, colLse: usize): void {
  for (let j = 0; j < STRIP_VECTORS && (j << 2) < cols; j++) {
    const col = strip + (<usize>j << 4);
    let m = f32x4.splat(-Infinity);
    for (let r = 0; r < rows; r++) m = f32x4.pmax(m, v128.load(col + <usize>r * ROW_BYTES));
    let s = f32x4.splat(0);
    for (let r = 0; r < rows; r++) s = f32x4.add(s, exp_f32x4(f32x4.sub(v128.load(col + <usize>r * ROW_BYTES), m)));
    v128.store(colLse + (<usize>j << 4), f32x4.add(m, log_f32x4(s)));
  }
}
