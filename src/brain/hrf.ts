/**
 * Canonical haemodynamic response functions (nilearn's SPM and Glover models) and the two ways
 * brain-encoding work makes a feature time course "hemodynamic": convolution with the HRF, or
 * finite-impulse-response (FIR) delays.
 */
import { UserError } from "../errors.js";

export type HrfModel = "spm" | "glover";

export interface HrfOptions {
  /** Default "spm". */
  model?: HrfModel;
  /** Samples per TR. Default 50 (nilearn's default). */
  oversampling?: number;
  /** Kernel length in seconds. Default 32. */
  timeLength?: number;
  /** Onset of the response in seconds. Default 0. */
  onset?: number;
}

interface GammaDifferenceParams {
  delay: number;
  undershoot: number;
  dispersion: number;
  uDispersion: number;
  ratio: number;
}

/**
 * Parameters of nilearn's `_gamma_difference_hrf` callers (nilearn/glm/first_level/
 * hemodynamic_models.py). Glover's ratio is 0.48 in current nilearn (it was 0.35 before 0.10).
 */
const HRF_PARAMS: Record<HrfModel, GammaDifferenceParams> = {
  spm: { delay: 6, undershoot: 16, dispersion: 1, uDispersion: 1, ratio: 0.167 },
  glover: { delay: 6, undershoot: 12, dispersion: 0.9, uDispersion: 0.9, ratio: 0.48 },
};

