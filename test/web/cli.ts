/**
 * What the page's results are checked against: `clipsift score` run as a child process with the page's
 * defaults (precision i16, README "Precision"; one kernel thread).
 */
import process from 'node:process';
import { BIN, runChild } from '../cli/helpers.js';

/** `clipsift score <inputs> --out <out> ...extra --threads 1 --precision i16`; the caller checks the exit code. */
export function scoreAsThePage(inputs: string[], out: string, extra: string[] = []) {
  return runChild(process.execPath, [
    BIN,
    'score',
    ...inputs,
    '--out',
    out,
    ...extra,
    '--threads',
    '1',
    '--precision',
    'i16',
  ]);
}
