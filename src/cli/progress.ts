/**
 * Progress reporting for long CLI work, on stderr so stdout stays clean for results.
 *
 * On a terminal: one bar redrawn in place with rows/s and ETA. Elsewhere (logs, CI, pipes): a plain
 * line every few seconds, because carriage-return redraws turn into megabytes of noise in a log file.
 * With --quiet: nothing.
 */
import process from 'node:process';

/** Where progress goes: stderr by default, a fake in tests. */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** How progress is shown: a redrawn bar, periodic plain lines, or not at all. */
export type ProgressMode = 'bar' | 'lines' | 'off';

export interface ProgressOptions {
  /** What is being counted, shown before the figures (e.g. the shard name). */
  label: string;
  /** Expected total; omit when unknown (no percentage or ETA then). */
  total?: number;
  /** Unit of the counts, plural (default 'rows'). */
  unit?: string;
  /** Suppresses all output. */
  quiet?: boolean;
  /** Default process.stderr. */
  sink?: ProgressSink;
  /** Overrides the choice made from sink.isTTY. */
  mode?: ProgressMode;
  /** Milliseconds between plain lines (default 5000); the bar redraws at most every 100 ms. */
  lineIntervalMs?: number;
  /** Clock in milliseconds (default performance.now); tests pass their own. */
  now?: () => number;
}

const BAR_REDRAW_MS = 100;
const BAR_WIDTH = 24;

/** A counter of work done that reports itself; create one per unit of long work. */
export class Progress {
  /** Shown before the figures; may change between phases (e.g. 'shard 3/10 reading'). */
  label: string;
  private readonly unit: string;
  private readonly sink: ProgressSink;
  private readonly mode: ProgressMode;
  private readonly lineIntervalMs: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private lastShownAt = -Infinity;
  private finished = false;
  /** Work done so far. */
  done = 0;
  /** Expected total, when known. */
  total: number | undefined;

  constructor(options: ProgressOptions) {
    this.label = options.label;
    this.total = options.total;
    this.unit = options.unit ?? 'rows';
    this.sink = options.sink ?? process.stderr;
    this.mode = options.quiet ? 'off' : (options.mode ?? (this.sink.isTTY ? 'bar' : 'lines'));
    this.lineIntervalMs = options.lineIntervalMs ?? 5000;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    // A plain line at the start says what is about to take time; the bar draws itself on first update.
    if (this.mode === 'lines') this.lastShownAt = this.startedAt;
  }

  /** Adds `count` to the work done and reports if it is time to. */
  add(count: number): void {
    this.set(this.done + count);
  }

  /** Sets the work done and reports if it is time to. */
  set(done: number): void {
    this.done = done;
    if (this.mode === 'off' || this.finished) return;
    const now = this.now();
    const interval = this.mode === 'bar' ? BAR_REDRAW_MS : this.lineIntervalMs;
    if (now - this.lastShownAt < interval) return;
    this.lastShownAt = now;
    this.show(now);
  }

  /**
   * Keeps the report alive while work runs that does not call add() (the engine scores a whole shard
   * in one call): redraws the bar every second, or prints a line every line interval, with the rate and
   * ETA recomputed. The timer does not keep the process alive. Returns the function that stops it.
   */
  keepAlive(): () => void {
    if (this.mode === 'off') return () => undefined;
    const interval = this.mode === 'bar' ? 1000 : this.lineIntervalMs;
    const timer = setInterval(() => {
      if (this.finished || this.now() - this.lastShownAt < interval) return;
      this.lastShownAt = this.now();
      this.show(this.lastShownAt);
    }, interval);
    (timer as { unref?: () => void }).unref?.();
    return () => clearInterval(timer);
  }

  /** Reports the final figures once (elapsed time and overall rate); later calls do nothing. */
  finish(note?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'off') return;
    const elapsedS = (this.now() - this.startedAt) / 1000;
    const rate = elapsedS > 0 ? this.done / elapsedS : 0;
    const summary = `${this.label}: ${formatCount(this.done)} ${this.unit} in ${formatDuration(elapsedS)} (${formatRate(rate)} ${this.unit}/s)${note ? `, ${note}` : ''}`;
    this.sink.write(this.mode === 'bar' ? `\r\x1b[K${summary}\n` : `${summary}\n`);
  }

  /** Ends without a summary line: removes a drawn bar; later calls do nothing. */
  close(): void {
    this.clear();
    this.finished = true;
  }

  /** Clears a drawn bar so another line can be written to stderr, e.g. a warning. */
  clear(): void {
    if (this.mode === 'bar' && !this.finished && Number.isFinite(this.lastShownAt)) this.sink.write('\r\x1b[K');
  }

  /**
   * Redraws a bar now even if the interval has not passed (after clear(), or for a phase change).
   * Plain lines keep their interval: a log gains nothing from a line per phase.
   */
  redraw(): void {
    if (this.mode !== 'bar' || this.finished) return;
    this.lastShownAt = this.now();
    this.show(this.lastShownAt);
  }

  private show(now: number): void {
    const elapsedS = (now - this.startedAt) / 1000;
    // The average since the start: steadier than an instantaneous rate when batches arrive in bursts.
    const rate = elapsedS > 0 ? this.done / elapsedS : 0;
    const total = this.total;
    const fraction = total && total > 0 ? Math.min(1, this.done / total) : undefined;
    const etaS = total !== undefined && rate > 0 ? Math.max(0, (total - this.done) / rate) : undefined;
    const counts = total !== undefined ? `${formatCount(this.done)}/${formatCount(total)}` : formatCount(this.done);
    const rateText = `${formatRate(rate)} ${this.unit}/s`;
    const etaText = etaS !== undefined ? `ETA ${formatDuration(etaS)}` : '';
    if (this.mode === 'bar') {
      const bar =
        fraction !== undefined
          ? ` [${renderBar(fraction, BAR_WIDTH)}] ${(fraction * 100).toFixed(0).padStart(3)}%`
          : '';
      let line = `${this.label}${bar} ${counts} ${this.unit} ${rateText} ${etaText}`.trimEnd();
      const columns = this.sink.columns ?? 80;
      if (line.length > columns - 1) line = line.slice(0, columns - 1);
      this.sink.write(`\r\x1b[K${line}`);
    } else {
      const percent = fraction !== undefined ? ` (${(fraction * 100).toFixed(0)}%)` : '';
      this.sink.write(`${this.label}: ${counts} ${this.unit}${percent}, ${rateText}${etaText ? `, ${etaText}` : ''}\n`);
    }
  }
}

function renderBar(fraction: number, width: number): string {
  const filled = Math.round(fraction * width);
  return '#'.repeat(filled) + '.'.repeat(width - filled);
}

/** 1234567 → '1,234,567'. */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

/** A rate with 3 significant figures and a k/M suffix: 12345 → '12.3k'. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toPrecision(3)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toPrecision(3)}k`;
  return perSecond.toPrecision(3);
}

/** Seconds as '4.2 s', '3:05' or '1:02:03'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}
