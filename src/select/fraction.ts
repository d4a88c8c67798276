/**
 * Exact ⌊N·f⌋ for a fraction f given in decimal.
 *
 * `Math.floor(100 * 0.29)` is 28: the double nearest 0.29 lies just below it. Users write fractions in
 * decimal ("0.29", "29%"), so the count is computed from that decimal as an integer ratio with BigInt,
 * never through binary floating point. A fraction passed as a number is taken at its shortest
 * round-trip decimal (String(0.29) === '0.29'), which is what the caller wrote in source code.
 */

/** A non-negative decimal as numerator / denominator (denominator a power of ten). */
export interface DecimalRatio {
  numerator: bigint;
  denominator: bigint;
}

// Digits with an optional point, an optional exponent and an optional trailing %; no sign, no hex, no spaces.
const DECIMAL = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?(%?)$/;

/**
 * Parses a non-negative decimal such as '0.29', '.5', '3e-1', '1' or '29%' exactly.
 * Returns undefined for anything else (signs, hex, Infinity, NaN, blanks, empty digits).
 */
export function parseDecimalRatio(text: string): DecimalRatio | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const whole = match[1] ?? '';
  const part = match[2] ?? '';
  if (whole.length + part.length === 0) return undefined;
  const exponent = Number(match[3] ?? '0') - part.length - (match[4] ? 2 : 0);
  const digits = BigInt(whole + part);
  return exponent >= 0
    ? { numerator: digits * 10n ** BigInt(exponent), denominator: 1n }
    : { numerator: digits, denominator: 10n ** BigInt(-exponent) };
}

/** The ratio of a number, from its shortest round-trip decimal; undefined for negative or non-finite numbers. */
export function ratioOfNumber(value: number): DecimalRatio | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  return parseDecimalRatio(String(value));
}

/**
 * ⌊count·fraction⌋ computed exactly; `fraction` is a decimal text ('0.29', '29%') or a number (taken at
 * its shortest decimal). Throws a RangeError for a fraction that is not a non-negative decimal.
 */
export function floorTimes(count: number, fraction: number | string): number {
  const ratio = typeof fraction === 'string' ? parseDecimalRatio(fraction) : ratioOfNumber(fraction);
  if (!ratio) throw new RangeError(`not a non-negative decimal fraction: ${String(fraction)}`);
  return Number((BigInt(count) * ratio.numerator) / ratio.denominator);
}
