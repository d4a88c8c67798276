import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, permutation, mixSeed, type Engine } from 'clipsift';
import { fromFloat16Bits } from '../../src/numeric/float16.js';
import { clipScoreRef, maxAbsError, maxRelError, negClipLossRef, normSimRef, randomRows, toHalf } from './reference.js';

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ threads: 1 });
});
afterAll(async () => {
  await engine.close();
});

const pairs = (rows: number, dim: number, seed: number, half = false) => {
  const img = randomRows(rows, dim, seed);
  const txt = randomRows(rows, dim, seed + 1);
  // Correlate the pairs so diagonals stand out, as in real CLIP embeddings.
  for (let i = 0; i < img.length; i++) txt[i] = 0.6 * txt[i] + 0.4 * img[i];
  const wrap = (data: Float32Array) => ({ data: half ? toHalf(data) : data, rows, dim });
  return { img: wrap(img), txt: wrap(txt) };
};

/** The engine's shuffles, so the reference batches the same rows. */
const orders = (n: number, seed: number, repeats: number) =>
  Array.from({ length: repeats }, (_, r) => permutation(n, mixSeed(seed, r)));

describe('CLIPScore', () => {
  for (const [rows, dim, half] of [
    [37, 512, false],
    [300, 768, true],
    [1, 3, false],
    [50, 13, true],
  ] as const) {
    it(`matches the float64 reference: ${rows}×${dim} ${half ? 'f16' : 'f32'}`, async () => {
      const { img, txt } = pairs(rows, dim, rows + dim, half);
      expect(maxAbsError(await engine.clipScore(img, txt), clipScoreRef(img, txt))).toBeLessThan(2e-5);
    });
  }
});

describe('mixed float16 images and float32 texts', () => {
  it('score as their float32 values do', async () => {
    const { img, txt } = pairs(120, 40, 31, true);
    const txt32 = { ...txt, data: Float32Array.from(txt.data as Uint16Array, fromFloat16Bits) };
    const img32 = { ...img, data: Float32Array.from(img.data as Uint16Array, fromFloat16Bits) };
    expect(Buffer.from((await engine.clipScore(img, txt32)).buffer)).toEqual(
      Buffer.from((await engine.clipScore(img32, txt32)).buffer),
    );
    const o = { batchSize: 50, repeats: 2 };
    expect(Buffer.from((await engine.negClipLoss(img, txt32, o)).buffer)).toEqual(
      Buffer.from((await engine.negClipLoss(img32, txt32, o)).buffer),
    );
  });
});

