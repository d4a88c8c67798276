/**
 * Argument parsing shared by the command modules: node:util parseArgs (works in Node and Deno 2),
 * with its errors turned into {@link UsageError} so the dispatcher can answer them with exit code 2.
 */
import { availableParallelism } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { threadLimit } from '../engine/open.js';
import { addressSpaceLimitKiB, threadsWithin } from './address-space.js';
import { closestWord } from './words.js';

/** A command line that does not parse or is missing something required; exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The options table of a command, in parseArgs' shape. */
export type OptionsSpec = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs returns for a given options table. */
export type Parsed<O extends OptionsSpec> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

/**
 * Parses argv strictly against `options` (unknown options and missing values are usage errors).
 * Every command also accepts `--help` / `-h`; callers check `values.help`.
 */
export function parseCommandArgs<O extends OptionsSpec>(argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageErrorOf(error, options);
  }
}

/**
 * A parseArgs error as a UsageError: an unknown option gets a guess at the one meant ('--bacth-size';
 * did you mean '--batch-size'?); parseArgs' other messages are already one line and name the option.
 */
export function usageErrorOf(error: unknown, options: OptionsSpec): UsageError {
  const unknown = unknownOption(error);
  if (unknown !== undefined) {
    const guess = closestWord(
      unknown,
      Object.keys(options).map((name) => `--${name}`),
    );
    return new UsageError(`unknown option '${unknown}'${guess ? `; did you mean '${guess}'?` : ''}`);
  }
  return new UsageError(error instanceof Error ? error.message : String(error));
}

/** The option parseArgs did not know ('--bach-size'), from its error; undefined for other errors. */
function unknownOption(error: unknown): string | undefined {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return undefined;
  return /'(-[^']*)'/.exec(error.message)?.[1];
}

/** A negative decimal number as a whole argument: -1, -0.5, -.5, -1e-3, -inf. */
const NEGATIVE_NUMBER = /^-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^-(?:inf|Infinity)$/;

/**
 * parseArgs takes `--flag -1` for a missing value followed by an option `-1` ("ambiguous"); a number is
 * what the user meant. Joins a string option and a following negative number into `--flag=-1`.
 * Everything after `--` is left alone.
 */
export function joinNegativeValues(argv: readonly string[], options: OptionsSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    const name = stringOptionName(arg, options);
    if (name !== undefined && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function stringOptionName(arg: string, options: OptionsSpec): string | undefined {
  if (arg.startsWith('--') && !arg.includes('=')) {
    const name = arg.slice(2);
    return options[name]?.type === 'string' ? name : undefined;
  }
  if (/^-[^-]$/.test(arg)) {
    const entry = Object.entries(options).find(([, spec]) => spec.short === arg[1]);
    return entry && entry[1].type === 'string' ? entry[0] : undefined;
  }
  return undefined;
}

/**
 * A decimal number as people write it on a command line: optional sign, digits, point, exponent,
 * or inf/Infinity. Not hex (0x10), binary, octal, underscores, blanks or the empty string, all of
 * which JavaScript's Number() would accept.
 */
const DECIMAL_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:inf|Infinity)$/;

/** Parses a decimal number strictly (see DECIMAL_NUMBER); NaN for anything else. */
export function parseDecimalNumber(text: string): number {
  if (!DECIMAL_NUMBER.test(text)) return NaN;
  return Number(text.replace(/inf$/, 'Infinity'));
}

/** Reads a number option; throws a UsageError naming the option when it is not a number in range. */
export function numberOption(
  name: string,
  text: string | undefined,
  fallback: number,
  check: { min?: number; integer?: boolean; positive?: boolean } = {},
): number {
  if (text === undefined) return fallback;
  const value = parseDecimalNumber(text);
  if (Number.isNaN(value)) throw new UsageError(`--${name} must be a decimal number, got '${text}'`);
  if (check.integer && !Number.isInteger(value)) throw new UsageError(`--${name} must be an integer, got '${text}'`);
  if (check.positive && !(value > 0)) throw new UsageError(`--${name} must be greater than 0, got '${text}'`);
  if (check.min !== undefined && value < check.min)
    throw new UsageError(`--${name} must be at least ${check.min}, got '${text}'`);
  return value;
}

/** Reads `--port` for the local servers: an integer from 0 (a free port) to 65535, default 8787. */
export function portOption(text: string | undefined): number {
  const port = numberOption('port', text, 8787, { integer: true, min: 0 });
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got '${text}'`);
  return port;
}

/** Reads `--threads`: a positive integer up to the engine's limit (4 × cores), or 'auto'. */
export function threadsOption(text: string | undefined): number | 'auto' {
  if (text === undefined || text === 'auto') {
    // Under `ulimit -v`, 'auto' means as many cores as fit: a worker thread that cannot reserve its
    // memory kills the process with a V8 fatal error instead of an exception.
    const limit = addressSpaceLimitKiB();
    return limit === undefined ? 'auto' : Math.min(threadsWithin(limit), availableParallelism());
  }
  const threads = numberOption('threads', text, 1, { integer: true, positive: true });
  const cores = Math.max(1, availableParallelism());
  const limit = threadLimit(cores);
  if (threads > limit)
    throw new UsageError(
      `--threads must be at most ${limit} (4 × the ${cores} core${cores === 1 ? '' : 's'} here), got '${text}'`,
    );
  return threads;
}

/**
 * Threads worth starting for `rows` rows of work: no more than one per {@link ROWS_PER_THREAD} rows
 * (and at least one), so a small pool does not pay for a thread per core. Results do not depend on it.
 */
export function threadsForWork(threads: number | 'auto', rows: number): number | 'auto' {
  const useful = Math.max(1, Math.ceil(rows / ROWS_PER_THREAD));
  const wanted = threads === 'auto' ? Math.max(1, availableParallelism()) : threads;
  return Math.min(wanted, useful);
}

/** Rows of work per thread below which another thread is not started (see threadsForWork). */
export const ROWS_PER_THREAD = 1024;
