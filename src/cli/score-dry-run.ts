/**
 * `clipsift score --dry-run`: what the run would cost, without running it and without writing anything.
 * Shards and rows come from the files' headers (no embedding is read); flops from the shapes
 * (pipeline/cost.ts); time from a short calibration run of the engine the run would use; peak memory
 * from the buffers the run allocates.
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { createEngine } from '../index.js';
import { InputError } from '../io/errors.js';
import { normSimColumn, scoreFileName, type TargetIdentity } from '../io/score-file.js';
import {
  calibrate,
  clipScoreFlops,
  estimateMemory,
  estimateSeconds,
  gramFlops,
  negClipFlops,
  normSimFlops,
  type Calibration,
  type MemoryEstimate,
} from '../pipeline/cost.js';
import type { ScoreShard } from '../pipeline/score-shard.js';
import { targetShape } from '../pipeline/target.js';
import { threadsForWork } from './args.js';
import type { ScoreOptions } from './score.js';
import { describeEngine, formatCount, formatDuration } from './progress.js';

/** The options the sizing reads: score's own. */
export type DryRunOptions = Pick<
  ScoreOptions,
  | 'out'
  | 'target'
  | 'targetKey'
  | 'files'
  | 'p'
  | 'batchSize'
  | 'temperature'
  | 'repeats'
  | 'threads'
  | 'simd'
  | 'precision'
  | 'normalize'
  | 'json'
  | 'quiet'
>;

/** One shard's sizes. */
export interface DryRunShard {
  shard: string;
  status: 'to-score' | 'up-to-date';
  rows: number;
  /** The embedding pairs scored (one, or one per --arch), with their dim and element type. */
  pairs: { arch: string | null; dim: number; dtype: 'f2' | 'f4' }[];
  flops: { clipScore: number; negClipLoss: number; normSim: number };
}

/** The document `--dry-run --json` prints. */
export interface DryRunReport {
  command: 'score';
  dryRun: true;
  out: string;
  shards: DryRunShard[];
  totals: {
    shards: number;
    toScore: number;
    upToDate: number;
    rows: number;
    rowsToScore: number;
    /** Of the shards to score; gram: building NormSim_2's Gram matrix, once. */
    flops: { clipScore: number; negClipLoss: number; normSim: number; gram: number; total: number };
  };
  settings: {
    batchSize: number;
    repeats: number;
    temperature: number;
    p: number | 'inf' | null;
    targetRows: number | null;
  };
  engine: { runtime: string; threads: number; simd: string; precision: string };
  calibration: { batch: number; batches: number; seconds: number; secondsPerNegClipPair: Record<string, number> };
  /**
   * Estimated scoring seconds on this machine (reading the files not included): wall-clock at the load
   * the calibration ran under; and CPU seconds of all threads, with cpuSeconds / threads, the wall time
   * on cores not shared with other processes (null where the runtime reports no CPU time).
   */
  estimate: {
    seconds: number;
    clipScore: number;
    negClipLoss: number;
    normSim: number;
    cpuSeconds: number | null;
    idleSeconds: number | null;
    loadAverage: number | null;
  };
  memory: MemoryEstimate & { largestShard: string | null };
}

/**
 * Sizes the run of `shards` and prints it. `plan` says which shards are already done (it needs the
 * target's identity only when a score file exists to compare with). Resolves to the exit code.
 */
