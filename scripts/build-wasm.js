// Builds the kernels with asc, one asconfig.json target per variant (every compiler option lives
// there): {baseline, relaxed} SIMD × {private, shared} memory into dist/wasm.
//   node scripts/build-wasm.js          the four release variants
//   node scripts/build-wasm.js debug    build/debug/clipsift.debug.wasm: assertions on, debug names,
//                                       plus assembly/testing.ts (thin wrappers the kernel tests call)
// No separate wasm-opt pass: asc -O3 already runs Binaryen's optimiser. Measured on these kernels, a
// second `wasm-opt -O3` over asc's output changed only the order of function locals (same instructions,
// same size) and negCLIPLoss timed the same within run-to-run noise, so it bought nothing.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const config = JSON.parse(
  await import('node:fs/promises').then((fs) => fs.readFile(new URL('../asconfig.json', import.meta.url), 'utf8')),
);

const release = ['baseline', 'relaxed', 'baseline.shared', 'relaxed.shared'];
const debug = process.argv[2] === 'debug';
const targets = debug ? ['debug'] : release;

function run(args) {
  return new Promise((resolve, reject) => {
    spawn(process.execPath, [asc, ...args], { stdio: 'inherit' }).on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`asc ${args.join(' ')} failed`)),
    );
  });
}

async function build(target) {
  if (!config.targets[target]) throw new Error(`asconfig.json has no target ${target}`);
  await run(['--target', target, ...(target === 'debug' ? ['assembly/testing.ts'] : [])]);
  const file = config.targets[target].outFile;
  console.error(`wasm: ${file} ${statSync(file).size} bytes`);
}

// Two at a time: asc is single-threaded and the machines have two cores.
for (let i = 0; i < targets.length; i += 2) await Promise.all(targets.slice(i, i + 2).map(build));