describe('negCLIPLoss', () => {
  const cases = [
    { rows: 300, dim: 768, batch: 128, repeats: 2, half: false }, // rows not a multiple of the batch
    { rows: 257, dim: 512, batch: 1000, repeats: 3, half: true }, // rows < batch: one batch
    { rows: 200, dim: 13, batch: 64, repeats: 2, half: false }, // dim not a multiple of 4 or 8
    { rows: 1, dim: 8, batch: 32768, repeats: 10, half: false },
    { rows: 133, dim: 768, batch: 133, repeats: 1, half: true },
  ];
  for (const c of cases) {
    it(`matches the float64 reference: ${c.rows}×${c.dim}, batch ${c.batch}, ${c.half ? 'f16' : 'f32'}`, async () => {
      const { img, txt } = pairs(c.rows, c.dim, c.rows * 7 + c.dim, c.half);
      const seed = 42;
      const got = await engine.negClipLoss(img, txt, { batchSize: c.batch, repeats: c.repeats, seed });
      const shuffles =
        c.batch >= c.rows ? [Uint32Array.from({ length: c.rows }, (_, i) => i)] : orders(c.rows, seed, c.repeats);
      expect(maxAbsError(got, negClipLossRef(img, txt, c.batch, 0.01, shuffles))).toBeLessThan(2e-5);
    });
  }

  it('does not overflow on identical pairs at τ = 0.01 (exp(100) in a naive sum)', async () => {
    const rows = 64,
      dim = 512;
    const data = randomRows(rows, dim, 5);
    const img = { data, rows, dim },
      txt = { data: data.slice(), rows, dim };
    const got = await engine.negClipLoss(img, txt, { batchSize: rows });
    expect(got.every(Number.isFinite)).toBe(true);
    expect(
      maxAbsError(got, negClipLossRef(img, txt, rows, 0.01, [Uint32Array.from({ length: rows }, (_, i) => i)])),
    ).toBeLessThan(2e-5);
  });

  it('is deterministic for a seed and independent of the seed with one batch', async () => {
    const { img, txt } = pairs(90, 64, 3);
    const a = await engine.negClipLoss(img, txt, { batchSize: 32, seed: 7, repeats: 3 });
    const b = await engine.negClipLoss(img, txt, { batchSize: 32, seed: 7, repeats: 3 });
    const c = await engine.negClipLoss(img, txt, { batchSize: 32, seed: 8, repeats: 3 });
    expect(Buffer.from(a.buffer)).toEqual(Buffer.from(b.buffer));
    expect(Buffer.from(a.buffer)).not.toEqual(Buffer.from(c.buffer));
    const one1 = await engine.negClipLoss(img, txt, { batchSize: 500, seed: 1 });
    const one2 = await engine.negClipLoss(img, txt, { batchSize: 90, seed: 2 });
    expect(Buffer.from(one1.buffer)).toEqual(Buffer.from(one2.buffer));
  });

  it('demotes a generic caption that matches every image, which CLIPScore ranks high', async () => {
    const rows = 100,
      dim = 64;
    const common = randomRows(1, dim, 21);
    const own = randomRows(rows, dim, 22);
    const noise = randomRows(rows, dim, 23);
    const img = new Float32Array(rows * dim),
      txt = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < dim; k++) {
        img[r * dim + k] = 0.7 * common[k] + 0.7 * own[r * dim + k];
        txt[r * dim + k] = r === 0 ? common[k] : own[r * dim + k] + 0.3 * noise[r * dim + k];
      }
    }
    const normalize = (m: Float32Array) => {
      for (let r = 0; r < rows; r++) {
        const n = Math.hypot(...m.subarray(r * dim, (r + 1) * dim));
        for (let k = 0; k < dim; k++) m[r * dim + k] /= n;
      }
      return { data: m, rows, dim };
    };
    const pair = [normalize(img), normalize(txt)] as const;
    const better = (v: Float32Array) => Array.from(v).filter((x) => x > v[0]).length;
    const clip = await engine.clipScore(...pair);
    const neg = await engine.negClipLoss(...pair, { batchSize: rows });
    expect(better(clip)).toBeLessThan(rows / 2);
    expect(better(neg)).toBe(rows - 1);
  });
});

describe('NormSim', () => {
  const cases = [
    { cand: 150, target: 20, dim: 768, half: false },
    { cand: 140, target: 1100, dim: 512, half: true }, // larger than a strip and than dim: Gram for p = 2
    { cand: 33, target: 9000, dim: 24, half: false }, // larger than a target chunk
    { cand: 5, target: 3, dim: 7, half: true },
  ];
  for (const c of cases) {
    for (const p of [1, 2, 3, Infinity]) {
      it(`p=${p} matches the float64 reference: ${c.cand} candidates, ${c.target}-row target, dim ${c.dim}`, async () => {
        const wrap = (d: Float32Array, rows: number) => ({ data: c.half ? toHalf(d) : d, rows, dim: c.dim });
        const cand = wrap(randomRows(c.cand, c.dim, c.cand + p), c.cand);
        const tgt = wrap(randomRows(c.target, c.dim, c.target + 1), c.target);
        const target = await engine.prepareTarget(tgt, { p });
        expect(maxRelError(await engine.normSim(cand, target), normSimRef(cand, tgt, p))).toBeLessThan(1e-5);
      });
    }
  }
});

describe('progress', () => {
  it('reports every batch of every repeat and every candidate chunk, ending at the total', async () => {
    const { img, txt } = pairs(100, 16, 9);
    const seen: [number, number][] = [];
    await engine.negClipLoss(img, txt, {
      batchSize: 32,
      repeats: 2,
      onProgress: (done, total) => seen.push([done, total]),
    });
    expect(seen).toEqual([32, 64, 96, 100, 132, 164, 196, 200].map((d) => [d, 200]));
    const target = await engine.prepareTarget(img);
    const cand = { data: randomRows(9000, 16, 4), rows: 9000, dim: 16 };
    const chunks: number[] = [];
    await engine.normSim(cand, target, {
      onProgress: (done, total) => {
        expect(total).toBe(9000);
        chunks.push(done);
      },
    });
    expect(chunks).toEqual([8192, 9000]);
  });
});

