/**
 * The column names of score files (see score-file.ts, which owns the format and re-exports these).
 * A module of its own, importing nothing, so code that names score columns without reading or
 * writing parquet (the edge handler) does not bundle the parquet codec.
 */

/** CLIPScore: img_i · txt_i. */
export const CLIP_SCORE_COLUMN = 'clip_score';
/** negCLIPLoss: CLIPScore minus the batch normalisation. */
export const NEGCLIP_LOSS_COLUMN = 'negclip_loss';
/** Every NormSim column starts with this; the rest names p (see normSimColumn). */
export const NORMSIM_COLUMN_PREFIX = 'normsim_';
/** The DataComp uid key column (the only key a subset file can name rows by). */
export const UID_COLUMN = 'uid';
/** The file name suffix of score files: `<shard>.scores.parquet`. */
export const SCORE_FILE_SUFFIX = '.scores.parquet';

/** The NormSim column for p: `normsim_inf`, `normsim_2`, or `normsim_p<p>` (e.g. normsim_p3). */
export function normSimColumn(p: number): string {
  return p === Infinity ? 'normsim_inf' : p === 2 ? 'normsim_2' : `normsim_p${p}`;
}

/**
 * The name of a score column in a run that scores several embedding pairs: the base name with the
 * arch appended (`negclip_loss_l14`, `normsim_inf_b32`); a single-arch run (arch undefined) keeps the
 * base name (`negclip_loss`).
 */
export function archColumn(base: string, arch?: string): string {
  return arch === undefined ? base : `${base}_${arch}`;
}

/**
 * True for the names of score columns (clip_score, negclip_loss, normsim_*, each optionally with an
 * `_<arch>` suffix); the rest are keys.
 */
export function isScoreColumn(name: string): boolean {
  return (
    name === CLIP_SCORE_COLUMN ||
    name === NEGCLIP_LOSS_COLUMN ||
    name.startsWith(`${CLIP_SCORE_COLUMN}_`) ||
    name.startsWith(`${NEGCLIP_LOSS_COLUMN}_`) ||
    name.startsWith(NORMSIM_COLUMN_PREFIX)
  );
}

/** The score file name of a shard: `<shard>.scores.parquet`. */
export function scoreFileName(shard: string): string {
  return `${shard}${SCORE_FILE_SUFFIX}`;
}
