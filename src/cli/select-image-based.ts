/**
 * `select --image-based`: DataComp's image-based baseline as a step. k-means over the image embeddings
 * of the pool's distinct uids (src/select/kmeans.ts), the target's images vote for their nearest
 * centroid (largest inner product), and the rows still selected are kept when their uid's centroid got
 * a vote. Like DataComp's, the clusters are the pool's, whatever steps ran before.
 */
import { createEngine } from '../index.js';
import { InputError } from '../io/errors.js';
import type { FileSystem } from '../io/file-system.js';
import type { Arch } from '../io/layouts.js';
import { findUid, sortUids, uidCount } from '../io/uid.js';
import { loadTarget } from '../pipeline/target.js';
import { imageBasedFilter, keepNearTarget } from '../select/kmeans.js';
import { gatherUids, type SelectTable } from '../select/table.js';
import { numberOption, threadsForWork, UsageError } from './args.js';
import type { ImageGatherer } from './image-embeddings.js';
import { Progress } from './progress.js';

/** DataComp's cluster count for its pools. */
export const DATACOMP_CLUSTERS = 100_000;

/** --image-based settings from the command line. */
export interface ImageBasedSettings {
  targets: string[];
  targetKey?: string;
  /** Centroids to use instead of k-means (e.g. DataComp's, converted to .npy); their key. */
  centroids?: string[];
  centroidsKey?: string;
  clusters: number;
  iterations: number;
  seed: number;
}

/** The options --image-based reads (besides --embeddings, --arch, --img-key and --threads). */
export const IMAGE_BASED_OPTIONS = {
  'image-based': { type: 'boolean' },
  'image-based-target': { type: 'string', multiple: true },
  'image-based-key': { type: 'string' },
  'image-based-clusters': { type: 'string' },
  'image-based-iterations': { type: 'string' },
  'image-based-seed': { type: 'string' },
  'image-based-centroids': { type: 'string', multiple: true },
  'image-based-centroids-key': { type: 'string' },
} as const;

/** Help lines for the options above. */
export const IMAGE_BASED_HELP = `  --image-based               DataComp's image-based filter, at its place among the steps: k-means
                              over the pool's image embeddings, keep the rows whose cluster is the
                              nearest (largest inner product) of some target image (needs --embeddings)
  --image-based-target PATH   the target's image embeddings (.pt/.safetensors/.npy/.npz/.parquet, or a
                              folder of them, concatenated; repeatable), e.g. ImageNet-1k's
  --image-based-key KEY       the tensor / array / column of the target files (e.g. image_features)
  --image-based-clusters K    k-means clusters (default ${DATACOMP_CLUSTERS}, as DataComp; at most the pool's uids)
  --image-based-iterations T  Lloyd rounds (default 20, as DataComp's faiss run)
  --image-based-seed N        seed of the initial centroids (default 0)
  --image-based-centroids PATH  use these centroids instead of k-means (rows of a .npy/.pt/.safetensors/
                              .npz/.parquet, e.g. DataComp's published ones saved with numpy.save)
  --image-based-centroids-key KEY  their tensor / array / column`;

type Values = {
  [K in keyof typeof IMAGE_BASED_OPTIONS]?: K extends 'image-based'
    ? boolean
    : K extends 'image-based-target' | 'image-based-centroids'
      ? string[]
      : string;
};

