// `npm run bench`: the engine's figures in Node and in Deno, and the thread scaling figures.
// Benchmarks, not tests: nothing here asserts a speed. Every piece must be present and exit 0:
// a missing script or runtime stops the run before it starts, a failing one makes it exit 1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
const extra = process.argv.slice(2);

const runs = [
  {
    title: 'engine, Node, 1 thread, baseline SIMD',
    cmd: process.execPath,
    args: [here('engine.js'), '--threads', '1', ...extra],
  },
  {
    title: 'engine, Deno, 1 thread, relaxed SIMD',
    cmd: deno,
    args: ['run', '-A', here('engine.js'), '--threads', '1', '--simd', 'relaxed', ...extra],
  },
  { title: 'threads', cmd: process.execPath, args: [here('threads.js'), ...extra] },
  { title: 'GEMM tile shapes, Node, 1 thread', cmd: process.execPath, args: [here('tiles.js')] },
];

const missing = runs.flatMap(({ title, cmd, args }) =>
  [cmd, ...args.filter((a) => a.endsWith('.js'))].filter((f) => !existsSync(f)).map((f) => `${title}: ${f}`),
);
if (missing.length > 0) {
  console.error(`bench: missing ${missing.join('; ')}`);
  process.exit(1);
}

const failed = [];
for (const { title, cmd, args } of runs) {
  console.log(`\n== ${title}`);
  const result = spawnSync(cmd, args, { stdio: 'inherit' });
  if (result.status !== 0) failed.push(`${title} (exit ${result.status ?? result.signal})`);
}
if (failed.length > 0) {
  console.error(`\nbench: failed: ${failed.join(', ')}`);
  process.exit(1);
}
