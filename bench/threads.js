// negCLIPLoss throughput at 1 and 2 threads, baseline and relaxed SIMD, precision f32 and i16 side by
// side, and (from Node, where python3 has numpy) numpy's float32 negCLIPLoss at the same thread counts
// with the ratio, in Node or Deno:
//   node bench/threads.js            deno run -A bench/threads.js
// Options: --rows N (default 8192; batch = rows), --dim D (768), --runs K (3, best of), --threads 1,2
// GFLOP/s counts the similarity matrix only: 2·rows·batch·dim flops per repeat.
// From Node it then runs itself in Deno too (unless --no-deno), so one command prints every figure.
// Run `npm run build` first: it measures the package's build in dist/.
import { createEngine } from '../dist/lib/index.js';
import { bestOf } from './best-of.js';

const isDeno = typeof globalThis.Deno === 'object';
const argv = isDeno ? globalThis.Deno.args : globalThis.process.argv.slice(2);

/** Reads `--name value` from the command line. */
function option(name, fallback) {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < argv.length ? argv[at + 1] : fallback;
}

/** Seeded, L2-normalised rows (xorshift32 uniforms; the values do not matter, only the shape). */
function randomRows(rows, dim, seed) {
  let state = seed >>> 0 || 1;
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      const v = state / 2 ** 32 - 0.5;
      data[r * dim + k] = v;
      norm += v * v;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let k = 0; k < dim; k++) data[r * dim + k] *= scale;
  }
  return { data, rows, dim };
}

/**
 * Measures negCLIPLoss with rows = batch at each thread count and SIMD variant this runtime can
 * run; returns one record per setup (best of `runs` after a warm-up call).
 */
export async function benchThreads({ rows = 8192, dim = 768, runs = 3, threads = [1, 2], log = () => {} } = {}) {
  const img = randomRows(rows, dim, 1);
  const txt = randomRows(rows, dim, 2);
  const flops = 2 * rows * rows * dim;
  const results = [];
  const numpy = isDeno ? null : await import('./numpy.js');
  for (const simd of ['baseline', 'relaxed']) {
    for (const count of threads) {
      let engine;
      try {
        engine = await createEngine({ threads: count, simd });
      } catch (error) {
        log(`${simd} ${count} thread(s): not available here (${error.message})`);
        continue;
      }
      try {
        const info = engine.info();
        // numpy at the same thread count (Node with numpy only), interleaved with ours.
        const nps = numpy ? await numpy.openNumpySetups({ rows, dim, threads: info.threads }) : [];
        const calls = [
          ...['f32', 'i16'].map(
            (precision) => () => engine.negClipLoss(img, txt, { batchSize: rows, repeats: 1, precision }),
          ),
          ...nps.map(({ np }) => np.run),
        ];
        // Interleaved, best of `runs` (bench/best-of.js); numpy reports its own seconds.
        const best = await bestOf(calls, runs);
        for (const { np } of nps) np.close();
        const record = (precision, seconds) => ({
          runtime: info.runtime,
          simd: info.simd,
          threads: info.threads,
          precision,
          rows,
          dim,
          seconds,
          gflops: flops / seconds / 1e9,
        });
        const [f32, i16] = [record('f32', best[0]), record('i16', best[1])];
        results.push(f32, i16);
        const numpyText = nps
          .map(({ label }, i) => {
            const gflops = flops / best[2 + i] / 1e9;
            return `; ${label} ${gflops.toFixed(1)} GFLOP/s (i16 = ${(i16.gflops / gflops).toFixed(2)}×)`;
          })
          .join('');
        log(
          `${info.runtime.padEnd(5)} ${info.simd.padEnd(8)} ${String(info.threads).padStart(2)} thread(s)  ` +
            `f32 ${f32.gflops.toFixed(1).padStart(6)}  i16 ${i16.gflops.toFixed(1).padStart(6)} GFLOP/s ` +
            `(i16 = ${(i16.gflops / f32.gflops).toFixed(2)}× f32)${numpyText}`,
        );
      } finally {
        await engine.close();
      }
    }
  }
  // Speed-up of each variant's largest thread count over its one thread.
  for (const simd of ['baseline', 'relaxed']) {
    for (const precision of ['f32', 'i16']) {
      const mine = results.filter((r) => r.simd === simd && r.precision === precision);
      const one = mine.find((r) => r.threads === 1);
      const most = mine.reduce((a, b) => (b.threads > (a?.threads ?? 0) ? b : a), undefined);
      if (one && most && most !== one)
        log(`${simd} ${precision}: ${most.threads} threads = ${(most.gflops / one.gflops).toFixed(2)}× one thread`);
    }
  }
  return results;
}

const invokedDirectly = isDeno ? import.meta.main : await isNodeMain();

/** Whether Node was started on this file (rather than importing it for benchThreads). */
async function isNodeMain() {
  const script = globalThis.process.argv[1];
  if (script === undefined) return false;
  const { resolve } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  return fileURLToPath(import.meta.url) === resolve(script);
}
if (invokedDirectly) {
  const rows = Number(option('rows', '8192'));
  const dim = Number(option('dim', '768'));
  const runs = Number(option('runs', '3'));
  const threads = option('threads', '1,2').split(',').map(Number);
  console.log(`negCLIPLoss, rows = batch = ${rows}, dim ${dim}: GFLOP/s = 2·rows·batch·dim / time, best of ${runs}`);
  console.log(
    'targets (issue 3): 2 threads ≥ 1.8× one; Node baseline 2 threads ≥ 55 GFLOP/s; Deno relaxed 2 threads ≥ 70 GFLOP/s',
  );
  console.log(
    'targets (issue 11): i16 ≥ 1.0× numpy on one thread, ≥ 1.2× on two (≈ 70 and ≈ 130 GFLOP/s as the issue gives them)',
  );
  await benchThreads({ rows, dim, runs, threads, log: (line) => console.log(line) });
  if (!isDeno && !argv.includes('--no-deno')) await alsoInDeno();
}

/** From Node, runs the same bench in Deno (from the npm `deno` package), where relaxed SIMD runs. */
async function alsoInDeno() {
  const { existsSync } = await import('node:fs');
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
  if (!existsSync(deno)) return console.log('(deno not installed: no Deno figures)');
  console.log('');
  spawnSync(deno, ['run', '-A', fileURLToPath(import.meta.url), ...argv, '--no-deno'], { stdio: 'inherit' });
}