export async function dryRunScore(
  shards: ScoreShard[],
  options: DryRunOptions,
  plan: (target: { identity: TargetIdentity } | undefined) => Promise<{ shard: ScoreShard; done: boolean }[]>,
): Promise<number> {
  const target =
    options.target.length > 0 ? await targetShape(options.target, options.targetKey, options.files) : undefined;
  if (target) {
    const other = shards.find((s) => s.img.dim !== target.dim);
    if (other)
      throw new InputError(
        options.target.join(', '),
        `target has dim ${target.dim} but ${other.img.name} has dim ${other.img.dim}`,
      );
  }
  // Comparing with existing score files needs the target's hash; with none there is nothing to compare.
  const anyScoreFile = shards.some((s) => existsSync(join(options.out, scoreFileName(s.name))));
  const planned = anyScoreFile
    ? await plan(target ? { identity: await target.identity() } : undefined)
    : shards.map((shard) => ({ shard, done: false }));

  const p = options.p;
  const sized: DryRunShard[] = planned.map(({ shard, done }) => {
    const pairs = [
      { arch: shard.pairArch ?? shard.arch, dim: shard.img.dim, dtype: shard.img.dtype },
      ...(shard.extraPairs ?? []).map((e) => ({ arch: e.arch, dim: e.img.dim, dtype: e.img.dtype })),
    ];
    const rows = shard.img.rows;
    return {
      shard: shard.name,
      status: done ? 'up-to-date' : 'to-score',
      rows,
      pairs,
      flops: {
        clipScore: pairs.reduce((n, pair) => n + clipScoreFlops(rows, pair.dim), 0),
        negClipLoss: pairs.reduce((n, pair) => n + negClipFlops(rows, options.batchSize, pair.dim, options.repeats), 0),
        normSim: target ? normSimFlops(rows, target.rows, shard.img.dim, p) : 0,
      },
    };
  });
  const todo = sized.filter((s) => s.status === 'to-score');
  const rowsToScore = todo.reduce((n, s) => n + s.rows, 0);
  const sum = (key: keyof DryRunShard['flops']) => todo.reduce((n, s) => n + s.flops[key], 0);
  const gram = target && todo.length > 0 ? gramFlops(target.rows, target.dim, p) : 0;
  const flops = {
    clipScore: sum('clipScore'),
    negClipLoss: sum('negClipLoss'),
    normSim: sum('normSim'),
    gram,
    total: 0,
  };
  flops.total = flops.clipScore + flops.negClipLoss + flops.normSim + flops.gram;

  // The engine the run would open, calibrated on a few batches of each dim scored.
  const engine = await createEngine({
    threads: threadsForWork(options.threads, rowsToScore + (target?.rows ?? 0)),
    simd: options.simd,
    precision: options.precision,
  });
  const calibrations = new Map<number, Calibration>();
  let info: ReturnType<typeof engine.info>;
  try {
    info = engine.info();
    const dims = new Map<number, 'f2' | 'f4'>();
    for (const s of todo.length > 0 ? todo : sized) for (const pair of s.pairs) dims.set(pair.dim, pair.dtype);
    for (const [dim, dtype] of dims) {
      calibrations.set(
        dim,
        await calibrate(engine, {
          dim,
          batchSize: options.batchSize,
          temperature: options.temperature,
          dtype,
          precision: options.precision,
          target: target && dim === target.dim ? { p, rows: target.rows } : undefined,
        }),
      );
    }
  } finally {
    await engine.close();
  }
  const estimate = { clipScore: 0, negClipLoss: 0, normSim: 0 };
  let cpuSeconds: number | null = 0;
  for (const s of todo) {
    s.pairs.forEach((pair, k) => {
      const calibration = calibrations.get(pair.dim)!;
      const shape = {
        rows: s.rows,
        dim: pair.dim,
        batch: options.batchSize,
        repeats: options.repeats,
        ...(target && k === 0 ? { target: { rows: target.rows, p } } : {}),
      };
      const e = estimateSeconds(calibration, shape);
      estimate.clipScore += e.clipScore;
      estimate.negClipLoss += e.negClipLoss;
      estimate.normSim += e.normSim;
      if (calibration.cpu && cpuSeconds !== null) {
        const c = estimateSeconds(calibration.cpu, shape);
        cpuSeconds += c.clipScore + c.negClipLoss + c.normSim;
      } else cpuSeconds = null;
    });
  }
  const largest = (todo.length > 0 ? todo : sized).reduce<DryRunShard | undefined>(
    (best, s) => (best === undefined || s.rows > best.rows ? s : best),
    undefined,
  );
  const memory = estimateMemory({
    shardRows: largest?.rows ?? 0,
    pairs: (largest?.pairs ?? []).map((pair) => ({ dim: pair.dim, elementBytes: pair.dtype === 'f2' ? 2 : 4 })),
    batch: options.batchSize,
    precision: options.precision,
    normalize: options.normalize,
    target: target && { rows: target.rows, dim: target.dim, elementBytes: target.elementBytes, p },
    threads: info.threads,
  });
  const calibrationList = [...calibrations.values()];
  const report: DryRunReport = {
    command: 'score',
    dryRun: true,
    out: options.out,
    shards: sized,
    totals: {
      shards: sized.length,
      toScore: todo.length,
      upToDate: sized.length - todo.length,
      rows: sized.reduce((n, s) => n + s.rows, 0),
      rowsToScore,
      flops,
    },
    settings: {
      batchSize: options.batchSize,
      repeats: options.repeats,
      temperature: options.temperature,
      p: target ? (p === Infinity ? 'inf' : p) : null,
      targetRows: target?.rows ?? null,
    },
    engine: { runtime: info.runtime, threads: info.threads, simd: info.simd, precision: info.precision },
    calibration: {
      batch: calibrationList[0]?.batch ?? 0,
      batches: calibrationList[0]?.batches ?? 0,
      seconds: round(calibrationList.reduce((n, c) => n + c.seconds, 0)),
      secondsPerNegClipPair: Object.fromEntries([...calibrations].map(([dim, c]) => [`dim${dim}`, c.negClipPair])),
    },
    estimate: {
      seconds: round(estimate.clipScore + estimate.negClipLoss + estimate.normSim),
      clipScore: round(estimate.clipScore),
      negClipLoss: round(estimate.negClipLoss),
      normSim: round(estimate.normSim),
      cpuSeconds: cpuSeconds === null ? null : round(cpuSeconds),
      idleSeconds: cpuSeconds === null ? null : round(cpuSeconds / info.threads),
      loadAverage: loadAverage(),
    },
    memory: { ...memory, largestShard: largest?.shard ?? null },
  };
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : describe(report, target !== undefined));
  return 0;
}

