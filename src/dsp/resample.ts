/**
 * Band-limited resampling with a Kaiser-windowed sinc (polyphase for rational rate ratios).
 *
 * Output sample n sits at input time n * from / to; it is the input convolved with a low-pass
 * sinc whose cutoff is rolloff * min(from, to) / 2, so downsampling is anti-aliased. Samples outside
 * the input count as zero. Defaults (64 zero crossings, rolloff 0.95, Kaiser beta 10) give a
 * stopband below about -95 dB with a flat passband to ~0.9 of the lower Nyquist frequency.
 */

export interface ResampleOptions {
  /** Zero crossings of the sinc on each side (filter half-length, in cutoff periods). Default 64. */
  zeroCrossings?: number;
  /** Cutoff as a fraction of the lower Nyquist frequency. Default 0.95. */
  rolloff?: number;
  /** Kaiser window shape; larger = lower sidelobes, wider transition. Default 10. */
  kaiserBeta?: number;
}

/** Phase tables with more phases or entries than this are computed on the fly instead (same values, slower). */
const MAX_TABLE_PHASES = 4096;
const MAX_TABLE_ENTRIES = 1 << 22;
/**
 * Rate ratios beyond this are misuse, not audio: the filter grows with the down ratio and the
 * output with the up ratio (384 kHz -> 16 kHz is 24).
 */
export const MAX_RESAMPLE_RATIO = 256;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for beta <= 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Number of output samples: round(N * to / from). */
export function resampledLength(numSamples: number, fromRate: number, toRate: number): number {
  const g = gcd(fromRate, toRate);
  return Math.round((numSamples * (toRate / g)) / (fromRate / g));
}

/** Filter for one (rate pair, options): taps per output phase, and the phase table when it is small enough. */
interface PolyphaseFilter {
  /** Taps j cover input indices base + j for j in [-J+1, J]; `taps` = 2J. */
  J: number;
  taps: number;
  /** The windowed-sinc kernel h(tau), tau in input samples. */
  kernel: (tau: number) => number;
  /** up x taps coefficients: row p holds h(p/up - j); null when up > MAX_TABLE_PHASES (computed on the fly). */
  table: Float64Array | null;
}

/** Recently used filters: building a table costs more than resampling a few seconds of audio. */
const filterCache = new Map<string, PolyphaseFilter>();
const FILTER_CACHE_SIZE = 4;

function polyphaseFilter(fromRate: number, toRate: number, up: number, zeros: number, rolloff: number, beta: number): PolyphaseFilter {
  const key = `${fromRate}/${toRate}/${zeros}/${rolloff}/${beta}`;
  const cached = filterCache.get(key);
  if (cached) {
    filterCache.delete(key); // re-insert: most recently used last
    filterCache.set(key, cached);
    return cached;
  }
  // Cutoff in cycles per input sample; the kernel h(tau) = 2 fc sinc(2 fc tau) has unit DC gain.
  const fc = 0.5 * rolloff * Math.min(1, toRate / fromRate);
  const halfWidth = zeros / (2 * fc); // in input samples
  const i0Beta = besselI0(beta);
  const kernel = (tau: number): number => {
    const r = tau / halfWidth;
    if (r <= -1 || r >= 1) return 0;
    const arg = 2 * fc * tau;
    const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
    return 2 * fc * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta);
  };
  const J = Math.ceil(halfWidth) + 1;
  const taps = 2 * J;
  let table: Float64Array | null = null;
  if (up <= MAX_TABLE_PHASES && up * taps <= MAX_TABLE_ENTRIES) {
    table = new Float64Array(up * taps);
    for (let p = 0; p < up; p++) {
      const frac = p / up;
      for (let j = -J + 1; j <= J; j++) table[p * taps + (j + J - 1)] = kernel(frac - j);
    }
  }
  const filter: PolyphaseFilter = { J, taps, kernel, table };
  if (table) {
    if (filterCache.size >= FILTER_CACHE_SIZE) filterCache.delete(filterCache.keys().next().value as string);
    filterCache.set(key, filter);
  }
  return filter;
}

