/**
 * The one L2 row normalisation, for the engine's `normalize: true` and the CLI's --normalize.
 */
import { halfTable } from './float16.js';

/**
 * L2-normalises every row of a row-major matrix (float32 values or float16 bit patterns) into float32.
 *
 * Contract: each output row is the input row times 1/‖row‖, the norm summed in float64 and each value
 * rounded once to float32; a row of zeros stays zeros (there is no direction to keep). The result is
 * written to `out`, a new array by default; pass the input itself (float32 only) to normalise in place
 * without a second copy of the matrix. Non-finite rows give NaN rows (callers reject them first).
 * @returns `out`
 */
export function normalizeRows(
  data: Float32Array | Uint16Array,
  dim: number,
  out: Float32Array = new Float32Array(data.length),
): Float32Array {
  if (out.length !== data.length)
    throw new RangeError(`normalizeRows: out has ${out.length} values, data ${data.length}`);
  const half = data instanceof Uint16Array ? halfTable() : undefined;
  const rows = dim > 0 ? data.length / dim : 0;
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    let sumSquares = 0;
    for (let j = 0; j < dim; j++) {
      const v = half ? half[data[base + j]!]! : data[base + j]!;
      out[base + j] = v;
      sumSquares += v * v;
    }
    const scale = sumSquares > 0 ? 1 / Math.sqrt(sumSquares) : 0;
    for (let j = 0; j < dim; j++) out[base + j] = out[base + j]! * scale;
  }
  return out;
}
