// Tile shapes of the GEMM micro-kernels, measured: which MR x NR to write as the engine's kernel.
// For each shape this generates an AssemblyScript micro-kernel in the engine's panel layout (int16:
// k in pairs, i32x4.dot_i16x8_s; float32: one k per group, mul + add), compiles them together with
// asc -O3 (SIMD, no relaxed ops), and times the engine's strip loop over them (tile.ts: a block of 128
// LHS rows against 32 RHS rows, dim 768, panels in L1/L2 as in a real strip), best of several
// interleaved runs. Prints multiply-adds per second and the ratio to the engine's kernels (4 x 8).
// The int32 accumulation registers are MR·NR/4 v128s, the B loads NR/4 and one A broadcast: shapes
// whose total passes the 16 vector registers of x86-64 spill (what the figures show). Last, what bounds
// the engine's int16 tile: the same loop with its B panel, then its A broadcasts, held in registers
// instead of loaded (the same rate means the dot + add issue bounds it, not memory), and, where python3
// has numpy, numpy's float32 GEMM alone (OpenBLAS, no log-sum-exp) on 4096 x 4096 x dim in the same run.
// Usage: node bench/tiles.js [--runs K] [--dim D]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { setFlagsFromString } from 'node:v8';
import { openNumpySetups } from './numpy.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const runs = option('runs', 5);
const dim = option('dim', 768);
const BLOCK_ROWS = 128;
const STRIP_COLS = 32;
const SHAPES = [
  [4, 8],
  [2, 8],
  [4, 4],
  [8, 4],
  [6, 8],
  [8, 8],
  [4, 16],
  [2, 16],
];

/**
 * AssemblyScript source of one micro-kernel: element 'i16' or 'f32', MR rows, NR columns. `hold` 'b' (or
 * 'a') loads the B vectors (or A broadcasts) once before the k loop instead of at every k: the same
 * arithmetic without those loads, named with a suffix `_hold_b` (`_hold_a`).
 */
function kernel(element, mr, nr, hold = '') {
  const vectors = nr / 4;
  const kr = element === 'i16' ? 2 : 1;
  const name = `${mr}x${nr}${hold ? `_hold_${hold}` : ''}`;
  const bLoads = Array.from({ length: vectors }, (_, v) => `const b${v} = v128.load(b, ${v * 16});`);
  const aLoads = Array.from({ length: mr }, (_, r) => `const a${r} = v128.load32_splat(a, ${r * 4});`);
  const lines = [`export function ${element}_gemm_${name}(a: usize, b: usize, kc: i32, c: usize, ldc: usize): void {`];
  if (hold === 'b') lines.push(...bLoads.map((l) => `  ${l}`));
  if (hold === 'a') lines.push(...aLoads.map((l) => `  ${l}`));
  for (let r = 0; r < mr; r++)
    for (let v = 0; v < vectors; v++)
      lines.push(`  let c${r}_${v} = ${element === 'i16' ? 'i32x4' : 'f32x4'}.splat(0);`);
  lines.push(`  const steps = (kc + ${kr - 1}) / ${kr};`, '  for (let j = 0; j < steps; j++) {');
  if (hold !== 'b') lines.push(...bLoads.map((l) => `    ${l}`));
  for (let r = 0; r < mr; r++) {
    if (hold !== 'a') lines.push(`    ${aLoads[r]}`);
    for (let v = 0; v < vectors; v++)
      lines.push(
        element === 'i16'
          ? `    c${r}_${v} = i32x4.add(c${r}_${v}, i32x4.dot_i16x8_s(a${r}, b${v}));`
          : `    c${r}_${v} = f32x4.add(c${r}_${v}, f32x4.mul(a${r}, b${v}));`,
      );
  }
  lines.push(`    a += ${mr * 4};`, `    b += ${nr * 4};`, '  }');
  for (let r = 0; r < mr; r++)
    for (let v = 0; v < vectors; v++) {
      const value = element === 'i16' ? `f32x4.convert_i32x4_s(c${r}_${v})` : `c${r}_${v}`;
      lines.push(`  v128.store(c + ${r} * ldc, ${value}, ${v * 16});`);
    }
  lines.push('}');
  // The strip loop of tile.ts over this kernel: BLOCK_ROWS x STRIP_COLS, panels laid out back to back.
  const rowsPadded = Math.ceil(BLOCK_ROWS / mr) * mr;
  lines.push(
    `export function ${element}_strip_${name}(lhs: usize, rhs: usize, dim: i32, strip: usize): void {`,
    `  const steps = (dim + ${kr - 1}) / ${kr};`,
    `  const lhsPanel = <usize>steps * ${mr * 4};`,
    `  const rhsPanel = <usize>steps * ${nr * 4};`,
    `  for (let cp = 0; cp < ${STRIP_COLS / nr}; cp++) {`,
    `    for (let rp = 0; rp < ${rowsPadded / mr}; rp++) {`,
    `      ${element}_gemm_${name}(lhs + <usize>rp * lhsPanel, rhs + <usize>cp * rhsPanel, dim, strip + <usize>(rp * ${mr}) * ${STRIP_COLS * 4} + <usize>(cp * ${nr * 4}), ${STRIP_COLS * 4});`,
    '    }',
    '  }',
    '}',
  );
  return lines.join('\n');
}

