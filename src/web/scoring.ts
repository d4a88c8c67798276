/**
 * Scores a loaded pool shard by shard with the same parameters and per-shard seeds as
 * `clipsift score`, so the page's columns are the CLI's score files, bit for bit (same SIMD variant).
 */
import { deriveSeed, type Engine, type Target } from '../index.js';
import type { LoadedPool, ProgressReport } from './pool-input.js';

/** `clipsift score`'s defaults (the paper's): batch 32768, τ = 0.01, 10 shuffles, seed 0. */
export const NEGCLIP_DEFAULTS = { batchSize: 32768, temperature: 0.01, repeats: 10, seed: 0 } as const;

export interface ScoreColumnsResult {
  columns: Record<string, Float32Array>;
  normsimColumn: string | null;
}

/** The score-file column name for NormSim_p: normsim_inf, normsim_2, normsim_p<p>. */
export function normsimColumnName(p: number): string {
  return p === Infinity ? 'normsim_inf' : Number.isInteger(p) && p === 2 ? 'normsim_2' : `normsim_p${p}`;
}

export async function scorePool(engine: Engine, pool: LoadedPool, p: number, progress: ProgressReport): Promise<ScoreColumnsResult> {
  const normsimColumn = pool.target ? normsimColumnName(p) : null;
  let target: Target | null = null;
  if (pool.target) {
    progress(`preparing the NormSim target (${pool.target.rows.toLocaleString('en-US')} rows)`);
    target = await engine.prepareTarget(pool.target, { p });
  }
  const columns: Record<string, Float32Array> = {
    clip_score: new Float32Array(pool.rows),
    negclip_loss: new Float32Array(pool.rows),
  };
  if (normsimColumn) columns[normsimColumn] = new Float32Array(pool.rows);

  const steps = pool.shards.length * (target ? 3 : 2);
  let step = 0;
  let offset = 0;
  for (const shard of pool.shards) {
    const where = pool.shards.length > 1 ? ` · ${shard.name}` : '';
    progress(`reading embeddings${where}`, step, steps);
    const { img, txt } = await shard.read();
    progress(`CLIPScore${where}`, step, steps);
    columns.clip_score!.set(await engine.clipScore(img, txt), offset);
    progress(`negCLIPLoss${where}`, ++step, steps);
    const seed = deriveSeed(NEGCLIP_DEFAULTS.seed, shard.name);
    columns.negclip_loss!.set(await engine.negClipLoss(img, txt, { ...NEGCLIP_DEFAULTS, seed }), offset);
    ++step;
    if (target && normsimColumn) {
      progress(`NormSim${where}`, step, steps);
      columns[normsimColumn]!.set(await engine.normSim(img, target), offset);
      ++step;
    }
    offset += shard.rows;
  }
  progress('done', steps, steps);
  return { columns, normsimColumn };
}
