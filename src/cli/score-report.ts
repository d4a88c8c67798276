/**
 * `clipsift score --json`: the run as one JSON document on stdout, written when the run ends (exit 0)
 * or stops (exit 1): every shard of the run (or of its --shard part) with what happened to it.
 */
import process from 'node:process';
import { noDrops, type DroppedCounts, type DroppedReason, type ShardStats, type StatsEngine } from '../io/run-stats.js';
import type { ShardOutcome } from '../pipeline/score-shard.js';

/** What happened to one shard in this run. */
export interface ShardReport {
  shard: string;
  /**
   * 'scored' now; 'up-to-date': its score file was already complete; 'failed': scoring it stopped the run;
   * 'not-run': the run stopped before it.
   */
  status: 'scored' | 'up-to-date' | 'failed' | 'not-run';
  scoreFile: string;
  /** Rows of the shard's input. */
  rows: number;
  /** Rows in its score file (scored, up-to-date), else null. */
  written: number | null;
  /** Dropped rows by reason (scored; up-to-date when its stats record says), else null. */
  dropped: DroppedCounts | null;
  /** Dropped rows (index among the input rows) with their reason, the first 1000 (scored), else []. */
  droppedRows: { row: number; reason: DroppedReason }[];
  /** Seconds spent on it in this run (scored, failed), else null. */
  seconds: number | null;
  /** With --queue: the worker's engine and host that scored it, from its stats record. */
  engine?: StatsEngine | null;
  host?: string;
  error?: string;
}

/** The document. */
export interface ScoreReport {
  command: 'score';
  status: 'ok' | 'failed';
  exitCode: number;
  out: string;
  /** The --shard part scored, or null. */
  part: { index: number; count: number } | null;
  /** The engine that scored (null when nothing needed scoring or it never started). */
  engine: StatsEngine | null;
  seconds: number;
  shards: ShardReport[];
  totals: {
    shards: number;
    scored: number;
    upToDate: number;
    failed: number;
    notRun: number;
    rows: number;
    written: number;
    dropped: DroppedCounts;
  };
  /** `<out>/_stats.json`, when it was written. */
  stats: string | null;
  error: string | null;
}

/** Collects the report while score runs. */
export class ScoreReportBuilder {
  readonly shards = new Map<string, ShardReport>();
  engine: StatsEngine | null = null;
  stats: string | null = null;
  private readonly started = performance.now();

  constructor(
    private readonly out: string,
    private readonly part: { index: number; count: number } | null,
  ) {}

  /** The shards of the run, in order, none run yet. */
  plan(shards: readonly { name: string; rows: number; outPath: string }[]): void {
    for (const s of shards)
      this.shards.set(s.name, {
        shard: s.name,
        status: 'not-run',
        scoreFile: s.outPath,
        rows: s.rows,
        written: null,
        dropped: null,
        droppedRows: [],
        seconds: null,
      });
  }

  upToDate(name: string, written: number, dropped: DroppedCounts | null): void {
    Object.assign(this.shards.get(name)!, { status: 'up-to-date', written, dropped });
  }

  scored(name: string, outcome: ShardOutcome, seconds: number): void {
    const dropped = noDrops();
    for (const { reason } of outcome.droppedRows) dropped[reason]++;
    Object.assign(this.shards.get(name)!, {
      status: 'scored',
      written: outcome.written,
      dropped,
      droppedRows: outcome.droppedRows.slice(0, 1000),
      seconds: round(seconds),
    });
  }

  failed(name: string, error: unknown, seconds: number | null): void {
    Object.assign(this.shards.get(name)!, {
      status: 'failed',
      seconds: seconds === null ? null : round(seconds),
      error: oneLine(error),
    });
  }

  /** A shard scored elsewhere (a queue worker), as its stats record says. */
  recorded(name: string, record: ShardStats): void {
    Object.assign(this.shards.get(name)!, {
      status: 'scored',
      written: record.written,
      dropped: record.dropped,
      droppedRows: record.droppedRows,
      seconds: record.seconds,
      engine: record.engine,
      host: record.host,
    });
  }

  /** The finished document for exit code `exitCode` (and the error that stopped the run). */
  document(exitCode: number, error?: unknown): ScoreReport {
    const shards = [...this.shards.values()];
    const count = (status: ShardReport['status']) => shards.filter((s) => s.status === status).length;
    const dropped = noDrops();
    for (const s of shards)
      if (s.dropped) for (const reason of Object.keys(dropped) as DroppedReason[]) dropped[reason] += s.dropped[reason];
    return {
      command: 'score',
      status: exitCode === 0 ? 'ok' : 'failed',
      exitCode,
      out: this.out,
      part: this.part,
      engine: this.engine,
      seconds: round((performance.now() - this.started) / 1000),
      shards,
      totals: {
        shards: shards.length,
        scored: count('scored'),
        upToDate: count('up-to-date'),
        failed: count('failed'),
        notRun: count('not-run'),
        rows: shards.reduce((n, s) => n + s.rows, 0),
        written: shards.reduce((n, s) => n + (s.written ?? 0), 0),
        dropped,
      },
      stats: this.stats,
      error: error === undefined ? null : oneLine(error),
    };
  }

  /** Writes the document to stdout. */
  print(exitCode: number, error?: unknown): void {
    process.stdout.write(`${JSON.stringify(this.document(exitCode, error), null, 2)}\n`);
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** The error's message on one line, without the library's 'clipsift: ' prefix (as the CLI prints it). */
export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/^clipsift:\s*/, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}
