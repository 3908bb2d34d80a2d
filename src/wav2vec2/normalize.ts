/**
 * HF Wav2Vec2FeatureExtractor's `do_normalize` (zero_mean_unit_var_norm): each utterance is shifted
 * to zero mean and scaled by 1 / sqrt(population variance + 1e-7). Models pre-trained on
 * normalised crops (the project's `base`, facebook/wav2vec2-large-lv60, ...) must see normalised
 * input at extraction time too, or their features shift with the recording level.
 */
export const NORMALIZE_EPS = 1e-7;

/** Normalises `x` in place (float64 accumulation) and returns it. */
export function zeroMeanUnitVarianceInPlace(x: Float32Array): Float32Array {
  const n = x.length;
  if (n === 0) return x;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) * (x[i] - mean);
  const inv = 1 / Math.sqrt(v / n + NORMALIZE_EPS);
  for (let i = 0; i < n; i++) x[i] = (x[i] - mean) * inv;
  return x;
}

/** A normalised copy of `x`. */
export function zeroMeanUnitVariance(x: Float32Array): Float32Array {
  return zeroMeanUnitVarianceInPlace(x.slice());
}
