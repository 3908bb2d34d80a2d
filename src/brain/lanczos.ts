/**
 * Lanczos resampling of feature time courses onto the fMRI TR grid, as the Huth lab's
 * lanczosinterp2D (HuthLab/deep-fMRI-dataset, encoding/ridge_utils/interpdata.py) does it:
 *
 *   cutoff = cutoffMult / mean(diff(newTimes))        (so cutoff = 1/TR: a low-pass at 1/(2 TR) Hz)
 *   L(t)   = a sin(pi t c) sin(pi t c / a) / (pi t c)^2, L(0) = 1, 0 where |t c| > a
 *   new[i] = sum_j L(newTimes[i] - oldTimes[j]) old[j]
 *
 * Normalisation: like the Huth lab's, the kernel is NOT normalised, so a constant k maps to about
 * k * (new spacing / old spacing) away from the edges (k * 100 for 50 Hz features on a 2 s grid) and
 * to less near the ends where the window is cut. Callers standardise features afterwards, so only
 * the relative scale matters. `normalise: true` divides each row of weights by its sum instead,
 * which maps a constant exactly to itself.
 */

export interface LanczosOptions {
  /** Lobes of the sinc kept (a). Default 3. */
  window?: number;
  /** Multiplier of the cutoff 1/mean(new spacing). Default 1. */
  cutoffMult?: number;
  /** Divide each row of weights by its sum (a constant maps to itself). Default false (Huth lab). */
  normalise?: boolean;
}

/** The Huth-lab Lanczos kernel at time offset t (seconds) for a given cutoff (1/s) and window. */
export function lanczosKernel(t: number, cutoff: number, window = 3): number {
  const x = t * cutoff;
  if (x === 0) return 1;
  if (Math.abs(x) > window) return 0;
  const px = Math.PI * x;
  return (window * Math.sin(px) * Math.sin(px / window)) / (px * px);
}

/** First index i with times[i] >= value (times sorted ascending). */
function lowerBound(times: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Resamples the columns of a row-major [rows x cols] matrix whose row j is at oldTimes[j] onto
 * newTimes; returns [newTimes.length x cols]. oldTimes must be ascending; newTimes must have at
 * least two entries (their mean spacing sets the cutoff).
 */
export function lanczosResample(
  data: Float32Array | Float64Array,
  rows: number,
  cols: number,
  oldTimes: ArrayLike<number>,
  newTimes: ArrayLike<number>,
  opts: LanczosOptions = {},
): Float64Array {
  const window = opts.window ?? 3;
  const cutoffMult = opts.cutoffMult ?? 1;
  if (data.length !== rows * cols) throw new Error(`lanczosResample: ${data.length} values for ${rows} x ${cols}`);
  if (oldTimes.length !== rows) throw new Error(`lanczosResample: ${oldTimes.length} old times for ${rows} rows`);
  if (newTimes.length < 2) throw new Error("lanczosResample: need at least two new times to set the cutoff");
  for (let j = 1; j < rows; j++) {
    if (!(oldTimes[j] >= oldTimes[j - 1])) throw new Error("lanczosResample: old times must be ascending");
  }
  const span = newTimes[newTimes.length - 1] - newTimes[0];
  if (!(span > 0)) throw new Error("lanczosResample: new times must increase");
  // mean(diff(newTimes)) telescopes to (last - first) / (n - 1), as in the Huth lab code.
  const cutoff = (cutoffMult * (newTimes.length - 1)) / span;
  const halfWidth = window / cutoff;
  const out = new Float64Array(newTimes.length * cols);
  const weights = new Float64Array(Math.max(1, rows));
  for (let i = 0; i < newTimes.length; i++) {
    const t = newTimes[i];
    const start = lowerBound(oldTimes, t - halfWidth);
    const end = lowerBound(oldTimes, t + halfWidth + 1e-12 * halfWidth);
    const outBase = i * cols;
    let weightSum = 0;
    for (let j = start; j < end; j++) {
      weights[j - start] = lanczosKernel(t - oldTimes[j], cutoff, window);
      weightSum += weights[j - start];
    }
    // Four input rows per pass over the output row: one load/store of out per four multiply-adds.
    let j = start;
    for (; j + 3 < end; j += 4) {
      const w0 = weights[j - start];
      const w1 = weights[j - start + 1];
      const w2 = weights[j - start + 2];
      const w3 = weights[j - start + 3];
      const b0 = j * cols;
      const b1 = b0 + cols;
      const b2 = b1 + cols;
      const b3 = b2 + cols;
      for (let c = 0; c < cols; c++) out[outBase + c] += w0 * data[b0 + c] + w1 * data[b1 + c] + w2 * data[b2 + c] + w3 * data[b3 + c];
    }
    for (; j < end; j++) {
      const w = weights[j - start];
      const inBase = j * cols;
      for (let c = 0; c < cols; c++) out[outBase + c] += w * data[inBase + c];
    }
    if (opts.normalise && weightSum !== 0) {
      const inv = 1 / weightSum;
      for (let c = 0; c < cols; c++) out[outBase + c] *= inv;
    }
  }
  return out;
}
