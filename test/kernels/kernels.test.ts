// The kernels one by one, through the debug build (`npm run build:debug`: assertions on, plus the thin
// wrappers of assembly/testing.ts), each against an independent reference: float64 products, exact
// integer sums, Math.exp/Math.log, and the numpy-checked float16 decoder.
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { mixSeed, permutation } from 'clipsift';
import { instantiateKernels } from '../../src/engine/load.js';
import type { KernelExports } from '../../src/engine/executor.js';
import { fromFloat16Bits } from '../../src/numeric/float16.js';

const DEBUG_BUILD = new URL('../../build/debug/clipsift.debug.wasm', import.meta.url);

let k: KernelExports;
let memory: WebAssembly.Memory;
let base: number;

beforeAll(async () => {
  if (!existsSync(DEBUG_BUILD)) throw new Error('build/debug/clipsift.debug.wasm is missing: run npm run build:debug');
  const module = await WebAssembly.compile(readFileSync(DEBUG_BUILD));
  ({ kernels: k, memory } = await instantiateKernels(module));
  base = (k.heap_base() + 15) & ~15;
  memory.grow(256); // 16 MiB of scratch
});

/** Bump allocation in wasm memory from the heap base, 16-byte aligned; reset per test. */
function scratch() {
  let at = base;
  return (bytes: number) => {
    const p = at;
    at += (bytes + 15) & ~15;
    if (at > memory.buffer.byteLength) throw new Error('test scratch exhausted');
    return p;
  };
}
const f32 = (p: number, n: number) => new Float32Array(memory.buffer, p, n);
const i32 = (p: number, n: number) => new Int32Array(memory.buffer, p, n);

