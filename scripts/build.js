// Runs the build steps in order; each step is a script of its own so the wasm, the library,
// the browser demo and the edge bundle can be rebuilt alone (`node scripts/build-wasm.js`).
// Every step must exist and succeed: a missing step is an error, not something to skip.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const steps = ['build-wasm.js', 'build-lib.js', 'build-web.js', 'build-edge.js'];
for (const step of steps) {
  const path = fileURLToPath(new URL(step, import.meta.url));
  if (!existsSync(path)) {
    console.error(`build: step ${step} is missing (${path})`);
    process.exit(1);
  }
  const started = Date.now();
  const result = spawnSync(process.execPath, [path], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build: ${step} failed${result.signal ? ` (${result.signal})` : ''}`);
    process.exit(result.status || 1);
  }
  console.error(`build: ${step} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
