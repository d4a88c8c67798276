/**
 * Argument parsing shared by the command modules: node:util parseArgs (works in Node and Deno 2),
 * with its errors turned into {@link UsageError} so the dispatcher can answer them with exit code 2.
 */
import { availableParallelism } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
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
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
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

/** Reads a number option; throws a UsageError naming the option when it is not a number in range. */
export function numberOption(
  name: string,
  text: string | undefined,
  fallback: number,
  check: { min?: number; integer?: boolean; positive?: boolean } = {},
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new UsageError(`--${name} must be a number, got '${text}'`);
  if (check.integer && !Number.isInteger(value)) throw new UsageError(`--${name} must be an integer, got '${text}'`);
  if (check.positive && !(value > 0)) throw new UsageError(`--${name} must be greater than 0, got '${text}'`);
  if (check.min !== undefined && value < check.min)
    throw new UsageError(`--${name} must be at least ${check.min}, got '${text}'`);
  return value;
}

/** Reads `--threads`: a positive integer or 'auto'. */
export function threadsOption(text: string | undefined): number | 'auto' {
  if (text === undefined || text === 'auto') {
    // Under `ulimit -v`, 'auto' means as many cores as fit: a worker thread that cannot reserve its
    // memory kills the process with a V8 fatal error instead of an exception.
    const limit = addressSpaceLimitKiB();
    return limit === undefined ? 'auto' : Math.min(threadsWithin(limit), availableParallelism());
  }
  return numberOption('threads', text, 1, { integer: true, positive: true });
}
