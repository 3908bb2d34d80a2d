/**
 * Three-way call for "B vs A" from a difference (B - A), its interval and a multiplicity-adjusted
 * p-value. Requires both significance and an interval wholly on one side, so a p-value and an
 * interval that disagree (they come from different procedures) give "inconclusive".
 */
export type Verdict = "better" | "worse" | "inconclusive";

export interface VerdictInput {
  /** B - A on the full test set. */
  difference: number;
  /** Confidence interval of B - A. */
  ci: readonly [number, number];
  /** p-value after the family-wise adjustment (e.g. `holmAdjust`). */
  pAdjusted: number;
  /** True for accuracy-like metrics, false for error rates / EER / minDCF. */
  higherIsBetter: boolean;
  /**
   * Tolerated regression in metric units (>= 0): B is only "worse" when the whole interval lies
   * beyond it, so a significant but smaller regression is "inconclusive".
   */
  margin: number;
  /** Significance level; default 0.05. */
  alpha?: number;
}

export function verdict(input: VerdictInput): Verdict {
  const { difference, ci, pAdjusted, higherIsBetter, margin, alpha = 0.05 } = input;
  if (!(margin >= 0)) throw new Error(`verdict: margin must be >= 0, got ${margin}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`verdict: alpha must lie in (0, 1), got ${alpha}`);
  if (!(ci[0] <= ci[1])) throw new Error(`verdict: interval must satisfy low <= high, got [${ci[0]}, ${ci[1]}]`);
  if (Number.isNaN(difference) || Number.isNaN(pAdjusted)) return "inconclusive";
  if (!(pAdjusted < alpha)) return "inconclusive";
  // Express everything as "improvement" (positive = B better) so both directions share one rule.
  const sign = higherIsBetter ? 1 : -1;
  const lo = Math.min(sign * ci[0], sign * ci[1]);
  const hi = Math.max(sign * ci[0], sign * ci[1]);
  if (lo > 0 && sign * difference > 0) return "better";
  if (hi < -margin && sign * difference < 0) return "worse";
  return "inconclusive";
}
