/** Summary of one metric over several training seeds, to judge a difference against seed noise. */
export interface SeedSpread {
  mean: number;
  /** Sample standard deviation (divides by n - 1); NaN for a single value, where it is undefined. */
  sd: number;
  min: number;
  max: number;
  n: number;
}

export function seedSpread(values: readonly number[]): SeedSpread {
  const n = values.length;
  if (n === 0) throw new Error("seedSpread: no values");
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) throw new Error(`seedSpread: values must be finite, got ${v}`);
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  // Two-pass variance: no cancellation when the spread is tiny next to the mean.
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN, min, max, n };
}
