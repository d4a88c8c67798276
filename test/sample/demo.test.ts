// The demo on the real engine (built package: `npm run build` first). Checks the planted defects behave
// as documented, and that every method's counts agree with an independent sort-based selection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from 'clipsift';
import { generateSamplePool, ROW_KINDS, type RowKind, type SamplePool } from '../../src/sample/pool.js';
import { formatDemoReport, runDemo, type DemoReport, type DemoScores } from '../../src/sample/demo.js';

/** Top ⌊N·fraction⌋ of `among` by score, ties by uid string: a plain sort. */
function topRows(pool: SamplePool, scores: Float32Array, fraction: number, among: number[]): number[] {
  return [...among]
    .sort((a, b) => scores[b]! - scores[a]! || (pool.uids[a]! < pool.uids[b]! ? -1 : 1))
    .slice(0, Math.floor(pool.uids.length * fraction))
    .sort((a, b) => a - b);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

describe('sample pool demo', () => {
  let engine: Engine;
  let pool: SamplePool;
  let report: DemoReport & { scores: DemoScores };
  const ofKind = (scores: Float32Array, kind: RowKind) => [...scores].filter((_, row) => pool.kinds[row] === kind);

  beforeAll(async () => {
    engine = await createEngine({ threads: 1 });
    pool = generateSamplePool({ seed: 0 });
    report = await runDemo(engine, pool, { iterations: 100 });
  }, 120_000);
  afterAll(async () => {
    await engine?.close();
  });

  it('generic captions score high on CLIPScore but low on negCLIPLoss', () => {
    const { clip_score, negclip_loss } = report.scores;
    expect(median(ofKind(clip_score, 'generic'))).toBeGreaterThan(median(ofKind(clip_score, 'clean')));
    expect(quantile(ofKind(negclip_loss, 'generic'), 0.75)).toBeLessThan(quantile(ofKind(negclip_loss, 'clean'), 0.1));
  });

  it('mismatched pairs score low on both, off-target images low on NormSim', () => {
    const { clip_score, negclip_loss, normsim_inf } = report.scores;
    expect(Math.max(...ofKind(clip_score, 'mismatched'))).toBeLessThan(median(ofKind(clip_score, 'clean')));
    expect(Math.max(...ofKind(negclip_loss, 'mismatched'))).toBeLessThan(quantile(ofKind(negclip_loss, 'clean'), 0.05));
    expect(quantile(ofKind(normsim_inf, 'off-target'), 0.75)).toBeLessThan(
      quantile(ofKind(normsim_inf, 'clean'), 0.05),
    );
  });

  it('near-duplicates lose negCLIPLoss rank to their twins', () => {
    const { negclip_loss } = report.scores;
    expect(median(ofKind(negclip_loss, 'duplicate'))).toBeLessThan(median(ofKind(negclip_loss, 'clean')));
  });

  it('counts what a plain sort-based selection keeps', () => {
    const all = [...Array(pool.uids.length).keys()];
    const { clip_score, negclip_loss, normsim_inf, normsim_2 } = report.scores;
    const negClip = topRows(pool, negclip_loss, 0.3, all);
    const expected = [
      topRows(pool, clip_score, 0.3, all),
      negClip,
      topRows(pool, normsim_inf, 0.2, negClip),
      topRows(pool, normsim_2, 0.2, negClip),
    ];
    expected.forEach((rows, k) => {
      expect([...report.methods[k]!.rows]).toEqual(rows);
    });
    for (const method of report.methods) {
      for (const kind of ROW_KINDS)
        expect(method.keptByKind[kind]).toBe([...method.rows].filter((r) => pool.kinds[r] === kind).length);
    }
    // NormSim_2-D: 20 % of the pool, all from the negCLIPLoss selection.
    const d = report.methods[4]!;
    expect(d.rows.length).toBe(800);
    const inNegClip = new Set(negClip);
    expect([...d.rows].every((r) => inNegClip.has(r))).toBe(true);
  });

  it('the paper combination drops every planted defect that CLIPScore keeps', () => {
    const [byClip, , combined] = report.methods;
    expect(byClip!.keptByKind.generic).toBeGreaterThan(0.3 * 160);
    expect(combined!.keptByKind.generic).toBe(0);
    expect(combined!.keptByKind.mismatched).toBe(0);
    expect(combined!.keptByKind['off-target']).toBe(0);
  });

  it('NormSim₂-D, with no target, still thins out the off-cone images of its own selection', () => {
    const [, byNegClip, , , normSimD] = report.methods;
    const share = (m: typeof byNegClip) => m!.keptByKind['off-target'] / m!.rows.length;
    expect(share(normSimD)).toBeLessThan(share(byNegClip) / 2);
  });

  it('prints one table line per method and example captions', () => {
    const text = formatDemoReport(report);
    for (const method of report.methods) expect(text).toContain(method.label);
    expect(report.examples.length).toBeGreaterThan(0);
    for (const example of report.examples) {
      expect(text).toContain(`"${example.caption}"`);
      expect(example.clipScoreRank).toBeLessThanOrEqual(1200);
      expect(example.negClipLossRank).toBeGreaterThan(1200);
    }
  });
});