/** The report for people. */
function describe(r: DryRunReport, hasTarget: boolean): string {
  const lines: string[] = [];
  const t = r.totals;
  lines.push(`dry run: nothing is written; sizes from the files' headers (no embedding read)`);
  lines.push(
    `shards   ${formatCount(t.shards)} (${formatCount(t.toScore)} to score${t.upToDate ? `, ${formatCount(t.upToDate)} up to date in ${r.out}` : ''})`,
  );
  const shown = r.shards.slice(0, 20);
  const width = Math.max(...shown.map((s) => s.shard.length), 5);
  for (const s of shown) {
    const pairs = s.pairs.map(
      (pair) => `${pair.arch ? `${pair.arch} ` : ''}dim ${pair.dim} ${pair.dtype === 'f2' ? 'float16' : 'float32'}`,
    );
    lines.push(
      `  ${s.shard.padEnd(width)}  ${formatCount(s.rows).padStart(11)} rows  ${pairs.join(', ')}  ${s.status}`,
    );
  }
  if (r.shards.length > shown.length) lines.push(`  … and ${formatCount(r.shards.length - shown.length)} more`);
  lines.push(`rows     ${formatCount(t.rowsToScore)} to score (${formatCount(t.rows)} in all)`);
  const s = r.settings;
  lines.push(
    `flops    at batch ${formatCount(s.batchSize)}, ${s.repeats} repeat${s.repeats === 1 ? '' : 's'}` +
      `${hasTarget ? `, a target of ${formatCount(s.targetRows ?? 0)} rows, p = ${s.p}` : ''} (a multiply-add counts 2):`,
  );
  const f = t.flops;
  const row = (name: string, formula: string, value: number) =>
    lines.push(`  ${name.padEnd(12)} ${formula.padEnd(34)} ${formatFlops(value).padStart(11)}`);
  row('CLIPScore', '2·rows·dim', f.clipScore);
  row('negCLIPLoss', '2·dim·repeats·Σ batch² (per shard)', f.negClipLoss);
  if (hasTarget) {
    const column = normSimColumn(s.p === 'inf' ? Infinity : Number(s.p));
    row(column, f.gram > 0 ? '2·rows·dim² (Gram matrix)' : '2·rows·targetRows·dim', f.normSim);
    if (f.gram > 0) row('Gram', '2·targetRows·dim², once', f.gram);
  }
  row('total', '', f.total);
  lines.push(`engine   ${r.engine.runtime}, ${describeEngine(r.engine)}, ${r.engine.precision}`);
  const e = r.estimate;
  const load = e.loadAverage !== null ? `; load average ${e.loadAverage.toFixed(1)}` : '';
  lines.push(
    `time     ~${formatDuration(e.seconds)} of scoring on this machine at its present load${load}` +
      (e.cpuSeconds !== null && e.idleSeconds !== null
        ? ` (${formatDuration(e.cpuSeconds)} of CPU time: ~${formatDuration(e.idleSeconds)} on ${r.engine.threads} idle core${r.engine.threads === 1 ? '' : 's'})`
        : ''),
  );
  lines.push(
    `         an estimate, from a ${formatDuration(r.calibration.seconds)} calibration run of the engine (${r.calibration.batches} negCLIPLoss batches of ${formatCount(r.calibration.batch)} rows) just now; reading the files comes on top`,
  );
  const m = r.memory;
  lines.push(
    `memory   ~${formatBytes(m.total)} at the peak — an estimate: largest shard ${m.largestShard ?? '-'}'s embeddings ${formatBytes(m.embeddings)},` +
      ` row state ${formatBytes(m.rowState)}, wasm buffers ${formatBytes(m.wasm)}${m.target ? `, target ${formatBytes(m.target)}` : ''}, heap headroom ${formatBytes(m.heapSlack)}, runtime ${formatBytes(m.runtime)}`,
  );
  return `${lines.join('\n')}\n`;
}

/** 1.23 TFLOP, 456 MFLOP… */
export function formatFlops(flops: number): string {
  const units = ['FLOP', 'kFLOP', 'MFLOP', 'GFLOP', 'TFLOP', 'PFLOP', 'EFLOP'];
  let value = flops;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toPrecision(3)} ${units[unit]}`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toPrecision(3)} ${units[unit]}`;
}

function loadAverage(): number | null {
  try {
    const [one] = loadavg();
    return one ?? null;
  } catch {
    // Deno without --allow-sys.
    return null;
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
