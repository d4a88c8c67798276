/**
 * The demo's main job on the sample pool: score it, select with each method at the paper's budgets,
 * and count what each method keeps of every planted defect. Runtime-neutral (no node: imports) so the
 * CLI and the browser can both run it; the engine is passed in.
 */
import { allRows, runSteps, type SelectionStep } from '../select/steps.js';
import { normSim2D, gatherRows, type NormSimEngine } from '../select/normsim-d.js';
import { ROW_KINDS, type Float16Matrix, type RowKind, type SamplePool } from './pool.js';

/** The engine operations the demo uses (the real Engine satisfies this). */
export interface DemoEngine<Target> extends NormSimEngine<Target> {
  clipScore(img: Float16Matrix, txt: Float16Matrix): Promise<Float32Array>;
  negClipLoss(
    img: Float16Matrix,
    txt: Float16Matrix,
    options: { batchSize: number; repeats: number },
  ): Promise<Float32Array>;
}

/** The pool's scores, one value per row. */
export interface DemoScores {
  clip_score: Float32Array;
  negclip_loss: Float32Array;
  normsim_inf: Float32Array;
  normsim_2: Float32Array;
}

/** One selection method and what it kept. */
export interface MethodOutcome {
  label: string;
  /** Kept rows, ascending. */
  rows: Uint32Array;
  /** Kept rows of each kind. */
  keptByKind: Record<RowKind, number>;
}

/** A caption CLIPScore keeps and negCLIPLoss drops, with both scores' ranks (1 = best). */
export interface DemotedExample {
  row: number;
  caption: string;
  kind: RowKind;
  clipScoreRank: number;
  negClipLossRank: number;
}

export interface DemoReport {
  rows: number;
  seed: number;
  targetRows: number;
  totalByKind: Record<RowKind, number>;
  methods: MethodOutcome[];
  /** How many rows CLIPScore's selection keeps that negCLIPLoss's drops. */
  demotedCount: number;
  examples: DemotedExample[];
}

/** Fraction of the pool kept by single-score methods and by negCLIPLoss before NormSim, as in the paper. */
export const FIRST_CUT = 0.3;
/** Fraction of the pool kept after NormSim. */
export const SECOND_CUT = 0.2;

/** Scores `pool` with the engine (negCLIPLoss over one batch of the whole pool). */
export async function scoreSamplePool<Target>(engine: DemoEngine<Target>, pool: SamplePool): Promise<DemoScores> {
  const rows = pool.image.rows;
  return {
    clip_score: await engine.clipScore(pool.image, pool.text),
    // One batch holding the whole pool: the result does not depend on the shuffle, so one repeat suffices.
    negclip_loss: await engine.negClipLoss(pool.image, pool.text, { batchSize: rows, repeats: 1 }),
    normsim_inf: await engine.normSim(pool.image, await engine.prepareTarget(pool.target, { p: Infinity })),
    normsim_2: await engine.normSim(pool.image, await engine.prepareTarget(pool.target, { p: 2 })),
  };
}

/** Scores and selects with every method; `iterations` is NormSim_2-D's T. */
export async function runDemo<Target>(
  engine: DemoEngine<Target>,
  pool: SamplePool,
  options: { iterations?: number } = {},
): Promise<DemoReport & { scores: DemoScores }> {
  const scores = await scoreSamplePool(engine, pool);
  const n = pool.image.rows;
  const compareRows = (a: number, b: number): number =>
    pool.uids[a]! < pool.uids[b]! ? -1 : pool.uids[a]! > pool.uids[b]! ? 1 : 0;
  const table = { columns: { ...scores }, compareRows };
  const select = (steps: SelectionStep[]): Uint32Array => runSteps(table, steps).rows;
  const top = (column: keyof DemoScores, fraction: number): SelectionStep => ({ kind: 'top', column, fraction });

  const byClip = select([top('clip_score', FIRST_CUT)]);
  const byNegClip = select([top('negclip_loss', FIRST_CUT)]);
  const withNormSimInf = select([top('negclip_loss', FIRST_CUT), top('normsim_inf', SECOND_CUT)]);
  const withNormSim2 = select([top('negclip_loss', FIRST_CUT), top('normsim_2', SECOND_CUT)]);
  const normSimD = await normSim2D(engine, gatherRows(pool.image, byNegClip), {
    finalSize: Math.floor(n * SECOND_CUT),
    iterations: options.iterations ?? 500,
    compareRows: (a, b) => compareRows(byNegClip[a]!, byNegClip[b]!),
  });
  const withNormSimD = normSimD.rows.map((k) => byNegClip[k]!);

  const percent = (f: number): string => `${Math.round(f * 100)}%`;
  const outcome = (label: string, rows: Uint32Array): MethodOutcome => ({
    label,
    rows,
    keptByKind: countKinds(pool.kinds, rows),
  });
  const methods = [
    outcome(`CLIPScore top ${percent(FIRST_CUT)}`, byClip),
    outcome(`negCLIPLoss top ${percent(FIRST_CUT)}`, byNegClip),
    outcome(`negCLIPLoss ${percent(FIRST_CUT)} ∩ NormSim∞ ${percent(SECOND_CUT)}`, withNormSimInf),
    outcome(`negCLIPLoss ${percent(FIRST_CUT)} ∩ NormSim₂ ${percent(SECOND_CUT)}`, withNormSim2),
    outcome(`negCLIPLoss ${percent(FIRST_CUT)} → NormSim₂-D ${percent(SECOND_CUT)}`, withNormSimD),
  ];

  const negClipKept = new Set(byNegClip);
  const demoted = [...byClip].filter((row) => !negClipKept.has(row));
  const clipRank = ranks(scores.clip_score, compareRows);
  const negRank = ranks(scores.negclip_loss, compareRows);
  demoted.sort((a, b) => clipRank[a]! - clipRank[b]!);
  const examples: DemotedExample[] = [];
  const shown = new Set<string>();
  for (const row of demoted) {
    if (examples.length === 5) break;
    if (shown.has(pool.captions[row]!)) continue; // one line per caption text
    shown.add(pool.captions[row]!);
    examples.push({
      row,
      caption: pool.captions[row]!,
      kind: pool.kinds[row]!,
      clipScoreRank: clipRank[row]!,
      negClipLossRank: negRank[row]!,
    });
  }

  return {
    rows: n,
    seed: pool.seed,
    targetRows: pool.target.rows,
    totalByKind: countKinds(pool.kinds, allRows(n)),
    methods,
    demotedCount: demoted.length,
    examples,
    scores,
  };
}

