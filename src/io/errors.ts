/**
 * Errors raised for files that cannot be read as what they claim to be.
 *
 * Every reader in src/io reports bad bytes with an InputError, never a bare
 * RangeError or a crash inside a dependency, so a shell can print one line
 * and exit instead of dumping a stack trace at the user.
 */

/** Where in a file a problem was found. */
export interface InputErrorLocation {
  /** 0-based row index, when the problem concerns one row. */
  row?: number;
  /** Column, array key or header field the problem concerns. */
  field?: string;
}

/**
 * A file (or one row/field of it) is malformed, truncated, or uses a layout we
 * do not support. `message` is a single line: `<file>[ row N][ field F]: <problem>`.
 */
export class InputError extends Error {
  /** The file's name or path as the caller supplied it. */
  readonly file: string;
  readonly row?: number;
  readonly field?: string;
  /** The problem alone, without the location prefix. */
  readonly problem: string;

  /**
   * @param file file name or path
   * @param problem what is wrong, one line, no trailing period needed
   * @param where optional row and field
   */
  constructor(file: string, problem: string, where: InputErrorLocation = {}) {
    let location = file;
    if (where.row !== undefined) location += ` row ${where.row}`;
    if (where.field !== undefined) location += ` field ${where.field}`;
    super(`${location}: ${problem}`.replace(/\s*\n\s*/g, ' '));
    this.name = 'InputError';
    this.file = file;
    this.problem = problem;
    if (where.row !== undefined) this.row = where.row;
    if (where.field !== undefined) this.field = where.field;
  }
}

/**
 * An output could not be written as asked: it exists and overwriting was not
 * allowed, or it would replace one of the run's inputs.
 */
export class OutputError extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'OutputError';
    this.file = file;
  }
}
