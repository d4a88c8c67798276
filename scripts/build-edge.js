// Bundles the edge function into dist/edge/ for workerd (handler.js + wrangler.toml) and for
// `deno serve` (deno.js). The kernel .wasm, the NormSim target rows (target.npy, for p = ∞) and their
// Gram matrix (target.gram.bin, for p = 2) stay external imports and are written next to the bundles:
// workerd compiles the wasm at deploy time ("CompiledWasm" rule) and loads the other two as Data
// modules; Deno reads all three at start-up.
//
// G = TᵀT is computed here with the built engine (dist/lib, so scripts/build-lib.js runs first), one
// thread and the baseline build as in the edge function. target.gram.bin is a 16-byte header — the
// ASCII magic "CSGRAM01", then rows and dim as little-endian uint32 — followed by the dim × dim
// row-major float64 values of G, little-endian (src/edge/target.ts reads it). A target of at most dim
// rows ships the header alone: the engine scores p = 2 from such rows directly (Σ (x·t)², cheaper
// than d² and exact per product, where xᵀGx in float32 loses low bits on a rank-deficient G).
//
// CLIPSIFT_EDGE_TARGET=path/to/target.npy swaps the bundled target (see src/edge/targets/README.md).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/edge`;
const kernels = `${root}dist/wasm/clipsift.baseline.wasm`;
const target = process.env.CLIPSIFT_EDGE_TARGET ?? `${root}src/edge/targets/laion-aesthetic-l14.npy`;

const lib = `${root}dist/lib/index.js`;
const hints = {
  kernels: ' (run scripts/build-wasm.js first)',
  engine: ' (run scripts/build-lib.js first)',
  target: '',
};
for (const [what, path] of [
  ['kernels', kernels],
  ['engine', lib],
  ['target', target],
]) {
  if (!existsSync(path)) {
    console.error(`build-edge: ${what} ${path} not found${hints[what]}`);
    process.exit(1);
  }
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const common = {
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  mainFields: ['module', 'main'],
  // Packages' builds for workers and browsers (hyparquet's without its node:fs file reader): edge
  // runtimes are fetch-and-web-streams runtimes, as Cloudflare's own bundler resolves them.
  conditions: ['workerd', 'worker', 'browser'],
  logLevel: 'warning',
};

// The engine and io import node:* only dynamically, behind runtime checks that edge runtimes never
// pass (Node file loading, worker_threads). workerd refuses to load a bundle that names a node:
// module without the nodejs_compat flag, so for workerd those imports resolve to a stub that fails
// loudly if it is ever reached; Deno has node:* built in and keeps them.
const nodeBuiltinsUnavailable = {
  name: 'node-builtins-unavailable',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-unavailable' }));
    build.onLoad({ filter: /.*/, namespace: 'node-unavailable' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not available in this runtime`)});`,
      loader: 'js',
    }));
  },
};

await build({
  ...common,
  entryPoints: { handler: `${root}src/edge/handler.ts` },
  external: ['*.wasm', '*.npy', '*.bin'],
  plugins: [nodeBuiltinsUnavailable],
});
await build({
  ...common,
  entryPoints: { deno: `${root}src/edge/deno.ts` },
  external: ['*.wasm', '*.npy', '*.bin', 'node:*'],
});
copyFileSync(kernels, `${out}/clipsift.baseline.wasm`);
copyFileSync(target, `${out}/target.npy`);
writeFileSync(`${out}/target.gram.bin`, await gramFile(target));
copyFileSync(`${root}wrangler.toml`, `${out}/wrangler.toml`);

/** target.gram.bin for the target .npy at `path`: the header, then G = TᵀT (see the top of this file). */
async function gramFile(path) {
  const { createEngine } = await import(pathToFileURL(lib).href);
  const { openNpy } = await import(pathToFileURL(`${root}dist/lib/io/npy.js`).href);
  const { bytesSource } = await import(pathToFileURL(`${root}dist/lib/io/source.js`).href);
  const npy = await openNpy(bytesSource(path, new Uint8Array(readFileSync(path))));
  const rows = { data: await npy.readRows(0, npy.rows), rows: npy.rows, dim: npy.dim };
  if (rows.rows <= rows.dim) return gramHeader(rows.rows, rows.dim, 0);
  const engine = await createEngine({ threads: 1, simd: 'baseline' });
  let gram;
  try {
    gram = await engine.gramMatrix(rows);
  } finally {
    await engine.close();
  }
  const bytes = gramHeader(rows.rows, rows.dim, gram.length);
  const view = new DataView(bytes.buffer);
  gram.forEach((value, i) => {
    view.setFloat64(16 + i * 8, value, true);
  });
  return bytes;
}

function gramHeader(rows, dim, values) {
  const bytes = new Uint8Array(16 + values * 8);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode('CSGRAM01'));
  view.setUint32(8, rows, true);
  view.setUint32(12, dim, true);
  return bytes;
}