// Lanczos approximation of Gamma (g = 7, n = 9; the coefficients of Numerical Recipes 3rd ed. /
// Wikipedia's "Lanczos approximation"), accurate to about 1e-15 relative for positive reals.
const LANCZOS_G = 7;
const LANCZOS_COEFFS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Gamma(x) for x > 0 (reflection formula below 0.5 keeps the approximation accurate). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma: argument must be positive, got ${x}`);
  if (x < 0.5) {
    // Gamma(x) Gamma(1-x) = pi / sin(pi x)
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let sum = LANCZOS_COEFFS[0];
  for (let i = 1; i < LANCZOS_G + 2; i++) sum += LANCZOS_COEFFS[i] / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** scipy.stats.gamma.pdf(x, shape, loc=0, scale): zero for x <= 0 (shape > 1 in every use here). */
export function gammaPdf(x: number, shape: number, scale: number): number {
  if (x <= 0) return shape === 1 && x === 0 ? 1 / scale : 0;
  const y = x / scale;
  return Math.exp((shape - 1) * Math.log(y) - y - logGamma(shape)) / scale;
}

function gammaDifference(t: number, p: GammaDifferenceParams): number {
  return (
    gammaPdf(t, p.delay / p.dispersion, p.dispersion) -
    p.ratio * gammaPdf(t, p.undershoot / p.uDispersion, p.uDispersion)
  );
}

/** Un-normalised HRF at time t seconds after a unit impulse (no nilearn `loc` shift). */
export function hrfValue(t: number, model: HrfModel = "spm"): number {
  return gammaDifference(t, HRF_PARAMS[model]);
}

/**
 * The HRF kernel exactly as nilearn's spm_hrf / glover_hrf build it: round(timeLength/dt) points
 * of linspace(0, timeLength) (so the spacing is only approximately dt = tr/oversampling), minus
 * onset, each gamma shifted by loc = dt, normalised to sum 1.
 */
export function hrfKernel(tr: number, opts: HrfOptions = {}): Float64Array {
  const model = opts.model ?? "spm";
  const oversampling = opts.oversampling ?? 50;
  const timeLength = opts.timeLength ?? 32;
  const onset = opts.onset ?? 0;
  if (!(tr > 0) || !(oversampling > 0) || !(timeLength > 0)) {
    throw new UserError(`HRF: TR, oversampling and time length must be positive (got ${tr}, ${oversampling}, ${timeLength})`);
  }
  const dt = tr / oversampling;
  const count = Math.round(timeLength / dt);
  if (count < 2) throw new UserError(`HRF: kernel of ${timeLength} s at dt ${dt} s has fewer than 2 samples`);
  const params = HRF_PARAMS[model];
  const kernel = new Float64Array(count);
  const step = timeLength / (count - 1);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const t = i * step - onset - dt; // "- dt" is gamma.pdf's loc=dt
    kernel[i] = gammaDifference(t, params);
    sum += kernel[i];
  }
  for (let i = 0; i < count; i++) kernel[i] /= sum;
  return kernel;
}

/** Causal convolution y[i] = sum_k kernel[k] * signal[i-k]; the output has the input's length. */
export function convolveCausal(signal: ArrayLike<number>, kernel: ArrayLike<number>): Float64Array {
  const n = signal.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const kmax = Math.min(i, kernel.length - 1);
    let acc = 0;
    for (let k = 0; k <= kmax; k++) acc += kernel[k] * signal[i - k];
    out[i] = acc;
  }
  return out;
}

/**
 * The HRF sampled on the TR grid: hrfValue(k*tr) for k*tr < timeLength, normalised to sum 1. Unlike
 * hrfKernel it has no one-sample `loc` shift, which at oversampling 1 would delay the HRF by a TR.
 */
export function hrfKernelAtTr(tr: number, model: HrfModel = "spm", timeLength = 32): Float64Array {
  if (!(tr > 0)) throw new UserError(`HRF: TR must be positive (got ${tr})`);
  const count = Math.max(1, Math.ceil(timeLength / tr));
  const kernel = new Float64Array(count);
  let sum = 0;
  for (let k = 0; k < count; k++) {
    kernel[k] = hrfValue(k * tr, model);
    sum += kernel[k];
  }
  for (let k = 0; k < count; k++) kernel[k] /= sum;
  return kernel;
}

/**
 * Convolves each column of a row-major [rows x cols] matrix sampled every `tr` seconds with the
 * canonical HRF sampled at the TR (hrfKernelAtTr: oversampling 1, renormalised to sum 1).
 */
export function convolveHrfColumns(
  x: Float64Array,
  rows: number,
  cols: number,
  tr: number,
  model: HrfModel = "spm",
): Float64Array {
  if (x.length !== rows * cols) throw new Error(`convolveHrfColumns: ${x.length} values for ${rows} x ${cols}`);
  const kernel = hrfKernelAtTr(tr, model);
  const out = new Float64Array(rows * cols);
  const kLen = kernel.length;
  // Row-major loop order (output row, lag, column) keeps memory access sequential.
  for (let i = 0; i < rows; i++) {
    const outBase = i * cols;
    const kmax = Math.min(i, kLen - 1);
    for (let k = 0; k <= kmax; k++) {
      const w = kernel[k];
      if (w === 0) continue;
      const inBase = (i - k) * cols;
      for (let c = 0; c < cols; c++) out[outBase + c] += w * x[inBase + c];
    }
  }
  return out;
}

/**
 * FIR delays: [rows x cols] -> [rows x cols*delays.length]; column block d holds x shifted down
 * by delays[d] rows, with zeros at the top (the response at TR i sees the stimulus of TR i-delay).
 */
export function firDelays(x: Float64Array, rows: number, cols: number, delays: readonly number[]): Float64Array {
  if (x.length !== rows * cols) throw new Error(`firDelays: ${x.length} values for ${rows} x ${cols}`);
  for (const d of delays) {
    if (!Number.isInteger(d) || d < 0) throw new UserError(`FIR delays: each delay must be a non-negative integer number of TRs, got ${d}`);
  }
  const outCols = cols * delays.length;
  const out = new Float64Array(rows * outCols);
  delays.forEach((delay, block) => {
    for (let i = delay; i < rows; i++) {
      const src = (i - delay) * cols;
      const dst = i * outCols + block * cols;
      for (let c = 0; c < cols; c++) out[dst + c] = x[src + c];
    }
  });
  return out;
}
