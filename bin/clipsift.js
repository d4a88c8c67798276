#!/usr/bin/env node
// The npm entry point (package.json "bin"): runs the built command line from dist/lib.
import process from 'node:process';

let main;
try {
  ({ main } = await import('../dist/lib/cli/main.js'));
} catch (error) {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/lib/cli/main.js')) {
    process.stderr.write('clipsift: dist/lib is not built; run `npm run build` in the package directory\n');
    process.exit(1);
  }
  throw error;
}
// exitCode rather than exit(): lets pending stdout writes to a pipe finish.
process.exitCode = await main(process.argv.slice(2));
