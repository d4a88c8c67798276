import { describe, expect, it, vi } from 'vitest';
import {
  fitBar,
  formatDuration,
  formatRate,
  Progress,
  type BarLayout,
  type ProgressFields,
} from '../../src/cli/progress.js';

/** A sink that records writes and a clock the test advances by hand: no real time involved. */
function fakes(isTTY: boolean) {
  const writes: string[] = [];
  let now = 0;
  return {
    writes,
    sink: { isTTY, columns: 200, write: (text: string) => writes.push(text) },
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('Progress', () => {
  it('prints plain lines at the interval when stderr is not a terminal', () => {
    const f = fakes(false);
    const p = new Progress({ label: 'shard0', total: 1000, sink: f.sink, now: f.clock, lineIntervalMs: 5000 });
    f.advance(1000);
    p.set(100); // too soon after the start
    expect(f.writes).toEqual([]);
    f.advance(4000);
    p.set(500); // 5 s in: 500 rows at 100 rows/s, 500 left → ETA 5 s
    expect(f.writes).toEqual(['shard0: 500/1,000 rows (50%), 100 rows/s, ETA 5.0 s\n']);
    f.advance(5000);
    p.set(1000);
    p.finish();
    expect(f.writes.at(-1)).toBe('shard0: 1,000 rows in 10 s (100 rows/s)\n');
    expect(f.writes.every((w) => !w.includes('\r'))).toBe(true);
  });

  it('redraws one bar in place on a terminal and ends it with a newline', () => {
    const f = fakes(true);
    const p = new Progress({ label: 'score', total: 200, sink: f.sink, now: f.clock });
    f.advance(1000);
    p.set(50);
    f.advance(50); // within the redraw throttle
    p.set(60);
    f.advance(1000);
    p.set(100);
    expect(f.writes).toHaveLength(2);
    expect(f.writes[0]).toBe('\r\x1b[Kscore [######..................] 25% 50/200 rows 50 rows/s ETA 3.0 s');
    expect(f.writes[1]).toContain('50%');
    p.finish('2 warnings');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the bar starts with the ANSI erase-line escape
    expect(f.writes.at(-1)).toMatch(/^\r\x1b\[Kscore: 100 rows in 2\.\d s \(49 rows\/s\), 2 warnings\n$/);
  });

  it('says nothing when quiet', () => {
    const f = fakes(true);
    const p = new Progress({ label: 'x', total: 10, quiet: true, sink: f.sink, now: f.clock });
    f.advance(10_000);
    p.add(10);
    p.finish();
    expect(f.writes).toEqual([]);
  });

  it('omits percentage and ETA when the total is unknown', () => {
    const f = fakes(false);
    const p = new Progress({ label: 'read', sink: f.sink, now: f.clock, lineIntervalMs: 1000 });
    f.advance(2000);
    p.add(4000);
    expect(f.writes).toEqual(['read: 4,000 rows, 2.0k rows/s\n']);
  });
});

describe('Progress.keepAlive', () => {
  it('re-reports while nothing is added, until stopped (fake timers, fake clock)', () => {
    vi.useFakeTimers();
    try {
      const f = fakes(false);
      const p = new Progress({ label: 'shard scoring', total: 100, sink: f.sink, now: f.clock, lineIntervalMs: 5000 });
      p.add(50);
      const stop = p.keepAlive();
      f.advance(5000);
      vi.advanceTimersByTime(5000);
      f.advance(5000);
      vi.advanceTimersByTime(5000);
      // The rate falls while the engine works on one call, so the ETA moves and the log shows life.
      expect(f.writes).toEqual([
        'shard scoring: 50/100 rows (50%), 10 rows/s, ETA 5.0 s\n',
        'shard scoring: 50/100 rows (50%), 5.0 rows/s, ETA 10 s\n',
      ]);
      stop();
      f.advance(5000);
      vi.advanceTimersByTime(5000);
      expect(f.writes).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('formatting', () => {
  it('formats rates for people: two figures below 10 of a unit, whole numbers above, never an exponent', () => {
    expect(formatRate(7.24)).toBe('7.2');
    expect(formatRate(950)).toBe('950');
    expect(formatRate(999.7)).toBe('1.0k'); // toPrecision(3) wrote '1.00e+3' here
    expect(formatRate(1234)).toBe('1.2k');
    expect(formatRate(12_345)).toBe('12k');
    expect(formatRate(999_600)).toBe('1.0M');
    expect(formatRate(2_500_000)).toBe('2.5M');
    expect(formatRate(0)).toBe('0');
  });

  it('formats durations for people: seconds, then minutes and seconds, hours and minutes, days and hours', () => {
    expect(formatDuration(4.24)).toBe('4.2 s');
    expect(formatDuration(9.96)).toBe('10 s');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(59.6)).toBe('1 min 00 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(3 * 3600 + 12 * 60 + 10)).toBe('3 h 12 min');
    expect(formatDuration(3599.9)).toBe('1 h 00 min');
    expect(formatDuration(2 * 86400 + 5 * 3600 + 100)).toBe('2 d 5 h');
    expect(formatDuration(Number.NaN)).toBe('?');
  });
});

describe('fitBar', () => {
  // A DataComp-sized run: 12.8M rows, three hours to go.
  const fields: ProgressFields = {
    position: 'shard 3/10',
    label: '00000002',
    phase: 'scoring',
    fraction: 0.25,
    percent: '25%',
    counts: '3,200,000/12,800,000 rows',
    rate: '1.1k rows/s',
    eta: 'ETA 3 h 12 min',
    engine: '2 threads, relaxed SIMD',
  };

  it('keeps every field where there is room, with a full bar', () => {
    expect(fitBar(fields, 199)).toBe(
      'shard 3/10 00000002 scoring [######..................] 25% 3,200,000/12,800,000 rows 1.1k rows/s ETA 3 h 12 min 2 threads, relaxed SIMD',
    );
  });

  it('drops whole fields, least useful first, and never cuts one', () => {
    // At 79 cells the engine and the counts go; the rest take 59 cells, so the bar gets 18 between its brackets.
    expect(fitBar(fields, 79)).toBe('shard 3/10 00000002 scoring [####..............] 25% 1.1k rows/s ETA 3 h 12 min');
    expect(fitBar(fields, 70)).toBe('shard 3/10 00000002 scoring [##.......] 25% 1.1k rows/s ETA 3 h 12 min');
    expect(fitBar(fields, 39)).toBe('00000002 25% 1.1k rows/s ETA 3 h 12 min');
    expect(fitBar(fields, 30)).toBe('00000002 25% ETA 3 h 12 min');
    expect(fitBar(fields, 20)).toBe('25% ETA 3 h 12 min');
    expect(fitBar(fields, 3)).toBe('25%');
    expect(fitBar(fields, 2)).toBe('');
    for (let width = 2; width < 200; width++) expect(fitBar(fields, width).length).toBeLessThanOrEqual(width);
  });

  it('keeps a steady line: a field dropped for width stays dropped and the bar does not widen again', () => {
    const layout: BarLayout = { width: 0, dropped: new Set(), barCells: 24 };
    const long = fitBar({ ...fields, eta: 'ETA 59 min 59 s' }, 79, layout);
    expect(long).toBe('shard 3/10 00000002 scoring [####.............] 25% 1.1k rows/s ETA 59 min 59 s');
    // A shorter ETA next time leaves the same fields and bar, not a wider bar or the counts back.
    expect(fitBar({ ...fields, eta: 'ETA 9.0 s' }, 79, layout)).toBe(
      'shard 3/10 00000002 scoring [####.............] 25% 1.1k rows/s ETA 9.0 s',
    );
    // Another width starts afresh.
    expect(fitBar(fields, 199, layout)).toContain('2 threads, relaxed SIMD');
  });
});
