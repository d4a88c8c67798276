// Benchmark (not a test): `clipsift select` on a large synthetic pool, for its time and peak RSS.
//
//   node bench/select-scale.js [--rows 128000000] [--file-rows 1000000] [--dir DIR] [--keep] [--write-only]
//                              [--memory-budget MIB]   (select's, default 1024)
//
// --write-only writes the pool into --dir and stops (a later run with the same --dir and --rows reuses it).
//
// Writes score files (uid, negclip_loss, normsim_inf) with the project's own score-file writer into a
// temporary directory (or --dir, reused when it already holds the same rows), then runs
// `select --top negclip_loss:0.3 --top normsim_inf:0.2` in a child process and prints its wall time and
// peak RSS, with the memory model scaled to DataComp-large (1.28B rows) and the goal
// peak RSS <= 1.5 x kept uids' bytes + 256 MiB. Needs `npm run build` first.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '128000000' },
    'file-rows': { type: 'string', default: '1000000' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'write-only': { type: 'boolean', default: false },
    'memory-budget': { type: 'string', default: '1024' },
  },
});
const rows = Number(values.rows);
const fileRows = Number(values['file-rows']);
const root = fileURLToPath(new URL('../', import.meta.url));
const { encodeScoreFile } = await import(join(root, 'dist/lib/io/index.js'));

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'clipsift-select-scale-'));
mkdirSync(dir, { recursive: true });
const files = Math.ceil(rows / fileRows);
const marker = join(dir, `.rows-${rows}-${fileRows}`);

// A small xorshift stream: the same pool for the same --rows on every run.
let state = 0x9e3779b9;
function next32() {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
function uid() {
  let text = '';
  for (let w = 0; w < 4; w++) {
    const v = next32();
    text += HEX[v >>> 24] + HEX[(v >>> 16) & 255] + HEX[(v >>> 8) & 255] + HEX[v & 255];
  }
  return text;
}

if (!existsSync(marker)) {
  const started = performance.now();
  for (const name of readdirSync(dir)) if (name.endsWith('.scores.parquet')) rmSync(join(dir, name));
  for (let f = 0; f < files; f++) {
    const n = Math.min(fileRows, rows - f * fileRows);
    const uids = new Array(n);
    const neg = new Float32Array(n);
    const norm = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      uids[i] = uid();
      // Scores on a grid of 2^-16, so ties at the thresholds are common, as with real float32 scores.
      neg[i] = Math.round((next32() / 2 ** 32) * 65536) / 65536 - 1;
      norm[i] = Math.round((next32() / 2 ** 32) * 65536) / 65536;
    }
    const bytes = encodeScoreFile({ keys: { uid: uids }, scores: { negclip_loss: neg, normsim_inf: norm } });
    writeFileSync(join(dir, `${String(f).padStart(8, '0')}.scores.parquet`), bytes);
    if (f % 8 === 7 || f === files - 1)
      process.stderr.write(
        `\rwrote ${f + 1}/${files} score files (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
  }
  process.stderr.write('\n');
  writeFileSync(marker, '');
}
if (values['write-only']) {
  console.log(`pool of ${rows.toLocaleString('en')} rows written to ${dir}`);
  process.exit(0);
}
const poolBytes = readdirSync(dir)
  .filter((n) => n.endsWith('.scores.parquet'))
  .reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);

// The child reports its own peak RSS (getrusage) after main() returns.
const out = join(dir, 'subset.npy');
const child = `
  const { main } = await import(${JSON.stringify(join(root, 'dist/lib/cli/main.js'))});
  const started = performance.now();
  const code = await main(${JSON.stringify(['select', dir, '--out', out, '--force', '--json', '--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2', '--memory-budget', values['memory-budget']])});
  const seconds = (performance.now() - started) / 1000;
  console.error(JSON.stringify({ code, seconds, maxRssKiB: process.resourceUsage().maxRSS }));
`;
const result = spawnSync(process.execPath, ['--input-type=module', '-e', child], {
  encoding: 'utf8',
  maxBuffer: 1 << 26,
});
if (result.status !== 0) {
  process.stderr.write(result.stderr);
  process.exit(1);
}
const summary = JSON.parse(result.stdout);
const measured = JSON.parse(result.stderr.trim().split('\n').pop());
const MiB = 1024 * 1024;
const keptBytes = summary.keptRows * 16;
const goal = 1.5 * keptBytes + 256 * MiB;
const rss = measured.maxRssKiB * 1024;
// Model: peak = fixed part (runtime, one block decoded, one run being sorted) + the kept uids held in
// memory (16 bytes a row, up to --memory-budget) + one 256 KiB read chunk per spilled run of 512k uids.
const budget = Number(values['memory-budget']) * MiB;
const runBytes = 512 * 1024 * 16;
const held = (kept) => Math.min(kept, budget);
const mergeBuffers = (kept) => Math.max(0, Math.ceil((kept - budget) / runBytes)) * 256 * 1024;
const fixed = rss - held(keptBytes) - mergeBuffers(keptBytes);
const large = 1_280_000_000;
const largeKept = Math.floor(large * 0.2) * 16;
const largePeak = fixed + held(largeKept) + mergeBuffers(largeKept);
console.log(
  `pool: ${rows.toLocaleString('en')} rows in ${files} score files (${(poolBytes / MiB).toFixed(0)} MiB) in ${dir}`,
);
console.log(
  `select --top negclip_loss:0.3 --top normsim_inf:0.2: ${measured.seconds.toFixed(1)} s, ` +
    `kept ${summary.keptRows.toLocaleString('en')} rows (${summary.uids.toLocaleString('en')} uids), ` +
    `thresholds ${summary.steps.map((s) => s.threshold).join(', ')}`,
);
console.log(
  `peak RSS ${(rss / MiB).toFixed(0)} MiB; kept uids ${(keptBytes / MiB).toFixed(0)} MiB; ` +
    `goal <= 1.5 x kept + 256 MiB = ${(goal / MiB).toFixed(0)} MiB: ${rss <= goal ? 'met' : 'NOT met'}`,
);
console.log(
  `model for 1.28B rows (--memory-budget ${values['memory-budget']}): ${(fixed / MiB).toFixed(0)} MiB fixed + ` +
    `${(held(largeKept) / MiB).toFixed(0)} MiB of kept uids in memory (of ${(largeKept / MiB).toFixed(0)} MiB; the rest spilled) + ` +
    `${(mergeBuffers(largeKept) / MiB).toFixed(0)} MiB merge buffers = ${(largePeak / MiB / 1024).toFixed(2)} GiB ` +
    `(goal ${((1.5 * largeKept + 256 * MiB) / MiB / 1024).toFixed(2)} GiB)`,
);
if (!values.keep && !values.dir) rmSync(dir, { recursive: true, force: true });
