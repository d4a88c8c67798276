/**
 * Deno entry point: `deno run -A score.ts <arguments>` does exactly what `npx clipsift <arguments>`
 * does. It is a thin shell over the built command line (run `npm run build` first); Deno 2 resolves
 * its npm imports from node_modules next to package.json.
 */
import process from 'node:process';
import { main } from './dist/lib/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
