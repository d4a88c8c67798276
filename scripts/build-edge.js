// Bundles the edge function into dist/edge/ for workerd (handler.js + wrangler.toml) and for
// `deno serve` (deno.js). The kernel .wasm and the NormSim target .npy stay external imports and are
// copied next to the bundles: workerd compiles the wasm at deploy time ("CompiledWasm" rule), and
// Deno reads both files at start-up.
//
// CLIPSIFT_EDGE_TARGET=path/to/target.npy swaps the bundled target (see src/edge/targets/README.md).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/edge`;
const kernels = `${root}dist/wasm/clipsift.baseline.wasm`;
const target = process.env.CLIPSIFT_EDGE_TARGET ?? `${root}src/edge/targets/laion-aesthetic-l14.npy`;

for (const [what, path] of [['kernels', kernels], ['target', target]]) {
  if (!existsSync(path)) {
    console.error(`build-edge: ${what} ${path} not found${what === 'kernels' ? ' (run scripts/build-wasm.js first)' : ''}`);
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
  external: ['*.wasm', '*.npy'],
  plugins: [nodeBuiltinsUnavailable],
});
await build({
  ...common,
  entryPoints: { deno: `${root}src/edge/deno.ts` },
  external: ['*.wasm', '*.npy', 'node:*'],
});
copyFileSync(kernels, `${out}/clipsift.baseline.wasm`);
copyFileSync(target, `${out}/target.npy`);
copyFileSync(`${root}wrangler.toml`, `${out}/wrangler.toml`);
