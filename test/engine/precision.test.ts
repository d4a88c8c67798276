// precision 'i16' against the float64 reference on the unquantised inputs: the bounds README
// "Precision" documents, and the paper's selection (top 30 % negCLIPLoss, then top 20 % NormSim_inf)
// on real CLIP embeddings and on structured synthetic pools, compared uid for uid with the selection
// the float64 scores make.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, mixSeed, permutation, type Embeddings, type Engine } from 'clipsift';
import { normalizeRows } from '../../src/numeric/normalize.js';
import { openNpy } from '../../src/io/npy.js';
import { bytesSource } from '../../src/io/source.js';
import { generateSamplePool } from '../../src/sample/pool.js';
import { runSteps, type SelectionStep } from '../../src/select/steps.js';
import { clipScoreRef, maxAbsError, maxRelError, negClipLossRef, normSimRef } from './reference.js';

// The bounds: CLIPScore and negCLIPLoss absolute, every NormSim (p = ∞ included) relative.
// NormSim_inf is one dot product per candidate, so it is also held to the dot product's absolute bound.
const BOUNDS = { clipScoreAbs: 5e-5, negClipLossAbs: 5e-5, normSimRel: 1e-4, normSimInfAbs: 5e-5 };
const PAPER: SelectionStep[] = [
  { kind: 'top', column: 'negclip_loss', fraction: 0.3 },
  { kind: 'top', column: 'normsim_inf', fraction: 0.2 },
];

let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ threads: 1, precision: 'i16' });
});
afterAll(async () => {
  await engine.close();
});

async function load(path: string): Promise<Embeddings> {
  const url = new URL(`../fixtures/real/${path}`, import.meta.url);
  const array = await openNpy(bytesSource(path, new Uint8Array(readFileSync(url))));
  return { data: await array.readRows(0, array.rows), rows: array.rows, dim: array.dim };
}

/** The paper's selection from two score columns, as row indices; ties by row index. */
function select(negclip: ArrayLike<number>, normsim: ArrayLike<number>): Set<number> {
  const result = runSteps(
    {
      columns: { negclip_loss: Float32Array.from(negclip), normsim_inf: Float32Array.from(normsim) },
      compareRows: (a, b) => a - b,
    },
    PAPER,
  );
  return new Set(result.rows);
}

/** An L2-normalised float32 copy of `e`. */
function normalized(e: Embeddings): Embeddings {
  return { data: normalizeRows(e.data, e.dim), rows: e.rows, dim: e.dim };
}

function agreement(a: Set<number>, b: Set<number>): number {
  let common = 0;
  for (const row of a) if (b.has(row)) common++;
  return a.size === 0 ? 1 : common / a.size;
}

describe("precision 'i16' on real CLIP embeddings", () => {
  it('meets the bounds for every score, and selects what float64 selects', async () => {
    const img = await load('openai-b32-fashion-9pairs/img_emb_0.npy');
    const txt = await load('openai-b32-fashion-9pairs/text_emb_0.npy');
    // The class-name embeddings are stored unnormalised (norms 8 to 13); the bounds are for unit rows.
    const coco = normalized(await load('openai-b32-classnames/coco_clip_a+cname.npy'));
    const lvis = normalized(await load('openai-b32-classnames/lvis_v1_clip_a+cname.npy'));
    expect(maxAbsError(await engine.clipScore(img, txt), clipScoreRef(img, txt))).toBeLessThan(BOUNDS.clipScoreAbs);
    const identity = [Uint32Array.from({ length: 9 }, (_, i) => i)];
    const negclip = await engine.negClipLoss(img, txt, { batchSize: 9 });
    const negclipRef = negClipLossRef(img, txt, 9, 0.01, identity);
    expect(maxAbsError(negclip, negclipRef)).toBeLessThan(BOUNDS.negClipLossAbs);
    for (const target of [coco, lvis]) {
      for (const p of [1, 2, 3, Infinity]) {
        const prepared = await engine.prepareTarget(target, { p });
        const got = await engine.normSim(img, prepared);
        const want = normSimRef(img, target, p);
        if (p === Infinity)
          expect(maxAbsError(got, want), `p=${p}, ${target.rows} rows`).toBeLessThan(BOUNDS.normSimInfAbs);
        expect(maxRelError(got, want), `p=${p}, ${target.rows} rows`).toBeLessThan(BOUNDS.normSimRel);
      }
    }
    const lvisInf = await engine.prepareTarget(lvis, { p: Infinity });
    const selected = select(negclip, await engine.normSim(img, lvisInf));
    expect(agreement(select(negclipRef, normSimRef(img, lvis, Infinity)), selected)).toBe(1);
  });
});

