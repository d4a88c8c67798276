import { describe, expect, it, vi } from 'vitest';
import { Progress, formatDuration, formatRate } from '../../src/cli/progress.js';

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
    expect(f.writes.at(-1)).toBe('shard0: 1,000 rows in 10.0 s (100 rows/s)\n');
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
    expect(f.writes[0]).toMatch(/^\r\x1b\[Kscore \[#{6}\.{18}\]  25% 50\/200 rows 50\.0 rows\/s ETA 3\.0 s$/);
    expect(f.writes[1]).toContain('50%');
    p.finish('2 warnings');
    expect(f.writes.at(-1)).toMatch(/^\r\x1b\[Kscore: 100 rows in 2\.\d s \(48\.8 rows\/s\), 2 warnings\n$/);
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
    expect(f.writes).toEqual(['read: 4,000 rows, 2.00k rows/s\n']);
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
        'shard scoring: 50/100 rows (50%), 10.0 rows/s, ETA 5.0 s\n',
        'shard scoring: 50/100 rows (50%), 5.00 rows/s, ETA 10.0 s\n',
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
  it('formats rates and durations for people', () => {
    expect(formatRate(12_345)).toBe('12.3k');
    expect(formatRate(2_500_000)).toBe('2.50M');
    expect(formatRate(0)).toBe('0');
    expect(formatDuration(4.24)).toBe('4.2 s');
    expect(formatDuration(185)).toBe('3:05');
    expect(formatDuration(3723)).toBe('1:02:03');
  });
});
