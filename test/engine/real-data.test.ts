// The engine on real OpenAI CLIP ViT-B/32 embeddings (attributions in test/fixtures/real/*/ATTRIBUTION.md):
// 9 fashion photo/caption pairs, and class-name text embeddings as NormSim targets.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, type Embeddings } from 'clipsift';
import { bytesSource } from '../../src/io/source.js';
import { openNpy } from '../../src/io/npy.js';
import { clipScoreRef, maxAbsError, maxRelError, negClipLossRef, normSimRef } from './reference.js';

const fixture = (path: string) => new URL(`../fixtures/real/${path}`, import.meta.url);

async function load(path: string): Promise<Embeddings> {
  const array = await openNpy(bytesSource(path, new Uint8Array(readFileSync(fixture(path)))));
  return { data: await array.readRows(0, array.rows), rows: array.rows, dim: array.dim };
}

let engine: Engine;
let img: Embeddings, txt: Embeddings, coco: Embeddings, lvis: Embeddings;
beforeAll(async () => {
  engine = await createEngine({ threads: 1 });
  img = await load('openai-b32-fashion-9pairs/img_emb_0.npy');
  txt = await load('openai-b32-fashion-9pairs/text_emb_0.npy');
  coco = await load('openai-b32-classnames/coco_clip_a+cname.npy');
  lvis = await load('openai-b32-classnames/lvis_v1_clip_a+cname.npy');
});
afterAll(async () => {
  await engine.close();
});

describe('real CLIP embeddings', () => {
  it('are float16 in the shapes the attribution gives', () => {
    expect([img.rows, img.dim, txt.rows, coco.rows, lvis.rows, lvis.dim]).toEqual([9, 512, 9, 80, 1203, 512]);
    expect(img.data).toBeInstanceOf(Uint16Array);
  });

  it('CLIPScore matches the reference and separates matched from mismatched pairs', async () => {
    const scores = await engine.clipScore(img, txt);
    const want = clipScoreRef(img, txt);
    expect(maxAbsError(scores, want)).toBeLessThan(2e-5);
    const mean = scores.reduce((s, v) => s + v, 0) / scores.length;
    expect(mean).toBeCloseTo(0.318, 2); // the figure measured upstream
  });

  it('negCLIPLoss over the 9 pairs matches the reference', async () => {
    const got = await engine.negClipLoss(img, txt, { batchSize: 9 });
    const want = negClipLossRef(img, txt, 9, 0.01, [Uint32Array.from({ length: 9 }, (_, i) => i)]);
    expect(maxAbsError(got, want)).toBeLessThan(2e-5);
  });

  for (const p of [1, 2, 3, Infinity]) {
    it(`NormSim_${p} of the photos against COCO (80 rows) and LVIS (1203 rows, Gram for p = 2) class names`, async () => {
      for (const target of [coco, lvis]) {
        const prepared = await engine.prepareTarget(target, { p });
        expect(maxRelError(await engine.normSim(img, prepared), normSimRef(img, target, p))).toBeLessThan(1e-5);
      }
    });
  }
});
