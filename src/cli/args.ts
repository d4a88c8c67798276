/**
 * Argument parsing shared by the command modules: node:util parseArgs (works in Node and Deno 2),
 * with its errors turned into {@link UsageError} so the dispatcher can answer them with exit code 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
    // parseArgs' messages are already one line and name the option; only the class changes.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
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
  if (text === undefined || text === 'auto') return 'auto';
  return numberOption('threads', text, 1, { integer: true, positive: true });
}