describe('Gram-matrix targets', () => {
  it('give NormSim_2 bit for bit as the target rows do, and G matches the float64 reference', async () => {
    const dim = 24,
      rows = 300;
    const tgt = { data: randomRows(rows, dim, 77), rows, dim };
    const gram = await engine.gramMatrix(tgt);
    const t = new Float64Array(tgt.data);
    for (const [i, j] of [
      [0, 0],
      [3, 17],
      [23, 5],
    ]) {
      let want = 0;
      for (let r = 0; r < rows; r++) want += t[r * dim + i] * t[r * dim + j];
      expect(Math.abs(gram[i * dim + j] - want)).toBeLessThan(1e-5);
    }
    const cand = { data: randomRows(50, dim, 78), rows: 50, dim };
    const fromRows = await engine.normSim(cand, await engine.prepareTarget(tgt, { p: 2 }));
    const fromGram = await engine.normSim(cand, await engine.prepareTarget({ gram, dim, rows }));
    expect(Buffer.from(fromGram.buffer)).toEqual(Buffer.from(fromRows.buffer));
    await expect(engine.prepareTarget({ gram, dim, rows }, { p: 3 })).rejects.toThrow(/NormSim_2 only/);
    await expect(engine.prepareTarget({ gram: gram.subarray(1), dim, rows })).rejects.toThrow(/not dim × dim/);
  });
});

describe('memory limits', () => {
  it('refuses a layout past the 4 GiB wasm32 limit up front, saying how much it needs, and stays usable', async () => {
    // A million-row batch keeps a column partial per 128-row block: ~30 GiB, whatever the dim.
    const n = 1_000_000;
    const same = { data: new Float32Array(n).fill(0.5), rows: n, dim: 1 };
    await expect(engine.negClipLoss(same, same, { batchSize: n })).rejects.toThrow(
      /needs \d+ MiB of wasm memory, more than the 4096 MiB/,
    );
    // Batch by batch the same pool fits: every pair is s = 0.25, so each row gets 0.25 − τ·(25 + log 1000).
    const got = await engine.negClipLoss(same, same, { batchSize: 1000, repeats: 1 });
    expect(Math.abs(got[0] - (0.25 - 0.01 * (25 + Math.log(1000))))).toBeLessThan(2e-5);
    expect(Math.abs(got[n - 1] - got[0])).toBeLessThan(1e-6);
  });
});

describe('argument checks', () => {
  const ok = { data: new Float32Array(8), rows: 2, dim: 4 };
  it('names the problem', async () => {
    expect(() => engine.clipScore(ok, { data: new Float32Array(6), rows: 2, dim: 3 })).toThrow(
      /dim 4 differs from text dim 3/,
    );
    expect(() => engine.clipScore(ok, { data: new Float32Array(12), rows: 3, dim: 4 })).toThrow(
      /2 image rows but 3 text rows/,
    );
    expect(() => engine.clipScore({ data: new Float32Array(7), rows: 2, dim: 4 }, ok)).toThrow(
      /rows × dim = 2 × 4 = 8 but data has 7/,
    );
    const nan = new Float32Array(8);
    nan[5] = NaN;
    expect(() => engine.clipScore(ok, { data: nan, rows: 2, dim: 4 })).toThrow(
      /text embeddings: row 1 has a non-finite/,
    );
    const inf16 = new Uint16Array(8);
    inf16[2] = 0x7c00;
    expect(() => engine.clipScore({ data: inf16, rows: 2, dim: 4 }, ok)).toThrow(/image embeddings: row 0/);
    expect(() => engine.negClipLoss(ok, ok, { temperature: 0 })).toThrow(/temperature/);
    expect(() => engine.negClipLoss(ok, ok, { batchSize: 0 })).toThrow(/batchSize/);
    expect(() => engine.negClipLoss(ok, ok, { repeats: 0 })).toThrow(/repeats/);
    await expect(engine.prepareTarget(ok, { p: 0.5 })).rejects.toThrow(/p must be >= 1/);
    const target = await engine.prepareTarget(ok, { p: 2 });
    expect(() => engine.normSim({ data: new Float32Array(6), rows: 2, dim: 3 }, target)).toThrow(
      /candidate dim 3 differs from target dim 4/,
    );
  });
});