describe("precision 'i16' on structured synthetic pools", () => {
  for (const { rows, dim, seed, batch } of [
    { rows: 6000, dim: 256, seed: 1, batch: 1000 },
    { rows: 3000, dim: 512, seed: 2, batch: 1000 },
  ]) {
    it(`${rows} pairs of dim ${dim}: bounds, and ≥ 99.9 % of the float64 selection`, { timeout: 600_000 }, async () => {
      const pool = generateSamplePool({ rows, dim, seed });
      const img = pool.image;
      const txt = pool.text;
      const target = pool.target;
      const o = { batchSize: batch, repeats: 1, seed: 5 };
      const shuffles = [permutation(rows, mixSeed(o.seed, 0))];
      expect(maxAbsError(await engine.clipScore(img, txt), clipScoreRef(img, txt))).toBeLessThan(BOUNDS.clipScoreAbs);
      const negclip = await engine.negClipLoss(img, txt, o);
      const negclipRef = negClipLossRef(img, txt, batch, 0.01, shuffles);
      expect(maxAbsError(negclip, negclipRef)).toBeLessThan(BOUNDS.negClipLossAbs);
      const prepared = await engine.prepareTarget(target, { p: Infinity });
      const normsim = await engine.normSim(img, prepared);
      const normsimRef = normSimRef(img, target, Infinity);
      expect(maxAbsError(normsim, normsimRef)).toBeLessThan(BOUNDS.normSimInfAbs);
      expect(maxRelError(normsim, normsimRef)).toBeLessThan(BOUNDS.normSimRel);
      const want = select(negclipRef, normsimRef);
      expect(want.size).toBe(Math.floor(rows * 0.2));
      expect(agreement(want, select(negclip, normsim))).toBeGreaterThanOrEqual(0.999);
      // The f32 engine path on the same pool, for the closing note's comparison.
      const f32 = select(
        await engine.negClipLoss(img, txt, { ...o, precision: 'f32' }),
        await engine.normSim(img, prepared, { precision: 'f32' }),
      );
      expect(agreement(want, f32)).toBeGreaterThanOrEqual(0.999);
    });
  }
});

describe("precision 'i16' on the demo's own sample pool (4000 pairs of dim 768)", () => {
  it('meets the score bounds and keeps the float64 selection', { timeout: 600_000 }, async () => {
    const pool = generateSamplePool();
    const o = { batchSize: 1000, repeats: 1, seed: 5 };
    const negclipRef = negClipLossRef(pool.image, pool.text, o.batchSize, 0.01, [
      permutation(4000, mixSeed(o.seed, 0)),
    ]);
    const negclip = await engine.negClipLoss(pool.image, pool.text, o);
    expect(maxAbsError(negclip, negclipRef)).toBeLessThan(BOUNDS.negClipLossAbs);
    const normsimRef = normSimRef(pool.image, pool.target, Infinity);
    const normsim = await engine.normSim(pool.image, await engine.prepareTarget(pool.target, { p: Infinity }));
    expect(maxRelError(normsim, normsimRef)).toBeLessThan(BOUNDS.normSimRel);
    // 800 of 800. With one scale per row (before scale blocks) it was 799: the two rows at the
    // negCLIPLoss cut are 1.6e-6 apart, and that quantisation's error there was ~2e-5.
    expect(agreement(select(negclipRef, normsimRef), select(negclip, normsim))).toBeGreaterThanOrEqual(0.999);
  });
});

describe('the precision option', () => {
  it('defaults to f32, is overridden per call, and rejects anything else', async () => {
    const plain = await createEngine({ threads: 1 });
    try {
      expect(plain.info().precision).toBe('f32');
      expect(engine.info().precision).toBe('i16');
      const pool = generateSamplePool({ rows: 64, dim: 64, seed: 3 });
      const viaDefault = await engine.clipScore(pool.image, pool.text);
      const viaCall = await plain.clipScore(pool.image, pool.text, { precision: 'i16' });
      expect(Buffer.from(viaCall.buffer)).toEqual(Buffer.from(viaDefault.buffer));
      const f32 = await plain.clipScore(pool.image, pool.text);
      expect(Buffer.from(f32.buffer)).not.toEqual(Buffer.from(viaDefault.buffer));
      // @ts-expect-error: not a precision
      expect(() => plain.clipScore(pool.image, pool.text, { precision: 'i8' })).toThrow(
        /precision must be 'f32' or 'i16'/,
      );
      // @ts-expect-error: not a precision
      await expect(createEngine({ threads: 1, precision: 'f16' })).rejects.toThrow(/precision must be/);
    } finally {
      await plain.close();
    }
  });

  it('i16 scores float16 rows exactly as their float32 widening (quantisation sees the same values)', async () => {
    const pool = generateSamplePool({ rows: 200, dim: 96, seed: 4 });
    const widened = (m: { data: Uint16Array; rows: number; dim: number }) => ({
      rows: m.rows,
      dim: m.dim,
      data: Float32Array.from(m.data, (bits) => {
        const v = new DataView(new ArrayBuffer(4));
        // float16 → float32 exactly through the engine-independent decoder below
        return halfBits(bits, v);
      }),
    });
    const a = await engine.clipScore(pool.image, pool.text);
    const b = await engine.clipScore(widened(pool.image), widened(pool.text));
    expect(Buffer.from(a.buffer)).toEqual(Buffer.from(b.buffer));
  });
});

/** IEEE half → number, written out here so the test shares no decoder with the engine. */
function halfBits(bits: number, _scratch: DataView): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? Number.NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
