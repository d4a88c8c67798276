/**
 * The map step as one self-contained task: a shard (as listed) + every parameter that changes its
 * scores → its score file, written atomically. A cluster worker runs one task per job; a task carries
 * plain JSON only, so it can cross a queue. The runner keeps what is expensive to rebuild between
 * tasks: one engine per kernel variant and the last target, recognised by content hash (not path).
 */
import { mkdir } from 'node:fs/promises';
import { createEngine, type Engine, type Target } from '../index.js';
import { InputError, OutputError } from '../io/errors.js';
import type { FileSystem } from '../io/file-system.js';
import type { Arch, ShardRef } from '../io/layouts.js';
import { openFileSource, writeFileAtomic } from '../io/node-files.js';
import {
  encodeScoreFile,
  normSimColumn,
  readScoreTable,
  scoreFileName,
  scoreMetadata,
  type TargetIdentity,
} from '../io/score-file.js';
import { formatUid, parseUids, uidCount } from '../io/uid.js';
import { gatherRows } from '../select/normsim-d.js';
import { IdentitySet } from './duplicates.js';
import { scoreFileState, shardParameters, type ScoringSettings } from './plan.js';
import { survivorDir } from './recipe.js';
import { prepareShardRows, scoreShard, type ShardProgress } from './score-shard.js';
import { survivingRows, type StepCut } from './survivors.js';
import { openScoreShard } from './shards.js';
import { shardStatsRecord, writeShardStats } from './stats.js';
import { loadTarget, type LoadedTarget } from './target.js';
import { clipsiftVersion } from './version.js';

/** Norms further than this from 1 are reported as not unit-norm (the CLI's tolerance). */
const NORM_TOLERANCE = 1e-2;

/** One shard's work, as plain JSON. */
export interface ShardTask {
  /** The shard as listed by the submitter; its paths must be valid where the task runs. */
  ref: ShardRef;
  /** Directory of score files (`<out>/<shard>.scores.parquet`). */
  out: string;
  arch: Arch;
  /** Further pairs scored in the same run (`--arch l14 --arch b32`); `arch` is the one NormSim uses. */
  extraArchs: Arch[];
  keyColumn: string | null;
  /** The embedding arrays read, when named (--img-key/--txt-key) instead of by arch. */
  imageKey: string | null;
  textKey: string | null;
  /** As ScoringSettings, with p = ∞ spelled 'inf' (JSON has no Infinity). */
  settings: Omit<ScoringSettings, 'p'> & { p: number | 'inf' };
  /** The kernel variant, pinned by the submitter so every worker writes the same bytes. */
  simd: 'baseline' | 'relaxed';
  /** The NormSim target and the content it must have. */
  target: { paths: string[]; key: string | null; sha256: string } | null;
  /** The submitter's clipsift: score files record it, so every worker must run the same one. */
  clipsiftVersion: string;
  /** The run's shard count, recorded in every score file so select can tell an unfinished run. */
  runShards: number;
  /** Replace a score file computed with other parameters (score --queue --force); absent means false. */
  force?: boolean;
}

/**
 * NormSim of one shard's survivors (clipsift run): the rows of its negCLIPLoss score file
 * (`<out>/<shard>.scores.parquet`, which must be complete) that pass `cuts`, scored against the task's
 * target into `<out>/<normsim column>/<shard>.scores.parquet` (pipeline/recipe.ts has the layout).
 */
export interface SurvivorTask {
  /** The shard, with the target and p; its negCLIPLoss score file has the same parameters without the target. */
  shard: ShardTask;
  cuts: StepCut[];
}

/** What a survivor task did. */
export interface SurvivorTaskResult {
  shard: string;
  /** Rows of the shard's score file, and how many of them survive. */
  rows: number;
  survivors: number;
  /** True when a survivor file with these parameters already held every survivor's NormSim. */
  alreadyDone: boolean;
}

/** What a task did. */
export interface ShardTaskResult {
  shard: string;
  /** Rows in the shard. */
  rows: number;
  /** Rows in the score file (after dropped rows); 0 when it was already done. */
  written: number;
  /** True when a complete score file with these parameters was already there. */
  alreadyDone: boolean;
}

/** Runs tasks, keeping engines and the target between them. */
export class ShardTaskRunner {
  private readonly engines = new Map<string, Promise<Engine>>();
  private target: { key: string; loaded: LoadedTarget; prepared: Map<string, Promise<Target>> } | undefined;

  /**
   * @param threads kernel threads of each engine
   * @param warn where warnings about a shard's data go
   * @param files what the shards are read through (default: the local disk and URLs; a local `clipsift run`
   *   on signed URLs passes io/remote.ts signedInputs' file system)
   */
  constructor(
    private readonly threads: number | 'auto',
    private readonly warn: (message: string) => void = () => {},
    private readonly files?: FileSystem,
  ) {}