/** Deterministic uniforms in [-1, 1). */
function uniforms(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Distance in units in the last place between two finite f32 values of the same sign. */
function ulps(a: number, b: number): number {
  const bits = (x: number) => {
    const v = new Float32Array([x]);
    const u = new Int32Array(v.buffer)[0];
    return u < 0 ? 0x80000000 - u : u;
  };
  return Math.abs(bits(a) - bits(b));
}

/** The quantised row and the inverse scale of each of its scale blocks, from the quantiser alone. */
function quantized(row: Float32Array) {
  const take = scratch();
  const src = take(row.length * 4);
  const dst = take(row.length * 4);
  const inv = take(Math.ceil(row.length / k.test_scale_block()) * 4 + 4);
  f32(src, row.length).set(row);
  const blocks = k.test_quantize_row(src, row.length, dst, inv);
  return { q: i32(dst, row.length).slice(), inv: f32(inv, blocks).slice() };
}

/**
 * The i16 GEMM's value for two quantised rows, computed here from the definition: per scale block the
 * exact integer dot, dequantised as (f32(acc) · inv_b) · inv_a in f32, blocks added in k order in f32.
 */
function dequantizedDot(qa: ReturnType<typeof quantized>, qb: ReturnType<typeof quantized>, dim: number): number {
  const block = k.test_scale_block();
  let sum = 0;
  for (let b = 0; b * block < dim; b++) {
    let acc = 0;
    for (let t = b * block; t < Math.min(dim, (b + 1) * block); t++) acc += qa.q[t] * qb.q[t];
    const value = Math.fround(Math.fround(Math.fround(acc) * qb.inv[b]) * qa.inv[b]);
    sum = b === 0 ? value : Math.fround(sum + value);
  }
  return sum;
}

describe('GEMM micro-kernels', () => {
  const mr = () => ({ f32: k.f32_gemm_mr(), i16: k.i16_gemm_mr() });
  const nr = () => ({ f32: k.f32_gemm_nr(), i16: k.i16_gemm_nr() });

  /** Packs one LHS panel of `rows` rows and one RHS panel of `cols` rows, runs the micro-kernel into C. */
  function runTile(
    precision: 'f32' | 'i16',
    a: Float32Array,
    rows: number,
    b: Float32Array,
    cols: number,
    dim: number,
  ) {
    const take = scratch();
    const m = mr()[precision];
    const n = nr()[precision];
    const src = take(Math.max(rows, cols) * dim * 4);
    const lhs = take(k[`${precision}_packed_bytes`](m, dim, m));
    const rhs = take(k[`${precision}_packed_bytes`](n, dim, n));
    const c = take(m * n * 4);
    f32(src, rows * dim).set(a);
    k[`${precision}_pack_lhs_f32`](src, rows, dim, lhs, 0, 1);
    f32(src, cols * dim).set(b);
    k[`${precision}_pack_rhs_f32`](src, cols, dim, rhs, 0, 1);
    k[precision === 'f32' ? 'f32_gemm_4x8_simd' : 'i16_gemm_2x16_simd'](lhs, rhs, dim, c, n * 4);
    return { m, n, c: f32(c, m * n).slice() };
  }

  it('have the tile shapes their file names say (f32 4 x 8, i16 2 x 16)', () => {
    expect([mr().f32, nr().f32, mr().i16, nr().i16]).toEqual([4, 8, 2, 16]);
  });

  // Per element type: the whole tile, a partial one (padding rows and columns), and 1 x 1.
  const TILES = {
    f32: [
      [4, 8],
      [3, 5],
      [1, 1],
    ],
    i16: [
      [2, 16],
      [1, 11],
      [1, 1],
    ],
  };
  for (const dim of [1, 2, 3, 7, 13, 64, 255, 256, 257, 513, 768]) {
    for (const [rows, cols] of TILES.f32) {
      it(`f32: ${rows} x ${cols} rows of dim ${dim} match float64 products; padding rows and columns are 0`, () => {
        const a = uniforms(rows * dim, dim * 31 + rows);
        const b = uniforms(cols * dim, dim * 17 + cols);
        const { m, n, c } = runTile('f32', a, rows, b, cols, dim);
        for (let r = 0; r < m; r++) {
          for (let j = 0; j < n; j++) {
            let want = 0;
            if (r < rows && j < cols) for (let t = 0; t < dim; t++) want += a[r * dim + t] * b[j * dim + t];
            expect(Math.abs(c[r * n + j] - want)).toBeLessThanOrEqual(dim * 2 ** -22 + 1e-30);
          }
        }
      });
    }
    for (const [rows, cols] of TILES.i16) {
      it(`i16: ${rows} x ${cols} rows of dim ${dim} give the exact integer dot of the quantised rows, dequantised`, () => {
        const a = uniforms(rows * dim, dim * 13 + rows);
        const b = uniforms(cols * dim, dim * 7 + cols);
        const qa = Array.from({ length: rows }, (_, r) => quantized(a.subarray(r * dim, (r + 1) * dim)));
        const qb = Array.from({ length: cols }, (_, j) => quantized(b.subarray(j * dim, (j + 1) * dim)));
        const { m, n, c } = runTile('i16', a, rows, b, cols, dim);
        for (let r = 0; r < m; r++) {
          for (let j = 0; j < n; j++) {
            const want = r < rows && j < cols ? dequantizedDot(qa[r], qb[j], dim) : 0;
            expect(c[r * n + j]).toBe(want);
          }
        }
      });
    }
  }

  it('i16: a row against itself, the largest dot its scale allows, does not wrap around', () => {
    for (const dim of [1, 2, 768, 4097]) {
      const row = new Float32Array(dim).fill(1 / Math.sqrt(dim));
      const rows = new Float32Array(16 * dim);
      for (let r = 0; r < 16; r++) rows.set(row, r * dim);
      const { c } = runTile('i16', rows.subarray(0, 2 * dim), 2, rows, 16, dim);
      // No wrap-around: every entry is ‖x‖² = 1 up to the rounding of equal elements, which all move the
      // same way here: each q is off by at most 1/2 of s·x, so x·x is off by at most 1/(s·x) relative,
      // with s·x smallest in a full scale block.
      const n = Math.min(dim, k.test_scale_block());
      const sx = k.test_row_scale(1 / Math.sqrt(dim), Math.sqrt(n / dim), n) / Math.sqrt(dim);
      for (const v of c) expect(Math.abs(v - 1)).toBeLessThanOrEqual(1.001 / sx);
    }
  });
});

describe('exp and log polynomials', () => {
  function apply(fn: 'test_exp' | 'test_log', xs: number[]): Float32Array {
    const take = scratch();
    const n = Math.ceil(xs.length / 4) * 4;
    const src = take(n * 4);
    const dst = take(n * 4);
    f32(src, n).fill(0);
    f32(src, xs.length).set(xs);
    k[fn](src, dst, n);
    return f32(dst, xs.length).slice();
  }

  it('exp: special values and the clamp edges', () => {
    const EXP_MIN = Math.fround(-87.33654);
    const got = apply('test_exp', [0, -0, -Infinity, Number.NaN, EXP_MIN, Math.fround(EXP_MIN - 1e-4), -100, 88]);
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(1);
    expect(got[2]).toBe(0); // masked and padded entries count as nothing
    expect(got[3]).toBe(0);
    expect(ulps(got[4], Math.fround(Math.exp(EXP_MIN)))).toBeLessThanOrEqual(2);
    expect(got[4]).toBeGreaterThan(0);
    expect(got[5]).toBe(0); // below the clamp: flushed, never subnormal
    expect(got[6]).toBe(0);
    expect(ulps(got[7], Math.fround(Math.exp(88)))).toBeLessThanOrEqual(2);
  });

  it('exp: at most 2 ulp from Math.exp over a sweep of [-87.3, 88]', () => {
    const xs: number[] = [];
    for (let x = -87.3; x <= 88; x += 0.00731) xs.push(Math.fround(x));
    const got = apply('test_exp', xs);
    let worst = 0;
    for (let i = 0; i < xs.length; i++) worst = Math.max(worst, ulps(got[i], Math.fround(Math.exp(xs[i]))));
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('log: special values', () => {
    const got = apply('test_log', [1, 0, -0, -1, 1e-40, Infinity, 2 ** -126, Math.E]);
    expect(got[0]).toBe(0);
    expect(got[1]).toBe(-Infinity);
    expect(got[2]).toBe(-Infinity);
    expect(got[3]).toBeNaN();
    expect(got[4]).toBe(-Infinity); // subnormals count as zero
    expect(ulps(got[6], Math.fround(-126 * Math.LN2))).toBeLessThanOrEqual(2);
    expect(ulps(got[7], 1)).toBeLessThanOrEqual(2);
  });

  it('log: at most 2 ulp from Math.log over a sweep of normal numbers (away from 1, where the ulp vanishes)', () => {
    const xs: number[] = [];
    for (let e = -125; e < 127; e += 0.0377) xs.push(Math.fround(2 ** e));
    const got = apply('test_log', xs);
    let worstUlp = 0;
    let worstAbs = 0;
    for (let i = 0; i < xs.length; i++) {
      const want = Math.log(xs[i]);
      if (Math.abs(want) > 0.1) worstUlp = Math.max(worstUlp, ulps(got[i], Math.fround(want)));
      else worstAbs = Math.max(worstAbs, Math.abs(got[i] - want));
    }
    expect(worstUlp).toBeLessThanOrEqual(2);
    expect(worstAbs).toBeLessThan(2 ** -24);
  });
});

describe("negCLIPLoss's strip log-sum-exp (fold_strip_lse)", () => {
  const C = () => k.test_strip_cols();

  /** log Σ exp(x) in float64. */
  function lse64(xs: number[]): number {
    const m = Math.max(...xs);
    return m + Math.log(xs.reduce((sum, x) => sum + Math.exp(x - m), 0));
  }
  /** Tolerance: `ulps` units in the last place of float32 at |x| (at least at 1). */
  const tol = (x: number, ulps: number) => ulps * 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 1))) - 23);

  /**
   * Folds strips (rows x STRIP_COLS logits each, padding columns past `cols` set to -Infinity as
   * negclip.ts pads them) one after another into the same running row state, as negclip_block does;
   * returns each row's LSE (max + log sum) and the last strip's column LSEs.
   */
  function fold(strips: Float32Array[], rows: number, cols: number) {
    const take = scratch();
    const strip = take(rows * C() * 4);
    const work = take(k.test_strip_scratch());
    const rowMax = take(rows * 4);
    const rowSum = take(rows * 4);
    const colLse = take(C() * 4);
    f32(rowMax, rows).fill(-Infinity);
    f32(rowSum, rows).fill(0);
    for (const values of strips) {
      const padded = f32(strip, rows * C());
      padded.set(values);
      for (let r = 0; r < rows; r++) padded.fill(-Infinity, r * C() + cols, (r + 1) * C());
      k.fold_strip_lse(strip, rows, cols, rowMax, rowSum, colLse, work);
    }
    const max = f32(rowMax, rows);
    const sum = f32(rowSum, rows);
    return {
      rows: Array.from({ length: rows }, (_, r) => max[r]! + Math.log(sum[r]!)),
      cols: Array.from(f32(colLse, cols)),
    };
  }

  function expectLse(strips: Float32Array[], rows: number, cols: number) {
    const got = fold(strips, rows, cols);
    for (let r = 0; r < rows; r++) {
      const want = lse64(strips.flatMap((s) => Array.from(s.subarray(r * C(), r * C() + cols))));
      expect(Math.abs(got.rows[r]! - want), `row ${r}`).toBeLessThanOrEqual(tol(want, 4));
    }
    const last = strips[strips.length - 1]!;
    for (let j = 0; j < cols; j++) {
      const want = lse64(Array.from({ length: rows }, (_, r) => last[r * C() + j]!));
      expect(Math.abs(got.cols[j]! - want), `column ${j}`).toBeLessThanOrEqual(tol(want, 4));
    }
  }

  /** Logits uniform in [lo, hi). */
  const logits = (rows: number, lo: number, hi: number, seed: number) =>
    uniforms(rows * C(), seed).map((u) => lo + ((u + 1) / 2) * (hi - lo));

  for (const [rows, cols] of [
    [128, 32],
    [37, 30],
    [1, 3],
  ] as const) {
    it(`${rows} rows x ${cols} columns of logits in [-100, 100]: row and column LSEs within 4 ulp of float64`, () => {
      expectLse([logits(rows, -100, 100, rows + cols)], rows, cols);
    });
  }

  it('folds strips into running row sums: a later strip with a larger max rescales the earlier ones', () => {
    expectLse([logits(64, -50, 10, 1), logits(64, -20, 90, 2), logits(64, -90, -40, 3)], 64, 32);
  });

  it('is exact for a column far below the strip max (folded on its own) and at the edge of the shared shift', () => {
    const rows = 96;
    const x = logits(rows, 40, 100, 7);
    for (let r = 0; r < rows; r++) {
      x[r * C() + 3] = -150 + (r % 7); // 250 below the strip max: direct path
      x[r * C() + 5] = r === 10 ? 100 - 59 : -200; // max 59 below: shared path, others lost to underflow
      x[r * C() + 6] = r === 11 ? 100 - 61 : -100 + (r % 3); // max 61 below: direct path
    }
    for (let j = 0; j < C(); j++) x[11 * C() + j] = j === 6 ? 100 - 61 : -300; // a row far below the strip
    x[0] = 100;
    expectLse([x], rows, 32);
  });
});

