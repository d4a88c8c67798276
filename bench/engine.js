// Single-engine throughput: negCLIPLoss GFLOP/s and NormSim candidates/s (issue 2's figures).
// Usage: node bench/engine.js [--threads N] [--simd baseline|relaxed] [--quick]
import process from 'node:process';
import { createEngine } from '../dist/lib/index.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const threads = option('threads', '1') === 'auto' ? 'auto' : Number(option('threads', '1'));
const simd = option('simd', 'baseline');
const quick = args.includes('--quick');

function rows(n, dim, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const v = s / 2 ** 32 - 0.5;
      out[r * dim + k] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let k = 0; k < dim; k++) out[r * dim + k] /= norm;
  }
  return out;
}

function toHalf(f) {
  // Truncating f32 → f16 is enough for benchmark inputs.
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  const out = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const x = u[i],
      e = ((x >>> 23) & 0xff) - 112;
    out[i] = ((x >>> 16) & 0x8000) | (e <= 0 ? 0 : (e << 10) | ((x >>> 13) & 0x3ff));
  }
  return out;
}

async function time(fn, minSeconds = 2) {
  await fn(); // warm-up: compiles the kernels' hot paths
  let runs = 0;
  const start = performance.now();
  do {
    await fn();
    runs++;
  } while ((performance.now() - start) / 1000 < minSeconds);
  return (performance.now() - start) / 1000 / runs;
}

const engine = await createEngine({ threads, simd });
const info = engine.info();
console.log(`engine: ${info.runtime}, ${info.threads} thread(s), ${info.simd} SIMD`);

const dim = 768;
for (const n of quick ? [4096] : [4096, 8192]) {
  for (const half of [false, true]) {
    const img = rows(n, dim, 1),
      txt = rows(n, dim, 2);
    const a = { data: half ? toHalf(img) : img, rows: n, dim };
    const b = { data: half ? toHalf(txt) : txt, rows: n, dim };
    const seconds = await time(() => engine.negClipLoss(a, b, { batchSize: n, repeats: 1 }));
    const gflops = (2 * n * n * dim) / seconds / 1e9;
    console.log(
      `negCLIPLoss rows = batch = ${n}, dim ${dim}, ${half ? 'f16' : 'f32'}: ${(seconds * 1000).toFixed(0)} ms, ${gflops.toFixed(1)} GFLOP/s`,
    );
  }
}

const candidates = quick ? 20_000 : 100_000;
const cand = { data: toHalf(rows(candidates, dim, 3)), rows: candidates, dim };
const tgt = { data: toHalf(rows(10_000, dim, 4)), rows: 10_000, dim };
for (const p of [2, Infinity]) {
  const prepStart = performance.now();
  const target = await engine.prepareTarget(tgt, { p });
  const prep = (performance.now() - prepStart) / 1000;
  const seconds = await time(() => engine.normSim(cand, target), 1);
  console.log(
    `NormSim_${p === Infinity ? 'inf' : p}: ${candidates} f16 candidates vs 10000-row target, dim ${dim}: ` +
      `${(candidates / seconds).toFixed(0)} candidates/s (prepare ${prep.toFixed(2)} s)`,
  );
}
await engine.close();
