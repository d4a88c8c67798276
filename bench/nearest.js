// The nearest-centroid search of select --image-based's k-means (engine.nearestCentroids): random
// rows and centroids, best of --runs, row-centroid pairs per second and the useful GFLOP/s
// (2·rows·centroids·dim; the Gram kernel it runs on computes about twice that), and what one k-means
// round over DataComp small (12.8 M rows, 100,000 clusters) would take at that rate on one machine.
// Usage: node bench/nearest.js [--rows 16384] [--centroids 4096] [--dim 768] [--threads 1] [--runs 2]
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '16384' },
    centroids: { type: 'string', default: '4096' },
    dim: { type: 'string', default: '768' },
    threads: { type: 'string', default: '1' },
    runs: { type: 'string', default: '2' },
  },
});
const [n, k, dim, threads, runs] = ['rows', 'centroids', 'dim', 'threads', 'runs'].map((name) => Number(values[name]));
const { createEngine } = await import(new URL('../dist/lib/index.js', import.meta.url).href);
let seed = 1;
const random = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32 - 0.5;
};
const rows = { data: Float32Array.from({ length: n * dim }, random), rows: n, dim };
const centroids = { data: Float32Array.from({ length: k * dim }, random), rows: k, dim };
const engine = await createEngine({ threads, simd: 'baseline' });
let best = Infinity;
try {
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    await engine.nearestCentroids(rows, centroids);
    best = Math.min(best, (performance.now() - start) / 1000);
  }
} finally {
  await engine.close();
}
const pairs = (n * k) / best;
console.log(
  `nearestCentroids ${n} rows × ${k} centroids × dim ${dim}, ${threads} thread${threads === 1 ? '' : 's'}: ` +
    `${best.toFixed(2)} s, ${(pairs / 1e6).toFixed(1)} M pairs/s, ${((2 * pairs * dim) / 1e9).toFixed(1)} useful GFLOP/s; ` +
    `one k-means round of DataComp small (12.8 M × 100,000) ≈ ${((12.8e6 * 1e5) / pairs / 3600).toFixed(0)} machine-hours`,
);
