/**
 * Holm-Bonferroni step-down adjustment (controls the family-wise error rate, uniformly more
 * powerful than Bonferroni). Sorted ascending p_(1) ≤ … ≤ p_(m):
 * adj_(i) = max_{j ≤ i} min(1, (m - j + 1) · p_(j)), returned in the input order.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  for (let i = 0; i < m; i++) {
    const p = pValues[i];
    if (!(p >= 0 && p <= 1)) throw new Error(`holmAdjust: p-value ${i} must lie in [0, 1], got ${p}`);
  }
  // Stable sort, so tied p-values get adjusted values in a defined order (equal anyway, by the max).
  const order = Array.from(pValues.keys()).sort((i, j) => pValues[i] - pValues[j] || i - j);
  const adjusted = new Array<number>(m);
  let running = 0;
  for (let r = 0; r < m; r++) {
    running = Math.max(running, Math.min(1, (m - r) * pValues[order[r]]));
    adjusted[order[r]] = running;
  }
  return adjusted;
}
