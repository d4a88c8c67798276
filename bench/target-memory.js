// Memory a NormSim_∞ target costs the engine: prepares a synthetic float16 target (default 700k rows
// × 768, ~1 GiB, a shape like an ImageNet target) and prints how much JS-side memory (ArrayBuffers)
// prepareTarget added. Usage: node bench/target-memory.js [rows] [path/to/dist/lib/index.js]
import { pathToFileURL } from 'node:url';

const rows = Number(process.argv[2] ?? 700_000);
const lib = process.argv[3] ?? new URL('../dist/lib/index.js', import.meta.url).href;
const { createEngine } = await import(lib.startsWith('file:') ? lib : pathToFileURL(lib).href);
const dim = 768;
const data = new Uint16Array(rows * dim).fill(0x2c00); // 1/16 in float16
const engine = await createEngine({ threads: 1, simd: 'baseline' });
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const before = process.memoryUsage();
const target = await engine.prepareTarget({ data, rows, dim }, { p: Infinity });
const after = process.memoryUsage();
console.log(
  `target ${rows} × ${dim} float16 = ${mib(data.byteLength)}; prepareTarget added ${mib(after.arrayBuffers - before.arrayBuffers)} of ArrayBuffers, ${mib(after.rss - before.rss)} of RSS`,
);
const x = { data: data.subarray(0, 4 * dim), rows: 4, dim };
await engine.normSim(x, target);
await engine.close();
