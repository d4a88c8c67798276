/**
 * The package version, read from package.json next to dist/ (or src/ when run from sources), so score
 * files record the clipsift that wrote them without a build step having to stamp it in.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * clipsift's version from package.json, or '0.0.0-unknown' if the file cannot be found.
 * @throws Deno's permission error when the file may not be read
 */
export function clipsiftVersion(): string {
  if (cached !== undefined) return cached;
  let found = '0.0.0-unknown';
  // src/pipeline/version.ts and dist/lib/pipeline/version.js sit two and three levels below the package root.
  for (const relative of ['../../../package.json', '../../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (parsed.name === 'clipsift' && typeof parsed.version === 'string') {
        found = parsed.version;
        break;
      }
    } catch (error) {
      // Deno without --allow-read: say so rather than pass for a copy without package.json.
      if (error instanceof Error && /^Requires read access/.test(error.message)) throw error;
      // not at this level; try the next
    }
  }
  cached = found;
  return cached;
}
