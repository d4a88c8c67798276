/**
 * `clipsift subset union|intersect A.npy B.npy --out C.npy`: set algebra on DataComp subset files.
 */
import { counted } from './words.js';
import process from 'node:process';
import { nodeFileSystem, readSubsetFileAt, writeFileAtomic } from '../io/node-files.js';
import { signedInputs } from '../io/remote.js';
import { removeStaleTemporariesBeside } from './stale-temporaries.js';
import { encodeSubsetFile } from '../io/subset-file.js';
import { uidCount } from '../io/uid.js';
import { intersectUids, unionUids } from '../select/subset-algebra.js';
import { parseCommandArgs, UsageError } from './args.js';
import type { Command } from './command.js';

const USAGE = `usage: clipsift subset union|intersect A.npy B.npy [C.npy...] --out OUT.npy [--force] [--json]

Combines DataComp subset files (.npy of (u64, u64) uid halves): union keeps the uids in any input,
intersect those in all of them. The output is sorted and holds each uid once, as numpy.save writes it.
Inputs may be s3:// or https:// URLs; a signed https:// URL (a query string) is named without its query.

options:
  --out FILE   the subset file to write (refuses to overwrite without --force, never an input)
  --force      overwrite --out if it exists
  --json       print {"operation", "inputs": [{"file", "uids"}], "uids", "out"} instead of text
  -h, --help   show this help`;

const OPTIONS = {
  out: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  const operation = positionals[0];
  if (operation !== 'union' && operation !== 'intersect') {
    throw new UsageError(`expected union or intersect, got ${operation === undefined ? 'nothing' : `'${operation}'`}`);
  }
  if (positionals.length < 3) throw new UsageError(`${operation} needs at least two subset files`);
  if (values.out === undefined) throw new UsageError('--out FILE is required');

  // Signed URLs (a query string) are known by their paths and read at their URLs: no name carries the query.
  const { fs, paths: files } = signedInputs(nodeFileSystem, positionals.slice(1));
  const inputs = await Promise.all(files.map((file) => readSubsetFileAt(file, fs)));
  const combine = operation === 'union' ? unionUids : intersectUids;
  const result = inputs.slice(1).reduce((acc, uids) => combine(acc, uids), inputs[0]!);
  // encodeSubsetFile sorts and deduplicates too; the result already is, so this is a plain copy.
  await removeStaleTemporariesBeside(values.out);
  await writeFileAtomic(values.out, encodeSubsetFile(result), { force: values.force ?? false, inputs: files });

  const counts = files.map((file, k) => ({ file, uids: uidCount(inputs[k]!) }));
  const summary = { operation, inputs: counts, uids: uidCount(result), out: values.out };
  const text = `${counts.map((c) => `${c.file}: ${counted(c.uids, 'uid')}`).join('\n')}\n${operation}: wrote ${values.out}: ${counted(summary.uids, 'uid')}`;
  process.stdout.write(`${values.json ? JSON.stringify(summary, null, 2) : text}\n`);
  return 0;
}

export const command: Command = {
  name: 'subset',
  summary: 'union or intersect DataComp subset files',
  usage: USAGE,
  run,
};
