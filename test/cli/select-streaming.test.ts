/**
 * select's two paths on the same score files: the streaming one (passes over the files, memory bounded
 * by the kept uids) and the in-memory one (the whole table sorted). The subset files must be byte-identical
 * and the summaries (pool, counts after each step, every threshold) equal, with heavy ties, ±0, repeated
 * uids across files, decimal fractions, both roundings, --min and --given-uids; NaN scores fail alike.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSelectOptions, runSelect, streamable } from '../../src/cli/select.js';
import { makeUids, tempDir, writeScoreFile } from '../select/cli-fixtures.js';
import { rng } from './helpers.js';

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

  it('--memory-budget 0 spills the kept uids to $TMPDIR and writes the same bytes, leaving nothing there', async () => {
    const { dir } = writePool(5);
    const spill = tempDir();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = spill;
    try {
      const steps = ['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'];
      const { a, b, bytesA, bytesB } = await bothPaths([dir, ...steps, '--memory-budget', '0']);
      expect({ ...a, out: null }).toEqual({ ...b, out: null });
      expect(bytesA).toEqual(bytesB);
      // Without --json the spill is noted.
      const notes: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((text: string) => notes.push(String(text)) > 0) as typeof process.stderr.write;
      try {
        const out = join(tempDir(), 'noted.npy');
        await runSelect(parseSelectOptions([dir, ...steps, '--memory-budget', '0', '--out', out]));
        expect(readFileSync(out)).toEqual(bytesA);
      } finally {
        process.stderr.write = write;
      }
      expect(notes.join('')).toContain(
        'clipsift select: note: the kept uids passed --memory-budget 0 MiB: 1 sorted runs spilled to disk',
      );
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect(readdirSync(spill).filter((name) => name.startsWith('clipsift-runs-'))).toEqual([]);
  });

  it('--join falls back to the in-memory table and says so', async () => {
    const uids = makeUids(40, 7);
    const dir = tempDir();
    const other = tempDir();
    writeScoreFile(join(dir, 'a.scores.parquet'), uids, { clip_score: Float32Array.from(uids, (_, i) => i % 5) });
    writeScoreFile(join(other, 'a.scores.parquet'), uids, { normsim_inf: Float32Array.from(uids, (_, i) => i % 3) });
    const out = join(tempDir(), 'joined.npy');
    const notes: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => notes.push(String(text)) > 0) as typeof process.stderr.write;
    try {
      const options = parseSelectOptions([dir, other, '--join', '--top', 'clip_score:0.5', '--out', out]);
      expect(streamable(options)).toBe(false);
      await runSelect(options);
    } finally {
      process.stderr.write = write;
    }
    expect(notes.join('')).toContain(
      'clipsift select: note: --join reads the whole table into memory (only --top/--min over one set of score files stream)',
    );
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
