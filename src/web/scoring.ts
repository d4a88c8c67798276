/**
 * Scores a loaded pool. The sample pool is scored by src/sample's scoreSamplePool, exactly as
 * `clipsift demo` scores it; dropped shards with `clipsift score`'s parameters and per-shard seeds.
 * Same SIMD build, same bits: the page's columns equal the CLI's.
 */
import { deriveSeed, NEGCLIP_LOSS_DEFAULTS, type Engine, type Target } from '../index.js';
import { CLIP_SCORE_COLUMN, NEGCLIP_LOSS_COLUMN, normSimColumn } from '../io/score-file.js';
import { scoreSamplePool } from '../sample/demo.js';
import type { LoadedPool, ProgressReport } from './pool-input.js';

export interface ScoreColumnsResult {
  columns: Record<string, Float32Array>;
  /** The column the NormSim slider selects by; null without a target. */
  normsimColumn: string | null;
}

export async function scorePool(
  engine: Engine,
  pool: LoadedPool,
  p: number,
  progress: ProgressReport,
): Promise<ScoreColumnsResult> {
  if (pool.scores) {
    // Score files dropped to explore: the NormSim column is the p asked for, else the one they have.
    const normsims = Object.keys(pool.scores).filter((column) => column.startsWith('normsim_'));
    const wanted = normSimColumn(p);
    return { columns: pool.scores, normsimColumn: normsims.includes(wanted) ? wanted : (normsims[0] ?? null) };
  }
  if (pool.sample) {
    progress('scoring the sample pool: CLIPScore, negCLIPLoss, NormSim∞ and NormSim₂');
    const scores = await scoreSamplePool(engine, pool.sample);
    return { columns: { ...scores }, normsimColumn: normSimColumn(p) };
  }
  return scoreShards(engine, pool, p, progress);
}

async function scoreShards(
  engine: Engine,
  pool: LoadedPool,
  p: number,
  progress: ProgressReport,
): Promise<ScoreColumnsResult> {
  const normsimColumn = pool.target ? normSimColumn(p) : null;
  let target: Target | null = null;
  if (pool.target) {
    progress(`preparing the NormSim target (${pool.target.rows.toLocaleString('en-US')} rows)`);
    target = await engine.prepareTarget(pool.target, { p });
  }
  const columns: Record<string, Float32Array> = {
    [CLIP_SCORE_COLUMN]: new Float32Array(pool.rows),
    [NEGCLIP_LOSS_COLUMN]: new Float32Array(pool.rows),
  };
  if (normsimColumn) columns[normsimColumn] = new Float32Array(pool.rows);

  // Progress in rows: each shard counts once per score.
  const total = pool.rows * (target ? 3 : 2);
  let done = 0;
  let offset = 0;
  for (const shard of pool.shards) {
    const where = pool.shards.length > 1 ? ` · ${shard.name}` : '';
    progress(`reading embeddings${where}`, done, total);
    const { img, txt } = await shard.read();
    progress(`CLIPScore${where}`, done, total);
    columns[CLIP_SCORE_COLUMN]!.set(await engine.clipScore(img, txt), offset);
    done += shard.rows;
    progress(`negCLIPLoss${where}`, done, total);
    const seed = deriveSeed(NEGCLIP_LOSS_DEFAULTS.seed, shard.name);
    columns[NEGCLIP_LOSS_COLUMN]!.set(await engine.negClipLoss(img, txt, { ...NEGCLIP_LOSS_DEFAULTS, seed }), offset);
    done += shard.rows;
    if (target && normsimColumn) {
      progress(`NormSim${where}`, done, total);
      columns[normsimColumn]!.set(await engine.normSim(img, target), offset);
      done += shard.rows;
    }
    offset += shard.rows;
  }
  progress('done', total, total);
  return { columns, normsimColumn };
}
