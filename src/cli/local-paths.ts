/**
 * Until clipsift reads remote byte sources, a URL on the command line is refused up front with a
 * reason, instead of failing later as "no such file or directory".
 */
import { InputError } from '../io/errors.js';

/** http://, https://, s3://, gs:// ... as a whole argument or as the value of --option=<url>. */
const URL_ARGUMENT = /^(?:--[^=]+=)?([a-z][a-z0-9+.-]*:\/\/.*)$/i;

/**
 * Throws for the first argument that is a URL.
 * @throws {InputError} naming the URL
 */
export function refuseUrls(argv: string[]): void {
  for (const arg of argv) {
    if (arg === '--') break;
    const url = URL_ARGUMENT.exec(arg)?.[1];
    // A Redis location (--queue redis://…) names a server, not a file.
    if (url !== undefined && !/^rediss?:\/\//i.test(url))
      throw new InputError(url, 'URLs are not supported yet; download the file and give its local path');
  }
}
