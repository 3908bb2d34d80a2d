/** Paired comparison statistics for `superb compare A B` (pure functions). */
export { binomialLogCdf, binomialLogPmf, erfc, normalCdf, twoSidedNormalP } from "./distributions.js";
export { mcnemar, mcnemarFromCounts, type McNemarResult } from "./mcnemar.js";
export {
  accuracyDifference,
  editErrorCounts,
  eerDifference,
  errorRateDifference,
  minDcfDifference,
  pairedBootstrap,
  type ErrorRateItems,
  type PairedBootstrapOptions,
  type PairedBootstrapResult,
  type PairedStatistic,
  type VerificationTrials,
} from "./bootstrap.js";
export { mapsswe, type MapssweResult } from "./mapsswe.js";
export { holmAdjust } from "./holm.js";
export { verdict, type Verdict, type VerdictInput } from "./verdict.js";
export { seedSpread, type SeedSpread } from "./spread.js";