  /** Scores `task`'s shard into its score file unless a complete one with its parameters exists. */
  async run(task: ShardTask, progress?: ShardProgress): Promise<ShardTaskResult> {
    const { settings, shard } = await this.open(task);
    try {
      const target = task.target ? await this.loadTarget(task) : undefined;
      const parameters = shardParameters(shard, settings, target?.identity ?? null);
      const outPath = `${task.out.replace(/[\\/]+$/, '')}/${scoreFileName(shard.name)}`;
      const before = await scoreFileState(outPath, parameters);
      if (before.kind === 'done') return { shard: shard.name, rows: shard.img.rows, written: 0, alreadyDone: true };
      if (before.kind === 'different' && !task.force) {
        throw new OutputError(outPath, `exists with other parameters: ${before.differences.join(', ')}`);
      }
      const engine = await this.engine(task.simd, settings.precision);
      const prepared = target ? await this.prepare(engine, task.simd, settings.p) : undefined;
      const info = engine.info();
      const started = performance.now();
      const record = {
        shard: shard.name,
        rows: shard.img.rows,
        engine: { runtime: info.runtime, threads: info.threads, simd: info.simd, precision: info.precision },
        runShards: task.runShards,
      };
      try {
        const outcome = await scoreShard(shard, 0, outPath, parameters, new IdentitySet(1 << 12), {
          engine,
          batchSize: settings.batchSize,
          temperature: settings.temperature,
          repeats: settings.repeats,
          target: prepared && target ? { prepared, dim: target.dim, column: normSimColumn(settings.p) } : undefined,
          skipInvalid: settings.skipInvalid,
          normalize: settings.normalize,
          // A file whose inputs or target changed since it was written is replaced (as clipsift score does),
          // and with --force one computed with other parameters.
          force: before.kind === 'changed' || before.kind === 'different',
          normTolerance: NORM_TOLERANCE,
          provenance: {
            clipsiftVersion: clipsiftVersion(),
            engineVariant: engine.info().simd,
            runShards: task.runShards,
          },
          warn: this.warn,
          progress: progress ?? { add() {}, phase: undefined, redraw() {} },
        });
        // The shard's stats record, beside its score file (the submitter summarises them in _stats.json).
        const seconds = (performance.now() - started) / 1000;
        await writeShardStats(task.out, shardStatsRecord({ ...record, seconds, outcome }));
        return { shard: shard.name, rows: outcome.rows, written: outcome.written, alreadyDone: false };
      } catch (error) {
        // Another worker that held this shard before us (a lock that expired) may have finished first:
        // its file has the same parameters and, scores being deterministic, the same bytes.
        if (error instanceof OutputError && (await scoreFileState(outPath, parameters)).kind === 'done') {
          return { shard: shard.name, rows: shard.img.rows, written: 0, alreadyDone: true };
        }
        const seconds = (performance.now() - started) / 1000;
        const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
        await writeShardStats(task.out, shardStatsRecord({ ...record, seconds, error: message })).catch(() => {});
        throw error;
      }
    } finally {
      await shard.close();
    }
  }

  /**
   * Computes NormSim for the survivors of `task`'s shard, unless its survivor file already holds them
   * (computed with the same parameters, target and kernel variant).
   */
  async runSurvivors(task: SurvivorTask): Promise<SurvivorTaskResult> {
    const base = task.shard;
    if (!base.target) throw new Error('a survivor task needs a target');
    const { settings, shard } = await this.open(base);
    try {
      const target = await this.loadTarget(base);
      const column = normSimColumn(settings.p);
      const out = base.out.replace(/[\\/]+$/, '');
      const scorePath = `${out}/${scoreFileName(shard.name)}`;
      if ((await scoreFileState(scorePath, shardParameters(shard, settings, null), base.simd)).kind !== 'done')
        throw new InputError(
          scorePath,
          'is missing or was computed with other parameters or inputs; the negCLIPLoss step writes it first',
        );
      const scored = await readTable(scorePath, [...new Set(task.cuts.map((c) => c.column))]);
      const rows = survivingRows(scored.uids, scored.columns, task.cuts);
      const wanted = Array.from(rows, (row) => formatUid(scored.uids, row));
      const result = { shard: shard.name, rows: uidCount(scored.uids), survivors: rows.length };
      const parameters = shardParameters(shard, settings, target.identity);
      const dir = survivorDir(out, column);
      const outPath = `${dir}/${scoreFileName(shard.name)}`;
      const before = await scoreFileState(outPath, parameters, base.simd);
      if (before.kind === 'done') {
        const stored = new Set(await storedUids(outPath));
        if (wanted.every((uid) => stored.has(uid))) return { ...result, alreadyDone: true };
      }
      // The shard's rows as its score file holds them (the same reading, checks and drops as scoring).
      const prepared = await prepareShardRows(shard, 0, new IdentitySet(1 << 12), {
        target: { dim: target.dim },
        temperature: settings.temperature,
        skipInvalid: settings.skipInvalid,
        normalize: settings.normalize,
        normTolerance: NORM_TOLERANCE,
        warn: () => {},
        progress: { add() {}, phase: undefined, redraw() {} },
      });
      const keys = prepared.keys.uid;
      if (!Array.isArray(keys) || !sameUids(parseUids(keys, shard.metadataName), scored.uids))
        throw new InputError(shard.name, `rows differ from ${scorePath}; score the shard again (clipsift run --force)`);
      const engine = await this.engine(base.simd, settings.precision);
      const preparedTarget = await this.prepare(engine, base.simd, settings.p);
      const values =
        rows.length === 0
          ? new Float32Array(0)
          : await engine.normSim(
              gatherRows({ data: prepared.imgData, rows: prepared.img.rows, dim: prepared.img.dim }, rows),
              preparedTarget,
            );
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new InputError(shard.name, `${column} of uid ${wanted[bad]} is ${values[bad]}, not finite`);
      const bytes = encodeScoreFile({
        keys: { uid: wanted },
        scores: { [column]: values },
        metadata: scoreMetadata(parameters, {
          clipsiftVersion: clipsiftVersion(),
          engineVariant: engine.info().simd,
          runShards: base.runShards,
        }),
      });
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(outPath, bytes, { force: true, inputs: shard.files.map((f) => f.path) });
      return { ...result, alreadyDone: false };
    } finally {
      await shard.close();
    }
  }

