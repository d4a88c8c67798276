/**
 * clipsift: score and select CLIP pretraining data from embeddings.
 * @module
 */
export {
  createEngine,
  firstNonFiniteRow,
  firstOverlargeRow,
  maxFiniteNorm,
  NEGCLIP_LOSS_DEFAULTS,
  TEMPERATURE_RANGE,
  temperatureProblem,
} from './engine/index.js';
export type {
  Abortable,
  ClipScoreOptions,
  Engine,
  EngineOptions,
  EngineInfo,
  Embeddings,
  GramTarget,
  NegClipLossOptions,
  NormSimOptions,
  PrepareTargetOptions,
  Target,
  Precision,
} from './engine/index.js';
export { deriveSeed, permutation, mixSeed } from './numeric/random.js';
export type { ModuleSource, SimdVariant } from './engine/load.js';
