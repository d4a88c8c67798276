/**
 * select's two paths on the same score files: the streaming one (passes over the files, memory bounded
 * by the kept uids) and the in-memory one (the whole table sorted). The subset files must be byte-identical
 * and the summaries (pool, counts after each step, every threshold) equal, with heavy ties, ±0, repeated
 * uids across files, decimal fractions, both roundings, --min and --given-uids; NaN scores fail alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSelectOptions, runSelect, streamable } from '../../src/cli/select.js';
import { makeUids, tempDir, writeScoreFile } from '../select/cli-fixtures.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Three score files; scores mostly from a small palette (ties, ±0), some uids repeated across files. */
function writePool(seed: number): { dir: string; uids: string[] } {
  const next = rng(seed);
  const dir = tempDir();
  const all = makeUids(900, seed);
  const palette = [-0, 0, 1, -1, 0.5, 0.25, 2.5];
  const score = () => (next() < 0.7 ? palette[Math.floor(next() * palette.length)]! : next() * 4 - 2);
  for (let f = 0; f < 3; f++) {
    const uids = all.slice(f * 300, (f + 1) * 300);
    if (f > 0) for (let i = 0; i < 20; i++) uids[i] = all[Math.floor(next() * f * 300)]!; // repeats
    writeScoreFile(join(dir, `0000000${f}.scores.parquet`), uids, {
      clip_score: Float32Array.from(uids, score),
      negclip_loss: Float32Array.from(uids, score),
      normsim_inf: Float32Array.from(uids, score),
    });
  }
  return { dir, uids: all };
}

async function bothPaths(argv: string[]) {
  const dir = tempDir();
  const streamed = parseSelectOptions([...argv, '--out', join(dir, 'streamed.npy'), '--json']);
  const inMemory = parseSelectOptions([...argv, '--out', join(dir, 'in-memory.npy'), '--json']);
  expect(streamable(streamed)).toBe(true);
  const a = await runSelect(streamed);
  const b = await runSelect({ ...inMemory, inMemory: true });
  return { a, b, bytesA: readFileSync(streamed.out), bytesB: readFileSync(inMemory.out) };
}

describe('select: streaming and in-memory paths agree', () => {
  it('on ties, ±0, repeated uids, decimal fractions, both roundings, --min and --given-uids', async () => {
    const { dir } = writePool(3);
    const given = join(tempDir(), 'given.npy');
    await runSelect(parseSelectOptions([dir, '--top', 'clip_score:57%', '--out', given, '--json']));
    const cases = [
      ['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'],
      ['--top', 'negclip_loss:29%', '--top', 'normsim_inf:0.07'],
      ['--min', 'clip_score:0', '--top', 'negclip_loss:0.5', '--min', 'normsim_inf:-0'],
      ['--top', 'clip_score:1', '--top', 'negclip_loss:0'],
      ['--rounding', 'datacomp', '--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'],
      ['--rounding', 'datacomp', '--top', 'clip_score:1', '--top', 'normsim_inf:0.99'],
      ['--given-uids', given, '--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'],
    ];
    for (const steps of cases) {
      const { a, b, bytesA, bytesB } = await bothPaths([dir, ...steps]);
      expect({ ...a, out: null }).toEqual({ ...b, out: null });
      expect(bytesA).toEqual(bytesB);
    }
  });

  it('reports NaN scores with the same message', async () => {
    const dir = tempDir();
    const uids = makeUids(50, 9);
    const scores = Float32Array.from(uids, (_, i) => i % 7);
    scores[11] = Number.NaN;
    writeScoreFile(join(dir, 'a.scores.parquet'), uids, { clip_score: scores });
    const out = tempDir();
    const message = `column clip_score is NaN in 1 row: uid ${uids[11]}`;
    const streamed = parseSelectOptions([dir, '--top', 'clip_score:0.5', '--out', join(out, 'a.npy')]);
    await expect(runSelect(streamed)).rejects.toThrow(message);
    const inMemory = parseSelectOptions([dir, '--top', 'clip_score:0.5', '--out', join(out, 'b.npy')]);
    await expect(runSelect({ ...inMemory, inMemory: true })).rejects.toThrow(message);
  });
});