/** The report as a short plain-text table, for a terminal (under 100 columns). */
export function formatDemoReport(report: DemoReport): string {
  const percent = (part: number, total: number): string => (total === 0 ? '–' : `${Math.round((100 * part) / total)}%`);
  // One row per method: rows kept, the share of each kind it keeps, and the share of its selection that is defects.
  const header = ['kept', ...ROW_KINDS, 'defects'];
  const rowOf = (label: string, kept: number, cells: string[], byKind: Record<RowKind, number>): string[] => [
    label,
    String(kept),
    ...cells,
    percent(kept - byKind.clean, kept),
  ];
  const table = [
    ['', ...header],
    rowOf(
      'pool',
      report.rows,
      ROW_KINDS.map((k) => String(report.totalByKind[k])),
      report.totalByKind,
    ),
    ...report.methods.map((m) =>
      rowOf(
        m.label,
        m.rows.length,
        ROW_KINDS.map((k) => percent(m.keptByKind[k], report.totalByKind[k])),
        m.keptByKind,
      ),
    ),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const lines = table.map(
    (row) => `  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]! + 2))).join('')}`,
  );

  const out: string[] = [];
  out.push(
    `clipsift demo: ${report.rows} image-text pairs (sample pool, seed ${report.seed}), NormSim target: ${report.targetRows} ImageNet-like images.`,
  );
  out.push("Each method's share of every kind of pair kept: clean pairs should stay, planted defects should go.");
  out.push('');
  out.push(...lines);
  out.push('');
  out.push('  mismatched: caption of another topic    generic: "photo of a thing"-style caption that fits any image');
  out.push('  duplicate: near-identical copies        off-target: good pair, far from the target data');
  out.push("  defects: share of the method's selection that is planted defects");
  out.push('');
  out.push(
    `${report.demotedCount} pairs are kept by CLIPScore but dropped by negCLIPLoss, e.g. (rank 1 = best of ${report.rows}):`,
  );
  const captionWidth = Math.min(40, Math.max(...report.examples.map((e) => e.caption.length + 2), 10));
  for (const e of report.examples) {
    const caption = `"${e.caption}"`.padEnd(captionWidth);
    out.push(
      `  ${caption}  ${e.kind.padEnd(10)}  CLIPScore rank ${String(e.clipScoreRank).padStart(4)}, negCLIPLoss rank ${String(e.negClipLossRank).padStart(4)}`,
    );
  }
  return out.join('\n');
}

function countKinds(kinds: readonly RowKind[], rows: Uint32Array): Record<RowKind, number> {
  const counts = Object.fromEntries(ROW_KINDS.map((k) => [k, 0])) as Record<RowKind, number>;
  for (const row of rows) counts[kinds[row]!]++;
  return counts;
}

/** Rank of every row by descending score (1 = best), ties by `compareRows`. */
function ranks(scores: Float32Array, compareRows: (a: number, b: number) => number): Uint32Array {
  const order = [...allRows(scores.length)].sort((a, b) => scores[b]! - scores[a]! || compareRows(a, b));
  const rank = new Uint32Array(scores.length);
  order.forEach((row, k) => {
    rank[row] = k + 1;
  });
  return rank;
}
