/**
 * A parser for the tiny subset of Python literal syntax that numpy writes in
 * .npy headers: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
 *
 * numpy itself uses ast.literal_eval; we accept the same shapes of input
 * (dicts, lists, tuples, strings, ints, True/False/None) and nothing else, so
 * a header can never make us evaluate anything or recurse without bound.
 */

/** A parsed literal. Lists and tuples both become arrays; dicts become Maps. */
export type PyValue = string | number | bigint | boolean | null | PyValue[] | Map<string, PyValue>;

/** Nesting deeper than this is not something numpy writes (structured dtypes nest a few levels). */
const MAX_DEPTH = 32;

/**
 * Parse `text` as one Python literal.
 * @throws {SyntaxError} with a short description of what was unexpected
 */
export function parsePyLiteral(text: string): PyValue {
  let pos = 0;

  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at character ${pos}`);
  };
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };

  const parseString = (): string => {
    const quote = text[pos]!;
    pos++;
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') {
        const next = text[pos + 1];
        if (next === undefined) fail('unterminated escape');
        out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
        pos += 2;
      } else {
        out += text[pos];
        pos++;
      }
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    return out;
  };

  const parseNumber = (): number | bigint => {
    const match = /^-?\d+/.exec(text.slice(pos, pos + 64));
    if (!match) return fail('expected a number');
    pos += match[0].length;
    if (text[pos] === 'L') pos++; // Python 2 long suffix, written by old numpy
    if (/^[.eE]/.test(text[pos] ?? '')) fail('floats are not expected in an .npy header');
    const big = BigInt(match[0]);
    const small = Number(big);
    return Number.isSafeInteger(small) ? small : big;
  };

  const parseSequence = (close: string, depth: number): PyValue[] => {
    pos++;
    const items: PyValue[] = [];
    for (;;) {
      skipSpace();
      if (text[pos] === close) {
        pos++;
        return items;
      }
      items.push(parseValue(depth + 1));
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
  };

  const parseDict = (depth: number): Map<string, PyValue> => {
    pos++;
    const dict = new Map<string, PyValue>();
    for (;;) {
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        return dict;
      }
      if (text[pos] !== "'" && text[pos] !== '"') fail('expected a string key');
      const key = parseString();
      skipSpace();
      if (text[pos] !== ':') fail("expected ':'");
      pos++;
      dict.set(key, parseValue(depth + 1));
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') fail("expected ',' or '}'");
    }
  };

  const parseValue = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skipSpace();
    const c = text[pos];
    if (c === undefined) return fail('unexpected end');
    if (c === '{') return parseDict(depth);
    if (c === '[') return parseSequence(']', depth);
    if (c === '(') return parseSequence(')', depth);
    if (c === "'" || c === '"') return parseString();
    if (c === '-' || (c >= '0' && c <= '9')) return parseNumber();
    for (const [word, value] of [
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    return fail(`unexpected '${c}'`);
  };

  const value = parseValue(0);
  skipSpace();
  if (pos !== text.length) fail('unexpected text after the literal');
  return value;
}
