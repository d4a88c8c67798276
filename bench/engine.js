// Single-engine throughput: negCLIPLoss GFLOP/s and NormSim candidates/s, precision f32 and i16 side
// by side in the same run, and (from Node, where python3 has numpy) numpy's float32 negCLIPLoss at the
// same thread count with the ratio. Speeds are compared as ratios within one run, best of several,
// interleaving the setups (numpy's calls too, in a python process kept open) so a noisy neighbour
// slows them alike.
// Usage: node bench/engine.js [--threads N] [--simd baseline|relaxed] [--quick] [--runs K] [--candidates N]
import process from 'node:process';
import { createEngine } from '../dist/lib/index.js';
import { bestOf } from './best-of.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const threads = option('threads', '1') === 'auto' ? 'auto' : Number(option('threads', '1'));
const simd = option('simd', 'baseline');
const quick = args.includes('--quick');
const runs = Number(option('runs', '3'));
const isDeno = typeof globalThis.Deno === 'object';

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

const engine = await createEngine({ threads, simd });
const info = engine.info();
console.log(`engine: ${info.runtime}, ${info.threads} thread(s), ${info.simd} SIMD; best of ${runs}`);
const numpy = isDeno ? null : await import('./numpy.js');
const withNumpy = numpy?.hasNumpy() ?? false;
if (!isDeno && !withNumpy) console.log('(python3 with numpy not found: no numpy figures)');

const dim = 768;
for (const n of quick ? [4096] : [4096, 8192]) {
  for (const half of [false, true]) {
    const img = rows(n, dim, 1),
      txt = rows(n, dim, 2);
    const a = { data: half ? toHalf(img) : img, rows: n, dim };
    const b = { data: half ? toHalf(txt) : txt, rows: n, dim };
    // numpy (float32 input only, as numpy has it) runs interleaved with ours, in its own processes.
    const nps = withNumpy && !half ? await numpy.openNumpySetups({ rows: n, dim, threads: info.threads }) : [];
    const setups = ['f32', 'i16'].map(
      (precision) => () => engine.negClipLoss(a, b, { batchSize: n, repeats: 1, precision }),
    );
    const [f32, i16, ...npSeconds] = await bestOf([...setups, ...nps.map(({ np }) => np.run)], runs);
    for (const { np } of nps) np.close();
    const gflops = (seconds) => (2 * n * n * dim) / seconds / 1e9;
    let line =
      `negCLIPLoss rows = batch = ${n}, dim ${dim}, ${half ? 'f16' : 'f32'} input: ` +
      `f32 ${gflops(f32).toFixed(1)} GFLOP/s, i16 ${gflops(i16).toFixed(1)} GFLOP/s (i16 = ${(f32 / i16).toFixed(2)}× f32)`;
    nps.forEach(({ label }, i) => {
      line += `; ${label} ${gflops(npSeconds[i]).toFixed(1)} GFLOP/s (i16 = ${(npSeconds[i] / i16).toFixed(2)}×)`;
    });
    console.log(line);
  }
}

const candidates = Number(option('candidates', quick ? '20000' : '100000'));
const cand = { data: toHalf(rows(candidates, dim, 3)), rows: candidates, dim };
const tgt = { data: toHalf(rows(10_000, dim, 4)), rows: 10_000, dim };
for (const p of [2, Infinity]) {
  const prepStart = performance.now();
  const target = await engine.prepareTarget(tgt, { p });
  const prep = (performance.now() - prepStart) / 1000;
  const [f32, i16] = await bestOf(
    ['f32', 'i16'].map((precision) => () => engine.normSim(cand, target, { precision })),
    runs,
  );
  console.log(
    `NormSim_${p === Infinity ? 'inf' : p}: ${candidates} f16 candidates vs 10000-row target, dim ${dim}: ` +
      `f32 ${(candidates / f32).toFixed(0)}, i16 ${(candidates / i16).toFixed(0)} candidates/s ` +
      `(i16 = ${(f32 / i16).toFixed(2)}× f32; prepare ${prep.toFixed(2)} s)`,
  );
}
await engine.close();
