/**
 * The progress display as a person sees it: the built CLI runs in a pseudo-terminal of a fixed width
 * (python3's pty module, test/cli/pty-run.py), and every redrawn frame is taken apart. A frame must fit
 * the width and consist of whole fields only; the shard, percentage and ETA must survive 40 columns;
 * the bar must move with each of the engine's batches; outside a terminal, plain lines.
 */
import { join } from 'node:path';
import process from 'node:process';
import { describe, expect, it } from 'vitest';
import { BIN, makeDataCompDir, ROOT, runChild, tempDir } from './helpers.js';

const PTY = join(ROOT, 'test/cli/pty-run.py');
const DRIVER = join(ROOT, 'test/cli/progress-driver.mjs');

/** Runs `args` in a terminal `columns` wide; the frames are what each carriage return or newline ends. */
async function inTerminal(columns: number, args: string[]): Promise<{ code: number; frames: string[] }> {
  const run = await runChild('python3', [PTY, String(columns), ...args]);
  expect(run.stderr).toBe('');
  // A redraw is '\r' + ESC[K (erase the line) + the frame.
  const frames = run.stdout
    .replaceAll('\r\u001b[K', '\r')
    .split(/\r\n|\n|\r/)
    .filter((f) => f !== '');
  return { code: run.code, frames };
}

// Every field a bar frame may hold, in display order; a cut field matches none of them.
const FIELD = {
  position: 'shard \\d+/\\d+',
  label: '(?:\\d{8}|p0)',
  phase: '(?:reading|scoring)',
  bar: '\\[[#.]{6,24}\\]',
  percent: '\\d{1,3}%',
  counts: '[\\d,]+/[\\d,]+ rows',
  rate: '\\d+(?:\\.\\d)?[kMG]? rows/s',
  eta: 'ETA (?:\\d+\\.\\d s|\\d+ s|\\d+ min \\d\\d s|\\d+ h \\d\\d min)',
  engine: '\\d+ threads?, (?:baseline|relaxed) SIMD',
};
const FRAME = new RegExp(
  `^${Object.values(FIELD)
    .map((f) => `(?:${f} ?)?`)
    .join('')}$`,
);

/** The bar frames (not the start line or the closing lines), checked against the width and the fields. */
function barFrames(frames: string[], columns: number): string[] {
  const bars = frames.filter((f) => /%/.test(f) && !/^score:|^scored /.test(f));
  for (const frame of bars) {
    expect(frame.length, frame).toBeLessThan(columns);
    expect(frame.endsWith(' '), frame).toBe(false);
    expect(frame, 'a frame of whole fields').toMatch(FRAME);
  }
  return bars;
}

const percentOf = (frame: string) => Number(/(\d+)%/.exec(frame)![1]);

describe('progress display in a terminal', () => {
  it.each([40, 80, 200])(
    'fits %i columns with whole fields and moves with every batch',
    async (columns) => {
      const { code, frames } = await inTerminal(columns, [process.execPath, DRIVER]);
      expect(code).toBe(0);
      const bars = barFrames(frames, columns);
      const scoring = bars.filter((f) => !f.includes('reading') && / ETA /.test(` ${f} `));
      // 2 shards × 8 batches × 2 repeats, each batch its own frame under the driver's one-second clock.
      expect(new Set(scoring.map(percentOf)).size).toBeGreaterThanOrEqual(28);
      const percents = bars.map(percentOf);
      expect(percents).toEqual([...percents].sort((a, b) => a - b));
      // What survives at each width: the shard, the percentage and the ETA always.
      for (const frame of scoring) expect(frame).toMatch(/^(?:shard \d\/2 )?0000000[01] .*\d+% .*ETA /);
      if (columns >= 80) for (const frame of scoring) expect(frame).toMatch(/^shard [12]\/2 0000000[01] scoring \[/);
      if (columns >= 200) {
        for (const frame of scoring) {
          expect(frame).toMatch(
            /\[[#.]{24}\] \d+% [\d,]+\/12,800,000 rows [\d.]+k rows\/s ETA .* 2 threads, relaxed SIMD$/,
          );
        }
      }
      // A rate for people, and the closing line.
      expect(frames.join('\n')).not.toMatch(/e\+|\d\.\d\d\dk/);
      expect(frames.at(-1)).toMatch(/^score: 12,800,000 rows in \d+ s \([\d.]+k rows\/s\)$/);
    },
    60_000,
  );

  it('draws the real score run, shard by shard, within 80 columns', async () => {
    const { dir } = makeDataCompDir([
      { name: '00000000', rows: 300, seed: 1 },
      { name: '00000001', rows: 300, seed: 2 },
    ]);
    const out = join(tempDir(), 'scores');
    const args = ['--batch-size', '64', '--repeats', '2', '--threads', '1', '--simd', 'baseline'];
    const { code, frames } = await inTerminal(80, [process.execPath, BIN, 'score', dir, '--out', out, ...args]);
    expect(code).toBe(0);
    expect(frames[0]).toBe('score: 2 shards, 600 rows on node, 1 thread, baseline SIMD');
    for (const frame of barFrames(frames, 80)) expect(frame).toMatch(/^shard [12]\/2 0000000[01] (reading|scoring) /);
    expect(frames.at(-1)).toMatch(
      /^scored 600 rows in 2 shards in [\d.]+ s \(node, 1 thread, baseline SIMD\); score files in /,
    );
  }, 60_000);

  it('prints plain lines, never a carriage return, when stderr is not a terminal', async () => {
    const { dir } = makeDataCompDir([{ name: 'p0', rows: 200, seed: 3 }]);
    const out = join(tempDir(), 'scores');
    const run = await runChild(process.execPath, [
      BIN,
      'score',
      dir,
      '--out',
      out,
      '--batch-size',
      '64',
      '--threads',
      '1',
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('\r');
    expect(run.stderr.split('\n')[0]).toMatch(/^score: 1 shard, 200 rows on node, 1 thread, (baseline|relaxed) SIMD$/);
    expect(run.stderr).toMatch(/\nscore: 200 rows in [\d.]+ s \([\d.]+k? rows\/s\)\n$/);
  }, 60_000);
});
