/**
 * Exact McNemar test for two systems scored right/wrong on the same items. Only discordant items
 * carry information; under H0 (equal accuracy) each is equally likely to favour either system, so
 * n01 ~ Binomial(n01 + n10, ½) — the exact conditional (sign) test.
 */
import { binomialLogCdf, binomialLogPmf } from "./distributions.js";

export interface McNemarResult {
  /** Items A got right and B got wrong. */
  n01: number;
  /** Items A got wrong and B got right. */
  n10: number;
  /** Two-sided exact p-value, min(1, 2 · P(X ≤ min(n01, n10))), X ~ Binomial(n01 + n10, ½); 1 without discordant items. */
  pValue: number;
  /**
   * Mid-p variant (exact p minus P(X = min(n01, n10))), less conservative; Fagerland, Lydersen &
   * Laake (2013). Reported for reference; `pValue` is the exact test.
   */
  midPValue: number;
}

/** McNemar from the discordant counts alone. */
export function mcnemarFromCounts(n01: number, n10: number): McNemarResult {
  for (const [name, v] of [["n01", n01], ["n10", n10]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`mcnemar: ${name} must be a non-negative integer, got ${v}`);
  }
  const n = n01 + n10;
  if (n === 0) return { n01, n10, pValue: 1, midPValue: 1 };
  const k = Math.min(n01, n10);
  // Doubling is done in log space too, so p stays exact-to-rounding down to ~1e-300.
  const pValue = Math.min(1, Math.exp(Math.LN2 + binomialLogCdf(k, n, 0.5)));
  const pk = Math.exp(binomialLogPmf(k, n, 0.5));
  // n01 = n10: the two tails share the central term, so mid-p = 1 - P(X = k)/2 (Fagerland et al.).
  const midPValue = n01 === n10 ? 1 - 0.5 * pk : Math.min(1, pValue - pk);
  return { n01, n10, pValue, midPValue };
}

/** McNemar from per-item correctness flags of systems A and B (same items, same order). */
export function mcnemar(a: readonly boolean[], b: readonly boolean[]): McNemarResult {
  if (a.length !== b.length) throw new Error(`mcnemar: ${a.length} flags for A but ${b.length} for B`);
  let n01 = 0;
  let n10 = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !b[i]) n01++;
    else if (!a[i] && b[i]) n10++;
  }
  return mcnemarFromCounts(n01, n10);
}