/** Parses the --image-based options; undefined without --image-based (stray ones are refused). */
export function parseImageBased(values: Values): ImageBasedSettings | undefined {
  if (!values['image-based']) {
    const stray = (Object.keys(IMAGE_BASED_OPTIONS) as (keyof Values)[]).find((name) => values[name] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --image-based`);
    return undefined;
  }
  const targets = values['image-based-target'] ?? [];
  if (targets.length === 0)
    throw new UsageError(
      '--image-based needs the target images: --image-based-target PATH (e.g. ImageNet-1k embeddings)',
    );
  const settings: ImageBasedSettings = {
    targets,
    clusters: numberOption('image-based-clusters', values['image-based-clusters'], DATACOMP_CLUSTERS, {
      integer: true,
      positive: true,
    }),
    iterations: numberOption('image-based-iterations', values['image-based-iterations'], 20, {
      integer: true,
      positive: true,
    }),
    seed: numberOption('image-based-seed', values['image-based-seed'], 0, { integer: true, min: 0 }),
  };
  if (settings.seed > 0xffffffff) throw new UsageError(`--image-based-seed must be below 2^32, got ${settings.seed}`);
  if (values['image-based-key'] !== undefined) settings.targetKey = values['image-based-key'];
  const centroids = values['image-based-centroids'] ?? [];
  if (centroids.length > 0) {
    const kMeansOption = (['image-based-clusters', 'image-based-iterations', 'image-based-seed'] as const).find(
      (name) => values[name] !== undefined,
    );
    if (kMeansOption) throw new UsageError(`--${kMeansOption} is for k-means; --image-based-centroids replaces it`);
    settings.centroids = centroids;
    if (values['image-based-centroids-key'] !== undefined) settings.centroidsKey = values['image-based-centroids-key'];
  } else if (values['image-based-centroids-key'] !== undefined) {
    throw new UsageError('--image-based-centroids-key needs --image-based-centroids');
  }
  return settings;
}

/** What the step did. */
export interface ImageBasedOutcome {
  rows: Uint32Array;
  /** Lloyd rounds run (0 with given centroids). */
  iterations: number;
  /** Clusters: k, or the given centroids' rows. */
  clusters: number;
  /** Clusters that got a vote from the target. */
  targetClusters: number;
}

/**
 * Runs the step: clusters the pool rows' distinct uids, keeps the rows of `current` whose uid is in a
 * voted cluster.
 * @param gather the image embeddings of sorted unique uids, in their order (cli/image-embeddings.ts)
 * @param fs where the target and centroid files are read (default: the local disk and URLs; select's signed URLs)
 */
export async function runImageBased(
  table: SelectTable,
  pool: Uint32Array,
  current: Uint32Array,
  settings: ImageBasedSettings,
  embeddings: { dirs: string[]; arch: Arch; imageKey?: string; threads: number | 'auto' },
  gather: ImageGatherer,
  quiet: boolean,
  fs?: FileSystem,
): Promise<ImageBasedOutcome> {
  const uids = sortUids(gatherUids(table.uids, pool), { unique: true });
  const distinct = uidCount(uids);
  if (!settings.centroids && settings.clusters > distinct)
    throw new UsageError(
      `--image-based-clusters ${settings.clusters} is more than the pool's ${distinct} distinct uids (k-means needs at least one row per cluster)`,
    );
  const target = await loadTarget(settings.targets, settings.targetKey, false, fs);
  const given = settings.centroids ? await loadTarget(settings.centroids, settings.centroidsKey, false, fs) : undefined;
  const images = await gather(uids);
  for (const [what, paths, dim] of [
    ['target has', settings.targets, target.dim],
    ['centroids have', settings.centroids ?? [], given?.dim ?? images.dim],
  ] as const) {
    if (dim !== images.dim)
      throw new InputError(
        paths.join(', '),
        `${what} dim ${dim} but the pool's image embeddings (${embeddings.dirs.join(', ')}) have dim ${images.dim}`,
      );
  }
  const engine = await createEngine({ threads: threadsForWork(embeddings.threads, images.rows) });
  const progress = new Progress({
    label: 'k-means',
    total: settings.iterations,
    unit: 'rounds',
    quiet: quiet || !!given,
  });
  try {
    if (given) {
      const centroids = { data: given.data, rows: given.rows, dim: given.dim };
      const result = await keepNearTarget(
        engine,
        images,
        { data: target.data, rows: target.rows, dim: target.dim },
        centroids,
      );
      const rows = current.filter((row) => {
        const at = findUid(uids, table.uids, row);
        return at >= 0 && result.keep[at] === 1;
      });
      return { rows, iterations: 0, clusters: given.rows, targetClusters: result.targetClusters.length };
    }
    const result = await imageBasedFilter(
      engine,
      images,
      { data: target.data, rows: target.rows, dim: target.dim },
      {
        clusters: settings.clusters,
        iterations: settings.iterations,
        seed: settings.seed,
        onIteration: (round) => progress.set(round),
      },
    );
    const rows = current.filter((row) => {
      const at = findUid(uids, table.uids, row);
      return at >= 0 && result.keep[at] === 1;
    });
    return {
      rows,
      iterations: result.kMeans.iterations,
      clusters: settings.clusters,
      targetClusters: result.targetClusters.length,
    };
  } finally {
    progress.finish();
    await engine.close();
  }
}
