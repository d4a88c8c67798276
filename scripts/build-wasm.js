// Builds the four kernel variants into dist/wasm: {baseline, relaxed} SIMD × {private, shared} memory.
// asc compiles AssemblyScript; binaryen's wasm-opt (the npm `binaryen` package ships the binary;
// the npm `wasm-opt` package would download one at install and fails offline) optimises.
import { mkdirSync, statSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const wasmOpt = join(dirname(require.resolve('binaryen/package.json')), 'bin', 'wasm-opt');
const out = 'dist/wasm';
mkdirSync(out, { recursive: true });

const MAX_PAGES = 65536; // 4 GiB, the wasm32 limit
const variants = [
  { name: 'baseline', relaxed: false, shared: false },
  { name: 'relaxed', relaxed: true, shared: false },
  { name: 'baseline.shared', relaxed: false, shared: true },
  { name: 'relaxed.shared', relaxed: true, shared: true },
];

function run(cmd, args) {
  const result = spawnSync(cmd, args, { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
}

function runAsync(cmd, args) {
  return new Promise((resolve, reject) => {
    spawn(cmd, args, { stdio: 'inherit' }).on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed`)),
    );
  });
}

async function build(v) {
  const file = join(out, `clipsift.${v.name}.wasm`);
  const features = ['simd', ...(v.relaxed ? ['relaxed-simd'] : []), ...(v.shared ? ['threads'] : [])];
  await runAsync(process.execPath, [
    asc,
    'assembly/index.ts',
    '--outFile',
    file,
    '--runtime',
    'stub',
    '--noAssert',
    '--optimizeLevel',
    '3',
    '--shrinkLevel',
    '0',
    '--use',
    'abort=',
    ...features.flatMap((f) => ['--enable', f]),
    '--initialMemory',
    '1',
    '--maximumMemory',
    String(MAX_PAGES),
    ...(v.shared ? ['--sharedMemory', '--importMemory'] : []),
  ]);
  const optFeatures = [
    'simd',
    'bulk-memory',
    'sign-ext',
    'nontrapping-float-to-int',
    'mutable-globals',
    ...(v.relaxed ? ['relaxed-simd'] : []),
    ...(v.shared ? ['threads'] : []),
  ];
  run(wasmOpt, [file, '-O3', ...optFeatures.map((f) => `--enable-${f}`), '-o', file]);
  console.error(`wasm: ${file} ${statSync(file).size} bytes`);
}

// Two at a time: asc is single-threaded and the machines have two cores.
for (let i = 0; i < variants.length; i += 2) await Promise.all(variants.slice(i, i + 2).map(build));
