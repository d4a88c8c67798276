/**
 * Progress reporting for long CLI work, on stderr so stdout stays clean for results.
 *
 * On a terminal: one line redrawn in place with the shard, a bar, the percentage, rows/s and ETA, fitted
 * to the terminal's width by leaving out whole fields (never by cutting one). Elsewhere (logs, CI, pipes): a plain
 * line every few seconds, because carriage-return redraws turn into megabytes of noise in a log file.
 * With --quiet: nothing.
 */
import process from 'node:process';
import { formatCount } from './words.js';

export { formatCount };

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
  /** The engine doing the work, e.g. '2 threads, relaxed SIMD' (see describeEngine). */
  engine?: string;
}

/** '2 threads, relaxed SIMD': what an engine runs on, for progress and summaries. */
export function describeEngine(info: { runtime?: string; threads: number; simd: string }): string {
  return `${info.threads} thread${info.threads === 1 ? '' : 's'}, ${info.simd} SIMD`;
}

const BAR_REDRAW_MS = 100;
/** Widest bar drawn, in cells between the brackets; narrower terminals get a narrower bar, down to the minimum. */
const BAR_MAX = 24;
const BAR_MIN = 6;

/** A counter of work done that reports itself; create one per unit of long work. */
export class Progress {
  /** What runs now (e.g. the shard name); shown first, and in the closing line. */
  label: string;
  /** The step of the current item ('reading', 'scoring'); dropped first on a narrow terminal. */
  phase: string | undefined;
  /** Which item of how many ('2/5'), shown as 'shard 2/5'. */
  position: string | undefined;
  /** The engine doing the work ('2 threads, relaxed SIMD'); shown where the terminal has room. */
  engine: string | undefined;
  private readonly unit: string;
  private readonly sink: ProgressSink;
  private readonly mode: ProgressMode;
  private readonly lineIntervalMs: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private lastShownAt = -Infinity;
  private finished = false;
  private layout: BarLayout = { width: 0, dropped: new Set(), barCells: BAR_MAX };
  /** Work done so far. */
  done = 0;
  /** Expected total, when known. */
  total: number | undefined;

