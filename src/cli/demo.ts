/**
 * `clipsift demo`: the main job on the built-in sample pool, for a first look at what each selection
 * method keeps and drops. Generation, scoring and selection live in src/sample/demo.ts; this is the shell.
 */
import process from 'node:process';
import { createEngine } from '../index.js';
import { generateSamplePool } from '../sample/pool.js';
import { formatDemoReport, runDemo, type DemoReport } from '../sample/demo.js';
import { numberOption, parseCommandArgs, threadsOption, UsageError } from './args.js';

/** The built-in pool is generated in memory (768-dim float16 pairs, ~3 KB a row): a demo, not a benchmark. */
const MAX_DEMO_ROWS = 100_000;
import type { Command } from './command.js';

const USAGE = `usage: clipsift demo [--seed N] [--rows N] [--iterations T] [--threads N|auto] [--json]

Generates the built-in sample pool (DataComp-shaped: image-text pairs in 12 topics, float16 768-d
embeddings, with planted defects: mismatched captions, generic captions, near-duplicates, and pairs
far from the target data), scores it with CLIPScore, negCLIPLoss (one batch of the whole pool) and
NormSim against an ImageNet-like target, then selects with each method at the paper's budgets and
prints the share of each kind of pair it keeps.

options:
  --seed N          sample pool seed (default 0); the same seed gives the same pool everywhere
  --rows N          pairs in the pool (default 4000, at least 100, at most 100000)
  --iterations T    NormSim_2-D rounds (default 500)
  --threads N|auto  engine threads (default 1; at most 4 × cores)
  --json            print the report as JSON (kept rows per method and kind, example captions)
  -h, --help        show this help`;

const OPTIONS = {
  seed: { type: 'string' },
  rows: { type: 'string' },
  iterations: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length > 0) throw new Error(`demo takes no positional arguments, got '${positionals[0]}'`);
  const seed = numberOption('seed', values.seed, 0, { integer: true, min: 0 });
  const rows = numberOption('rows', values.rows, 4000, { integer: true, min: 100 });
  if (rows > MAX_DEMO_ROWS)
    throw new UsageError(
      `--rows must be at most ${MAX_DEMO_ROWS} (the demo pool is generated in memory, ~3 KB a row); score your own data with clipsift score, got '${values.rows}'`,
    );
  const iterations = numberOption('iterations', values.iterations, 500, { integer: true, positive: true });
  const threads = values.threads === undefined ? 1 : threadsOption(values.threads);

  const pool = generateSamplePool({ seed, rows });
  const engine = await createEngine({ threads });
  let report: DemoReport;
  try {
    report = await runDemo(engine, pool, { iterations });
  } finally {
    await engine.close();
  }
  process.stdout.write(`${values.json ? JSON.stringify(toJson(report), null, 2) : formatDemoReport(report)}\n`);
  return 0;
}

/** The report without typed arrays: counts per method, and the example captions. */
function toJson(report: DemoReport): unknown {
  return {
    rows: report.rows,
    seed: report.seed,
    targetRows: report.targetRows,
    totalByKind: report.totalByKind,
    methods: report.methods.map((m) => ({ label: m.label, kept: m.rows.length, keptByKind: m.keptByKind })),
    demotedCount: report.demotedCount,
    examples: report.examples,
  };
}

export const command: Command = {
  name: 'demo',
  summary: 'run the main job on a built-in sample pool and show what each method keeps and drops',
  usage: USAGE,
  run,
};