describe('float16 widening', () => {
  it('scalar and vector paths give the numpy-checked value of every one of the 65536 patterns', () => {
    const take = scratch();
    const src = take(65536 * 2);
    const scalar = take(65536 * 4);
    const vector = take(65536 * 4);
    const bits = new Uint16Array(memory.buffer, src, 65536);
    for (let i = 0; i < 65536; i++) bits[i] = i;
    k.test_f16_to_f32(src, scalar, 65536);
    k.test_f16x4_to_f32(src, vector, 65536);
    const a = f32(scalar, 65536);
    const b = f32(vector, 65536);
    for (let i = 0; i < 65536; i++) {
      const want = fromFloat16Bits(i);
      if (Number.isNaN(want)) {
        expect(a[i]).toBeNaN();
        expect(b[i]).toBeNaN();
      } else {
        expect(Object.is(a[i], want) && Object.is(b[i], want), `pattern ${i}`).toBe(true);
      }
    }
  });
});

describe('int16 quantiser', () => {
  it('round-trips each element to within half a step, and a zero row stays exactly zero', () => {
    for (const dim of [1, 3, 512, 768]) {
      const row = uniforms(dim, dim);
      const { q, inv } = quantized(row);
      const block = k.test_scale_block();
      expect(inv.length).toBe(Math.ceil(dim / block));
      for (let t = 0; t < dim; t++) {
        const step = inv[Math.floor(t / block)];
        expect(Math.abs(q[t] * step - row[t])).toBeLessThanOrEqual(0.5 * step * (1 + 1e-6));
      }
    }
    const zero = quantized(new Float32Array(768));
    expect(Array.from(zero.inv)).toEqual([0, 0, 0]);
    expect(zero.q.every((v) => v === 0)).toBe(true);
  });

  it('keeps ‖q‖² below 2^31 and |q| ≤ 32767 at its worst cases (any dot of two rows then fits in int32)', () => {
    const cases: [string, Float32Array][] = [];
    for (const dim of [1, 2, 5, 768, 4096, 65536]) {
      cases.push([`flat ${dim}`, new Float32Array(dim).fill(1 / Math.sqrt(dim))]);
      cases.push([`flat huge ${dim}`, new Float32Array(dim).fill(3e37)]);
      cases.push([`flat tiny ${dim}`, new Float32Array(dim).fill(1e-38)]);
      const spike = new Float32Array(dim).fill(1e-3);
      spike[0] = -1;
      cases.push([`spike ${dim}`, spike]);
      cases.push([`uniform ${dim}`, uniforms(dim, dim + 1)]);
      // Values just under a rounding half-step push every element up: the rounding term at its largest.
      const n = Math.min(dim, k.test_scale_block());
      const s = k.test_row_scale(1, Math.sqrt(n), n);
      cases.push([`half-steps ${dim}`, new Float32Array(dim).fill(Math.fround((Math.floor(s) + 0.4999) / s))]);
    }
    const block = k.test_scale_block();
    for (const [name, row] of cases) {
      const { q } = quantized(row);
      // Every scale block on its own: int32 sums never run across blocks.
      for (let b0 = 0; b0 < q.length; b0 += block) {
        let n2 = 0;
        let big = 0;
        for (const v of q.subarray(b0, b0 + block)) {
          n2 += v * v;
          big = Math.max(big, Math.abs(v));
        }
        expect(n2, `${name}, block at ${b0}`).toBeLessThan(2 ** 31);
        expect(big, `${name}, block at ${b0}`).toBeLessThanOrEqual(32767);
        expect(n2, `${name}, block at ${b0}`).toBeGreaterThan(0);
      }
    }
  });

  it('uses the norm bound for unit rows and the max bound for one-hot rows', () => {
    expect(k.test_row_scale(0.1, 1, 768)).toBeCloseTo(46340 - 0.5 * Math.sqrt(768) - 1, 6);
    expect(k.test_row_scale(1, 1, 768)).toBe(32767);
    expect(k.test_row_scale(0, 0, 768)).toBe(0);
  });
});

describe('assertions of the debug build', () => {
  it('turn a kernel called outside its range into a readable error', () => {
    const take = scratch();
    const buf = take(1 << 16);
    expect(() => k.f32_negclip_block(buf, buf, 8, 4, 100, 5, buf, buf, buf, buf, buf)).toThrow(
      /negclip block out of range/,
    );
  });
});

describe('permutation()', () => {
  it('is a bijection of 0..n-1 for every n tried', () => {
    for (const n of [0, 1, 2, 3, 10, 1000, 65537]) {
      const order = permutation(n, mixSeed(7, n));
      const seen = new Uint8Array(n);
      for (const v of order) {
        expect(v).toBeLessThan(n);
        seen[v]++;
      }
      expect(seen.every((c) => c === 1)).toBe(true);
    }
  });

  it('differs between seeds and repeats for one seed', () => {
    const a = permutation(1000, 1);
    const b = permutation(1000, 2);
    let same = 0;
    for (let i = 0; i < 1000; i++) if (a[i] === b[i]) same++;
    expect(same).toBeLessThan(20); // two independent shuffles share ~1 fixed position on average
    expect(permutation(1000, 1)).toEqual(a);
  });
});
