/**
 * The page's scoring worker: opens the engine once (its own thread pool when the page is
 * cross-origin isolated, inline otherwise), reads the pool through src/io or generates the sample
 * pool, scores it, and posts the columns back (transferred, not copied).
 */
import { createEngine, type Engine, type Precision } from '../index.js';
import type { EngineSummary, ScoreJob, ScoredPool, WorkerReply } from './protocol.js';
import { loadPool, type LoadedPool } from './pool-input.js';
import { scorePool } from './scoring.js';

interface WorkerScope {
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ScoreJob>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

let engine: Promise<Engine> | undefined;

/** One engine per page: `simd` comes from the page URL, so it is the same for every job. */
function openEngine(simd: ScoreJob['simd']): Promise<Engine> {
  engine ??= createEngine({
    threads: 'auto',
    simd,
    // The pool's own worker script is bundled next to this one (see scripts/build-web.js).
    workerUrl: new URL('./engine-worker.js', import.meta.url),
  }).catch((error: unknown) => {
    engine = undefined; // let the next job try again rather than fail forever
    throw error;
  });
  return engine;
}

/** The engine with every scoring call at `precision` (one engine, and one thread pool, serves both). */
function atPrecision(engine: Engine, precision: Precision): Engine {
  return {
    clipScore: (img, txt, options = {}) => engine.clipScore(img, txt, { ...options, precision }),
    negClipLoss: (img, txt, options = {}) => engine.negClipLoss(img, txt, { ...options, precision }),
    normSim: (candidates, target, options = {}) => engine.normSim(candidates, target, { ...options, precision }),
    prepareTarget: (target, options) => engine.prepareTarget(target, options),
    gramMatrix: (target) => engine.gramMatrix(target),
    nearestCentroids: (rows, centroids, options) => engine.nearestCentroids(rows, centroids, options),
    info: () => ({ ...engine.info(), precision }),
    close: () => engine.close(),
  };
}

const post = (reply: WorkerReply, transfer: Transferable[] = []) => scope.postMessage(reply, transfer);
const progress = (phase: string, done = 0, total = 0) => post({ type: 'progress', phase, done, total });

// One job at a time: the page disables its buttons while scoring, and the engine serialises anyway.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const job = event.data;
  queue = queue.then(() => run(job));
};

async function run(job: ScoreJob): Promise<void> {
  try {
    progress('starting the engine');
    const ready = atPrecision(await openEngine(job.simd), job.precision);
    const loaded: LoadedPool = await loadPool(job.pool, progress);
    const scores = await scorePool(ready, loaded, job.p, progress);
    const info = ready.info();
    const summary: EngineSummary = {
      runtime: info.runtime,
      threads: info.threads,
      simd: info.simd,
      precision: info.precision,
    };
    const pool: ScoredPool = {
      source: loaded.source,
      rows: loaded.rows,
      ids: loaded.ids,
      hasUids: loaded.hasUids,
      uids: loaded.uids,
      captions: loaded.captions,
      urls: loaded.urls,
      kinds: loaded.kinds,
      scores: scores.columns,
      normsimColumn: scores.normsimColumn,
      targetDescription: scores.normsimColumn
        ? (loaded.targetDescription ?? `the target the score files were computed with (${scores.normsimColumn})`)
        : null,
      engine: summary,
    };
    post(
      { type: 'result', pool },
      Object.values(scores.columns).map((column: Float32Array) => column.buffer as ArrayBuffer),
    );
  } catch (error) {
    // Input errors from src/io are one line naming the file; show exactly that.
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}