  constructor(options: ProgressOptions) {
    this.label = options.label;
    this.phase = undefined;
    this.position = undefined;
    this.engine = options.engine;
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

  /** Names the item and step now running and redraws a bar at once (plain lines keep their interval). */
  stage(label: string, phase?: string, position?: string): void {
    this.label = label;
    this.phase = phase;
    this.position = position;
    this.layout.width = 0;
    this.redraw();
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
   * Keeps the report alive while work runs that does not call add() (a long read, a slow batch):
   * redraws the bar every second, or prints a line every line interval, with the rate and ETA
   * recomputed. The timer does not keep the process alive. Returns the function that stops it.
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

  /**
   * Reports the final figures once (elapsed time and overall rate), under `label` when given (e.g. the
   * command's name after the last shard's); later calls do nothing.
   */
  finish(note?: string, label?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (label !== undefined) this.label = label;
    if (this.mode === 'off') return;
    const elapsedS = (this.now() - this.startedAt) / 1000;
    const rate = elapsedS > 0 ? this.done / elapsedS : 0;
    const summary = `${this.label}: ${formatCount(this.done)} ${this.unit} in ${formatDuration(elapsedS)} (${formatRate(rate)} ${this.unit}/s)${note ? `, ${note}` : ''}`;
    // A closing line longer than the terminal wraps instead of being cut: it is printed once.
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

  /** The figures as of `now`, each a whole piece of text. */
  private fields(now: number): ProgressFields {
    const elapsedS = (now - this.startedAt) / 1000;
    // The average since the start: steadier than an instantaneous rate when batches arrive in bursts.
    const rate = elapsedS > 0 ? this.done / elapsedS : 0;
    const total = this.total;
    const fraction = total !== undefined && total > 0 ? Math.min(1, this.done / total) : undefined;
    // No estimate before anything is done: a rate of 0 would promise forever.
    const etaS = total !== undefined && rate > 0 ? Math.max(0, (total - this.done) / rate) : undefined;
    return {
      position: this.position !== undefined ? `shard ${this.position}` : undefined,
      label: this.label,
      phase: this.phase,
      fraction,
      percent: fraction !== undefined ? `${Math.floor(fraction * 100)}%` : undefined,
      counts: `${total !== undefined ? `${formatCount(this.done)}/${formatCount(total)}` : formatCount(this.done)} ${this.unit}`,
      rate: `${formatRate(rate)} ${this.unit}/s`,
      eta: etaS !== undefined ? `ETA ${formatDuration(etaS)}` : undefined,
      engine: this.engine,
    };
  }

  private show(now: number): void {
    const f = this.fields(now);
    if (this.mode === 'bar') {
      // One cell short of the width: writing the last column makes some terminals wrap.
      this.sink.write(`\r\x1b[K${fitBar(f, (this.sink.columns ?? 80) - 1, this.layout)}`);
    } else {
      const head = [f.label, f.phase, f.position && `(${f.position})`].filter(Boolean).join(' ');
      const tail = [f.rate, f.eta, f.engine].filter(Boolean).join(', ');
      this.sink.write(`${head}: ${f.counts}${f.percent ? ` (${f.percent})` : ''}, ${tail}\n`);
    }
  }
}

/** The pieces of one progress report, each already formatted. */
export interface ProgressFields {
  position: string | undefined;
  label: string;
  phase: string | undefined;
  fraction: number | undefined;
  percent: string | undefined;
  counts: string;
  rate: string;
  eta: string | undefined;
  engine: string | undefined;
}

/** Display order of the bar's fields, with how long each survives narrowing (higher stays longer). */
const BAR_FIELDS: { key: keyof ProgressFields | 'bar'; keep: number }[] = [
  { key: 'position', keep: 5 },
  { key: 'label', keep: 7 },
  { key: 'phase', keep: 4 },
  { key: 'bar', keep: 3 },
  { key: 'percent', keep: 10 },
  { key: 'counts', keep: 2 },
  { key: 'rate', keep: 6 },
  { key: 'eta', keep: 9 },
  { key: 'engine', keep: 1 },
];

/**
 * What a bar line left out and how wide its bar was, so that the next redraw does not bring a field
 * back or widen the bar only to drop it again a moment later: a line that jitters is hard to read.
 * Forgotten when the stage or the terminal width changes.
 */
export interface BarLayout {
  width: number;
  dropped: Set<string>;
  barCells: number;
}

/**
 * Lays out one bar line in at most `width` cells: fields are dropped whole, least useful first
 * (engine, counts, the bar itself, phase, position, rate, label, ETA), never cut. The bar takes what
 * room is left, between BAR_MIN and BAR_MAX cells. Pass the same `layout` between redraws to keep
 * the line steady. Returns '' when not even the percentage fits.
 */
export function fitBar(f: ProgressFields, width: number, layout?: BarLayout): string {
  const remembered = layout && layout.width === width ? layout : undefined;
  const present = BAR_FIELDS.filter(({ key }) =>
    key === 'bar' ? f.fraction !== undefined : f[key] !== undefined && f[key] !== '',
  );
  const length = (key: string, barCells: number) =>
    key === 'bar' ? barCells + 2 : String(f[key as keyof ProgressFields]).length;
  const used = (fields: typeof present, barCells: number) =>
    fields.reduce((n, { key }) => n + length(key, barCells), 0) + Math.max(0, fields.length - 1);
  let fields = present.filter(({ key }) => !remembered?.dropped.has(key));
  while (fields.length > 0 && used(fields, BAR_MIN) > width) {
    const weakest = fields.reduce((a, b) => (b.keep < a.keep ? b : a));
    fields = fields.filter((x) => x !== weakest);
  }
  const barCells = Math.min(BAR_MAX, remembered?.barCells ?? BAR_MAX, BAR_MIN + width - used(fields, BAR_MIN));
  if (layout) {
    if (!remembered) layout.dropped.clear();
    for (const { key } of present) if (!fields.some((x) => x.key === key)) layout.dropped.add(key);
    layout.width = width;
    if (fields.some((x) => x.key === 'bar')) layout.barCells = barCells;
  }
  return fields.map(({ key }) => (key === 'bar' ? `[${renderBar(f.fraction!, barCells)}]` : String(f[key]))).join(' ');
}

function renderBar(fraction: number, width: number): string {
  const filled = Math.floor(fraction * width);
  return '#'.repeat(filled) + '.'.repeat(width - filled);
}

/**
 * A rate for people: two significant figures below 10 of a unit, whole numbers above, with a k/M/G
 * suffix: 7.25 → '7.3', 999.7 → '1.0k', 1234 → '1.2k', 45678 → '46k', 2.5e6 → '2.5M'.
 */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0';
  const suffixes = ['', 'k', 'M', 'G', 'T'];
  let value = perSecond;
  let unit = 0;
  // Move up a unit when the value would print as 1000 or more after rounding.
  while (unit < suffixes.length - 1 && value >= 999.5) {
    value /= 1000;
    unit++;
  }
  const text = value < 9.95 ? value.toFixed(1) : String(Math.round(value));
  return `${text}${suffixes[unit]}`;
}

/** Seconds for people: '6.9 s', '42 s', '4 min 05 s', '3 h 12 min', '2 d 5 h'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 9.95) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
  const hours = Math.round(seconds / 3600);
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