// The engine's int16 tile, as the built module exports it (the shape is written once, in assembly/).
const engineWasm = readFileSync(fileURLToPath(new URL('../dist/wasm/clipsift.baseline.wasm', import.meta.url)));
const engineExports = (await WebAssembly.instantiate(engineWasm, {})).instance.exports;
const ENGINE_I16 = [engineExports.i16_gemm_mr(), engineExports.i16_gemm_nr()];

const require = createRequire(import.meta.url);
const asc = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
const work = mkdtempSync(join(tmpdir(), 'clipsift-tiles-'));
try {
  const held = ['b', 'a'];
  const source = [
    ...SHAPES.flatMap(([mr, nr]) => [kernel('i16', mr, nr), kernel('f32', mr, nr)]),
    ...held.map((hold) => kernel('i16', ...ENGINE_I16, hold)),
  ].join('\n\n');
  writeFileSync(join(work, 'tiles.ts'), source);
  const built = spawnSync(
    process.execPath,
    [
      asc,
      join(work, 'tiles.ts'),
      '-O3',
      '--runtime',
      'stub',
      '--enable',
      'simd',
      '--initialMemory',
      '256',
      '--noAssert',
      '-o',
      join(work, 'tiles.wasm'),
    ],
    { stdio: 'inherit' },
  );
  if (built.status !== 0) throw new Error('asc failed on the generated kernels');
  // Optimised code from the start: with tiering, a kernel called only a few times may be timed in Liftoff.
  setFlagsFromString('--no-liftoff');
  const { instance } = await WebAssembly.instantiate(readFileSync(join(work, 'tiles.wasm')), {
    env: {
      abort: () => {
        throw new Error('abort in the generated kernels');
      },
    },
  });
  const x = instance.exports;
  // Operands per element type: pseudo-random int16 in ±8191, or float32 in ±1 (no subnormals, which
  // would time the CPU's slow path instead of the kernel).
  const span = BLOCK_ROWS * 2 * dim * 4 + 4096;
  const base = { i16: 1 << 20, f32: (1 << 20) + 4 * span };
  let seed = 1;
  const next = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32 - 0.5;
  };
  const i16 = new Int16Array(x.memory.buffer, base.i16, (3 * span) / 2);
  for (let i = 0; i < i16.length; i++) i16[i] = Math.round(next() * 16382);
  const f32 = new Float32Array(x.memory.buffer, base.f32, (3 * span) / 4);
  for (let i = 0; i < f32.length; i++) f32[i] = next() * 2;
  const at = (element) => ({ lhs: base[element], rhs: base[element] + span, strip: base[element] + 2 * span });
  const macs = BLOCK_ROWS * STRIP_COLS * dim;
  const repeat = Math.max(1, Math.round(2e9 / macs / 40));
  const setups = [
    ...SHAPES.flatMap(([mr, nr]) => ['i16', 'f32'].map((element) => ({ element, mr, nr, hold: '' }))),
    ...held.map((hold) => ({ element: 'i16', mr: ENGINE_I16[0], nr: ENGINE_I16[1], hold })),
  ].map((s) => {
    const name = `${s.mr}x${s.nr}${s.hold ? `_hold_${s.hold}` : ''}`;
    return { ...s, fn: x[`${s.element}_strip_${name}`], best: Infinity, ...at(s.element) };
  });
  // numpy's float32 GEMM alone, 4096 x 4096 x dim, one thread, per OpenBLAS setup (see numpy.js).
  const npRows = 4096;
  const nps = await openNumpySetups({ rows: npRows, dim, threads: 1, op: 'gemm' });
  for (const s of setups) s.fn(s.lhs, s.rhs, dim, s.strip); // warm-up
  for (let run = 0; run < runs; run++) {
    for (const s of setups) {
      const start = performance.now();
      for (let i = 0; i < repeat; i++) s.fn(s.lhs, s.rhs, dim, s.strip);
      s.best = Math.min(s.best, (performance.now() - start) / 1000);
    }
    for (const n of nps) n.best = Math.min(n.best ?? Infinity, await n.np.run());
  }
  for (const { np } of nps) np.close();
  const rate = (s) => (macs * repeat) / s.best / 1e9;
  const shapes = setups.filter((s) => !s.hold);
  const reference = Object.fromEntries(shapes.filter((s) => s.mr === 4 && s.nr === 8).map((s) => [s.element, rate(s)]));
  console.log(`GEMM tile shapes: strip of ${BLOCK_ROWS} x ${STRIP_COLS}, dim ${dim}, one thread, best of ${runs}`);
  for (const element of ['i16', 'f32']) {
    for (const s of shapes.filter((t) => t.element === element)) {
      const registers = (s.mr * s.nr) / 4 + s.nr / 4 + 1;
      console.log(
        `${element} ${s.mr}x${s.nr}: ${rate(s).toFixed(1)} GMAC/s (${(rate(s) / reference[element]).toFixed(2)}x the 4x8; ${registers} vector registers)`,
      );
    }
  }
  console.log(`i16 4x8 / f32 4x8: ${(reference.i16 / reference.f32).toFixed(2)}x`);
  // What bounds the engine's tile: its loads, or its dot + add issue.
  const engineTile = rate(shapes.find((s) => s.element === 'i16' && s.mr === ENGINE_I16[0] && s.nr === ENGINE_I16[1]));
  const shape = ENGINE_I16.join('x');
  const heldSetups = setups.filter((s) => s.hold);
  const heldRates = heldSetups.map(
    (s) => `${s.hold === 'b' ? 'B' : 'A'} ${rate(s).toFixed(1)} GMAC/s (${(rate(s) / engineTile).toFixed(2)}x)`,
  );
  // Within 5 %: what the loads cost is below this bench's run-to-run noise.
  const loadBound = heldSetups.some((s) => rate(s) > 1.05 * engineTile);
  console.log(
    `i16 ${shape} (the engine's tile) with operands held in registers instead of loaded: ${heldRates.join(', ')}: ` +
      (loadBound
        ? 'faster without its loads, so memory bounds the tile here.'
        : 'within 5 % of loading them, so the tile is bound by its dot + add issue, not by its loads.'),
  );
  for (const n of nps) {
    const gmacs = (npRows * npRows * dim) / n.best / 1e9;
    console.log(
      `${n.label}: float32 GEMM alone ${npRows} x ${npRows} x ${dim}, one thread: ${gmacs.toFixed(1)} GMAC/s ` +
        `(the engine's i16 tile = ${(engineTile / gmacs).toFixed(2)}x)`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
