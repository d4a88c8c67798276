// `npm run bench`: the engine's figures (issue 2) and, where present, the thread scaling figures
// (issue 3), in Node and in Deno. Benchmarks, not tests: nothing here asserts a speed.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
const extra = process.argv.slice(2);

function run(title, cmd, args) {
  console.log(`\n== ${title}`);
  const result = spawnSync(cmd, args, { stdio: 'inherit' });
  if (result.status !== 0) console.log(`(${title} exited with ${result.status})`);
}

run('engine, Node, 1 thread, baseline SIMD', process.execPath, [here('engine.js'), '--threads', '1', ...extra]);
if (existsSync(deno))
  run('engine, Deno, 1 thread, relaxed SIMD', deno, [
    'run',
    '-A',
    here('engine.js'),
    '--threads',
    '1',
    '--simd',
    'relaxed',
    ...extra,
  ]);
if (existsSync(here('threads.js'))) run('threads', process.execPath, [here('threads.js'), ...extra]);