  /** Closes every engine. */
  async close(): Promise<void> {
    const engines = [...this.engines.values()];
    this.engines.clear();
    this.target = undefined;
    await Promise.all(engines.map((engine) => engine.then((e) => e.close()).catch(() => undefined)));
  }

  /**
   * Uses `loaded` as the target of tasks whose target has its content hash (a local run has it in
   * memory already; a multi-gigabyte target should not be read twice).
   */
  useTarget(loaded: LoadedTarget, key: string | null, normalize: boolean): void {
    this.target = { key: `${loaded.identity.sha256}\0${key ?? ''}\0${normalize}`, loaded, prepared: new Map() };
  }

  /** Checks the task's clipsift version and opens its shard (headers only). */
  private async open(task: ShardTask) {
    if (task.clipsiftVersion !== clipsiftVersion()) {
      throw new Error(
        `this worker runs clipsift ${clipsiftVersion()} but the run was submitted with clipsift ${task.clipsiftVersion}; score files would differ`,
      );
    }
    const settings: ScoringSettings = { ...task.settings, p: task.settings.p === 'inf' ? Infinity : task.settings.p };
    const shard = await openScoreShard(task.ref, {
      arch: task.arch,
      extraArchs: task.extraArchs ?? [],
      keyColumn: task.keyColumn ?? undefined,
      imageKey: task.imageKey ?? undefined,
      textKey: task.textKey ?? undefined,
      fs: this.files,
    });
    return { settings, shard };
  }

  private engine(simd: 'baseline' | 'relaxed', precision: 'f32' | 'i16'): Promise<Engine> {
    const key = `${simd} ${precision}`;
    let engine = this.engines.get(key);
    if (!engine) {
      engine = createEngine({ threads: this.threads, simd, precision });
      // A variant this runtime cannot run fails the job with the engine's reason, and is not cached.
      engine.catch(() => this.engines.delete(key));
      this.engines.set(key, engine);
    }
    return engine;
  }

  /** The task's target, from the cache when the content hash matches (whatever its path). */
  private async loadTarget(task: ShardTask): Promise<{ identity: TargetIdentity; dim: number }> {
    const wanted = task.target!;
    const key = `${wanted.sha256}\0${wanted.key ?? ''}\0${task.settings.normalize}`;
    if (this.target?.key !== key) {
      this.target = undefined;
      const loaded = await loadTarget(wanted.paths, wanted.key ?? undefined, task.settings.normalize);
      if (loaded.identity.sha256 !== wanted.sha256) {
        throw new InputError(
          wanted.paths.join(', '),
          `target changed since the run was submitted (sha256 ${loaded.identity.sha256.slice(0, 12)}… ≠ ${wanted.sha256.slice(0, 12)}…)`,
        );
      }
      this.target = { key, loaded, prepared: new Map() };
    }
    return { identity: this.target.loaded.identity, dim: this.target.loaded.dim };
  }

  private prepare(engine: Engine, simd: string, p: number): Promise<Target> {
    const target = this.target!;
    const key = `${simd}\0${p}`;
    let prepared = target.prepared.get(key);
    if (!prepared) {
      const { data, rows, dim } = target.loaded;
      prepared = engine.prepareTarget({ data, rows, dim }, { p });
      target.prepared.set(key, prepared);
    }
    return prepared;
  }
}

/** The uids and score columns of a score file. */
async function readTable(path: string, columns: string[]) {
  const source = await openFileSource(path);
  try {
    return await readScoreTable(source, columns);
  } finally {
    await source.close();
  }
}

/** The uids of a survivor file, as 32 hex digits. */
async function storedUids(path: string): Promise<string[]> {
  const { uids } = await readTable(path, []);
  return Array.from({ length: uidCount(uids) }, (_, row) => formatUid(uids, row));
}

function sameUids(a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && a.every((word, k) => word === b[k]);
}
