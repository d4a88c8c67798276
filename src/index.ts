/**
 * clipsift: score and select CLIP pretraining data from embeddings.
 * @module
 */
export {
  createEngine,
  firstOverlargeRow,
  maxFiniteNorm,
  TEMPERATURE_RANGE,
  temperatureProblem,
} from './engine/index.js';
export type {
  Engine,
  EngineOptions,
  EngineInfo,
  Embeddings,
  GramTarget,
  NegClipLossOptions,
  NormSimOptions,
  PrepareTargetOptions,
  Target,
} from './engine/index.js';
export { deriveSeed, permutation, mixSeed } from './engine/random.js';
export type { ModuleSource, SimdVariant } from './engine/load.js';
