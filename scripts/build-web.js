// Builds the browser demo into dist/web/:
//   index.html, app.css (ours + uPlot's)
//   assets/app.js           the page (src/web/main.ts)
//   assets/score-worker.js  the scoring worker (engine + io + sample pool)
//   assets/engine-worker.js the engine's thread-pool worker (src/engine/worker.ts), passed as workerUrl
//   wasm/*.wasm             the kernel builds
// The engine finds its kernels at new URL('../../wasm/<file>', import.meta.url). Inside a bundle
// import.meta.url is the bundle's own URL, so with the bundles one level down (assets/) that resolves
// to /wasm/<file>: the same relative layout as dist/lib/engine → dist/wasm.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web`;
const wasmDir = `${root}dist/wasm`;
if (!existsSync(wasmDir)) {
  console.error(`build-web: ${wasmDir} not found (run scripts/build-wasm.js first)`);
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });
mkdirSync(`${out}/wasm`, { recursive: true });

await build({
  entryPoints: {
    app: `${root}src/web/main.ts`,
    'score-worker': `${root}src/web/score-worker.ts`,
    'engine-worker': `${root}src/engine/worker.ts`,
  },
  outdir: `${out}/assets`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16.4'],
  // node:* imports sit behind the engine's and io's runtime checks; browsers never reach them.
  external: ['node:*'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});

for (const file of readdirSync(wasmDir))
  if (file.endsWith('.wasm')) copyFileSync(`${wasmDir}/${file}`, `${out}/wasm/${file}`);

const require = createRequire(import.meta.url);
const uplotCss = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
writeFileSync(`${out}/app.css`, `${uplotCss}\n${readFileSync(`${root}src/web/app.css`, 'utf8')}`);
writeFileSync(`${out}/index.html`, readFileSync(`${root}src/web/index.html`, 'utf8'));
