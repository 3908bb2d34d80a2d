/**
 * Matched-pairs test on per-segment error counts (NIST sc_stats "MAPSSWE"): z_i = eA_i - eB_i,
 * W = mean(z) / (sd(z) / √n) compared with N(0, 1). NIST cuts segments at words both systems got
 * right; here a segment is whatever the caller passes (typically one utterance), which keeps the
 * segments independent as the test assumes.
 */
import { twoSidedNormalP } from "./distributions.js";

export interface MapssweResult {
  /** Number of segments n. */
  segments: number;
  /** mean(eA - eB): positive means B makes fewer errors per segment. */
  meanDifference: number;
  /** Sample standard deviation (n - 1) of the per-segment differences. */
  sd: number;
  /** W statistic; ±Infinity when every segment has the same non-zero difference. */
  w: number;
  /** Two-sided normal p-value, 2 · (1 - Φ(|W|)). */
  pValue: number;
}

export function mapsswe(errorsA: ArrayLike<number>, errorsB: ArrayLike<number>): MapssweResult {
  const n = errorsA.length;
  if (errorsB.length !== n) throw new Error(`mapsswe: ${n} segments for A but ${errorsB.length} for B`);
  if (n < 2) throw new Error(`mapsswe: needs at least 2 segments, got ${n}`);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += errorsA[i] - errorsB[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (errorsA[i] - errorsB[i] - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  // Zero spread: no evidence either way if the differences are all 0, certainty otherwise.
  const w = sd === 0 ? (mean === 0 ? 0 : Math.sign(mean) * Infinity) : mean / (sd / Math.sqrt(n));
  return { segments: n, meanDifference: mean, sd, w, pValue: twoSidedNormalP(w) };
}
