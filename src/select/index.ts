/**
 * Selection over score arrays: ordered top/min steps with pool-relative fractions, NormSim_2-D,
 * and subset algebra. Runtime-neutral; `clipsift/select` in the package exports.
 */
export {
  runSteps,
  keepTop,
  keepAtLeast,
  keepTopDataComp,
  type Rounding,
  type ScoreValues,
  topCount,
  type SelectionStep,
  type TopStep,
  type MinStep,
  type SelectionSummary,
  type ScoreColumns,
  type SelectionResult,
} from './steps.js';
export { floorTimes, parseDecimalRatio, ratioOfNumber, type DecimalRatio } from './fraction.js';
export {
  selectFromTable,
  runTableSteps,
  rowsWithUidIn,
  gatherUids,
  runKeyedSteps,
  type RowKeys,
  type ScoreTable,
  type SelectTable,
  type TableSelection,
} from './table.js';
export {
  normSim2D,
  officialRemovalSchedule,
  removalSchedule,
  type NormSim2DOptions,
  type NormSim2DResult,
} from './normsim-d.js';
export { joinByUid, type JoinInput } from './join.js';
export {
  imageBasedFilter,
  keepNearTarget,
  kMeans,
  type ImageBasedResult,
  type KMeansOptions,
  type KMeansResult,
} from './kmeans.js';
export { unionUids, intersectUids } from './subset-algebra.js';
