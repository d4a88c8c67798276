/**
 * A URL of a scheme clipsift cannot read (gs://, ftp://, file://...) is refused up front with the
 * schemes it does read, instead of failing later as "no such file or directory". s3://, https:// and
 * http:// are read by io (remote.ts); --queue's redis:// names the cluster's Redis, not a file.
 */
import { InputError } from '../io/errors.js';

/** scheme://... as a whole argument or as the value of --option=<url>. */
const URL_ARGUMENT = /^(?:--[^=]+=)?([a-z][a-z0-9+.-]*):\/\/.*$/i;
const READABLE = new Set(['s3', 'https', 'http']);

/**
 * Throws for the first argument that is a URL of an unreadable scheme, except the value of --queue
 * (score, worker, status).
 * @throws {InputError} naming the URL
 */
export function refuseUnreadableUrls(argv: string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--queue') {
      i++;
      continue;
    }
    if (arg.startsWith('--queue=')) continue;
    const match = URL_ARGUMENT.exec(arg);
    if (!match || READABLE.has(match[1]!.toLowerCase())) continue;
    const url = arg.replace(/^--[^=]+=/, '');
    throw new InputError(
      url,
      `${match[1]}:// URLs are not read; give an s3://, https:// or http:// URL or a local path`,
    );
  }
}
