/**
 * Messages between the page (main.ts) and the scoring worker (score-worker.ts). Scoring runs in a
 * worker so the page keeps answering while the engine works; the worker itself may start the
 * engine's thread pool when the page is cross-origin isolated.
 */

/** A dropped file and its path in the drop: under the dropped folder's name ('clip/img_emb/img_emb_0.npy'), or just its name. */
export interface DroppedFile {
  path: string;
  file: File;
}

/** A NormSim target: a dropped file, or the http(s) URL of one (a string). */
export type TargetInput = File | string;

/** What to score: the built-in sample pool, files the user dropped, or http(s) URLs of pool files or folders. */
export type PoolRequest =
  | { kind: 'sample' }
  | { kind: 'files'; files: DroppedFile[]; target: TargetInput | null; arch: 'l14' | 'b32' }
  | { kind: 'urls'; urls: string[]; target: TargetInput | null; arch: 'l14' | 'b32' };

export interface ScoreJob {
  pool: PoolRequest;
  /** NormSim's p: Infinity or 2. */
  p: number;
  /** SIMD build: 'auto' picks relaxed where the browser has it; `?simd=baseline` in the page URL forces
   * the build Node 20 runs, whose scores equal the CLI's bit for bit. Read when the engine opens. */
  simd: 'auto' | 'baseline' | 'relaxed';
  /** The similarity GEMM's precision, from the page's toggle (default i16: README "Precision" says why). */
  precision: 'f32' | 'i16';
}

/** What the engine reports about itself, shown in the page header. */
export interface EngineSummary {
  runtime: string;
  threads: number;
  simd: string;
  precision: string;
}

/** A pool's rows as the page shows them: one entry per row in every array. */
export interface PoolRows {
  /** Where the rows came from, for the page ("sample pool", file names). */
  source: string;
  rows: number;
  /** DataComp uids (32 hex digits) when the input has them, else keys like "img_emb_0.npy:17". */
  ids: string[];
  /** Whether `ids` are uids, i.e. whether a DataComp subset.npy can be written. */
  hasUids: boolean;
  /** The same uids as src/io's 4-word arrays (tie-breaks, subset.npy); null without uids. */
  uids: Uint32Array | null;
  captions: (string | null)[];
  urls: (string | null)[];
  /** The sample pool's planted defect per row (clean, mismatched, …); absent for real data. */
  kinds: string[] | null;
  /** What NormSim is measured against, for the page ("target.npy: 1,000 rows × 768"); null without a target. */
  targetDescription: string | null;
}

/** A scored pool: its rows and their scores. */
export interface ScoredPool extends PoolRows {
  /** Score columns by their score-file names: clip_score, negclip_loss, and normsim_inf / normsim_2 with a target. */
  scores: Record<string, Float32Array>;
  /** The NormSim column's name when a target was given. */
  normsimColumn: string | null;
  engine: EngineSummary;
}

export type WorkerReply =
  | { type: 'progress'; phase: string; done: number; total: number }
  | { type: 'result'; pool: ScoredPool }
  | { type: 'error'; message: string };
