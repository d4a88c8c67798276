/**
 * The one float16 codec: IEEE binary16 bit patterns (as numpy stores '<f2') to and from numbers.
 *
 * float64 → float16 bits rounds to nearest, ties to even, as numpy's astype('<f2') does. Pure
 * arithmetic plus a DataView for the exponent, so it gives the same bits in every runtime. Decoding
 * is exact (every float16 is a float32 and a float64); halfTable() decodes all 65536 patterns once
 * for loops over large arrays, where a lookup beats the arithmetic per value.
 */

const view = new DataView(new ArrayBuffer(8));
/** POW2[e + 30] = 2^e for e in [-30, 30], built by exact doublings. */
const POW2: number[] = (() => {
  const table = new Array<number>(61);
  table[30] = 1;
  for (let e = 1; e <= 30; e++) {
    table[30 + e] = table[29 + e]! * 2;
    table[30 - e] = table[31 - e]! / 2;
  }
  return table;
})();

/** The 16-bit pattern of the float16 nearest to `value`. */
export function toFloat16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const x = Math.abs(value);
  if (x >= 65520) return sign | 0x7c00; // 65520 is halfway between 65504 (max) and 65536: ties go up to inf.
  if (x < POW2[30 - 14]!) {
    // Subnormal (or zero): a multiple of 2^-24. A result of 1024 is the smallest normal, whose bits are 0x0400.
    return sign | roundHalfEven(x * POW2[30 + 24]!);
  }
  view.setFloat64(0, x, true);
  const exponent = ((view.getUint32(4, true) >>> 20) & 0x7ff) - 1023; // in [-14, 15]
  const mantissa = roundHalfEven((x / POW2[30 + exponent]! - 1) * 1024);
  // A mantissa that rounds up to 1024 carries into the exponent, which the addition does by itself.
  return sign | (((exponent + 15) << 10) + mantissa);
}

/** The value of a float16 bit pattern. */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * POW2[30 - 24]!;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * POW2[30 + exponent - 15]!;
}

let decoded: Float32Array | undefined;

/** All 65536 float16 bit patterns decoded (256 KiB, built on first use): `halfTable()[bits]`. */
export function halfTable(): Float32Array {
  if (decoded) return decoded;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = fromFloat16Bits(bits);
  decoded = table;
  return table;
}

/** float16 bit patterns as a new Float32Array of their values. */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

function roundHalfEven(y: number): number {
  const floor = Math.floor(y);
  const rest = y - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor + (floor & 1);
}