/** The options with defaults; out-of-range ones would make the filter infinite (or empty). */
function checkOptions(opts: ResampleOptions): { zeros: number; rolloff: number; beta: number } {
  const { zeroCrossings: zeros = 64, rolloff = 0.95, kaiserBeta: beta = 10 } = opts;
  if (!Number.isInteger(zeros) || zeros < 1 || zeros > 1024) throw new Error(`resample: zeroCrossings must be an integer in [1, 1024], got ${zeros}`);
  if (!(rolloff > 0 && rolloff <= 1)) throw new Error(`resample: rolloff must be in (0, 1], got ${rolloff}`);
  if (!(beta >= 0 && beta <= 50)) throw new Error(`resample: kaiserBeta must be in [0, 50], got ${beta}`);
  return { zeros, rolloff, beta };
}

/** Resamples `x` from `fromRate` to `toRate` (positive integers, Hz). Returns a new array. */
export function resample(x: Float32Array, fromRate: number, toRate: number, opts: ResampleOptions = {}): Float32Array {
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
    throw new Error(`sample rates must be positive integers, got ${fromRate} and ${toRate}`);
  }
  if (Math.max(fromRate / toRate, toRate / fromRate) > MAX_RESAMPLE_RATIO) {
    throw new Error(`resample: ${fromRate} Hz -> ${toRate} Hz is a ratio beyond ${MAX_RESAMPLE_RATIO}`);
  }
  const { zeros, rolloff, beta } = checkOptions(opts);
  if (fromRate === toRate) return x.slice();
  const g = gcd(fromRate, toRate);
  const up = toRate / g; // L
  const down = fromRate / g; // M
  const outLen = resampledLength(x.length, fromRate, toRate);
  const out = new Float32Array(outLen);
  const n = x.length;
  if (n === 0) return out;

  const { J, taps, kernel, table } = polyphaseFilter(fromRate, toRate, up, zeros, rolloff, beta);
  const scratch = table ? null : new Float64Array(taps);
  const taps8 = taps & ~7;

  for (let o = 0; o < outLen; o++) {
    // Exact rational time: input position o*down/up = base + phase/up.
    const pos = o * down;
    const base = Math.floor(pos / up);
    const phase = pos - base * up;
    let coeffs: Float64Array;
    let offset: number;
    if (table) {
      coeffs = table;
      offset = phase * taps;
    } else {
      const frac = phase / up;
      for (let j = -J + 1; j <= J; j++) (scratch as Float64Array)[j + J - 1] = kernel(frac - j);
      coeffs = scratch as Float64Array;
      offset = 0;
    }
    const first = base - J + 1;
    let acc = 0;
    if (first >= 0 && first + taps <= n) {
      // Unrolled by 8 (the hot loop); the additions stay in tap order, so results are unchanged.
      let c = offset;
      let s = first;
      const end8 = offset + taps8;
      for (; c < end8; c += 8, s += 8) {
        acc += coeffs[c] * x[s];
        acc += coeffs[c + 1] * x[s + 1];
        acc += coeffs[c + 2] * x[s + 2];
        acc += coeffs[c + 3] * x[s + 3];
        acc += coeffs[c + 4] * x[s + 4];
        acc += coeffs[c + 5] * x[s + 5];
        acc += coeffs[c + 6] * x[s + 6];
        acc += coeffs[c + 7] * x[s + 7];
      }
      for (const end = offset + taps; c < end; c++, s++) acc += coeffs[c] * x[s];
    } else {
      const lo = Math.max(0, -first);
      const hi = Math.min(taps, n - first);
      for (let i = lo; i < hi; i++) acc += coeffs[offset + i] * x[first + i];
    }
    out[o] = acc;
  }
  return out;
}
