/**
 * The regression targets of PASE+'s workers, computed on the clean 16 kHz signal and aligned with
 * the encoder's frames: every function returns row-major [frames x dim], frame t centred at
 * sample HOP t + HOP/2 (zeros outside the signal), frames = ceil(samples / HOP).
 */
import { appendDeltas, applyMelFilterbank, dctMatrix, matVec, melFilterbank, PowerSpectrum, windowFunction } from "../dsp/index.js";

export const HOP = 160;
const SAMPLE_RATE = 16000;
const LOG_FLOOR = 1e-6;

export interface SpectrumOptions {
  win: number;
  nfft: number;
}

function checkSpectrum(fn: string, o: SpectrumOptions): void {
  if (!Number.isInteger(o.win) || o.win < 2) throw new Error(`${fn}: win must be an integer >= 2, got ${o.win}`);
  if (!Number.isInteger(o.nfft) || o.nfft < o.win || (o.nfft & (o.nfft - 1)) !== 0) throw new Error(`${fn}: nfft must be a power of two >= win, got ${o.nfft}`);
}

/** Calls `each(t, power)` with the Hamming-windowed power spectrum (nfft/2 + 1 bins) of every frame. */
function framePowers(audio: Float32Array, frames: number, o: SpectrumOptions, each: (t: number, power: Float64Array) => void): void {
  const window = windowFunction("hamming", o.win);
  const ps = new PowerSpectrum(o.nfft);
  const frame = new Float64Array(o.win);
  const power = new Float64Array(o.nfft / 2 + 1);
  for (let t = 0; t < frames; t++) {
    const start = t * HOP + HOP / 2 - Math.floor(o.win / 2);
    for (let i = 0; i < o.win; i++) {
      const j = start + i;
      frame[i] = j >= 0 && j < audio.length ? audio[j] * window[i] : 0;
    }
    ps.compute(frame, power);
    each(t, power);
  }
}

/** log(|X|^2 + 1e-6), nfft/2 + 1 bins per frame. */
export function logPowerSpectrum(audio: Float32Array, frames: number, o: SpectrumOptions): Float32Array {
  checkSpectrum("logPowerSpectrum", o);
  const bins = o.nfft / 2 + 1;
  const out = new Float32Array(frames * bins);
  framePowers(audio, frames, o, (t, p) => {
    for (let k = 0; k < bins; k++) out[t * bins + k] = Math.log(p[k] + LOG_FLOOR);
  });
  return out;
}

/** Log energies of `mels` triangular mel filters over 0-8 kHz (Kaldi's mel banks). */
export function logMelFilterbank(audio: Float32Array, frames: number, o: SpectrumOptions & { mels: number }): Float32Array {
  checkSpectrum("logMelFilterbank", o);
  if (!Number.isInteger(o.mels) || o.mels < 1) throw new Error(`logMelFilterbank: mels must be a positive integer, got ${o.mels}`);
  const bank = melFilterbank({ numBins: o.mels, fftSize: o.nfft, sampleRate: SAMPLE_RATE, lowFreq: 0, highFreq: SAMPLE_RATE / 2 });
  const out = new Float32Array(frames * o.mels);
  const e = new Float64Array(o.mels);
  framePowers(audio, frames, o, (t, p) => {
    applyMelFilterbank(bank, p, e);
    for (let m = 0; m < o.mels; m++) out[t * o.mels + m] = Math.log(e[m] + LOG_FLOOR);
  });
  return out;
}

/** The first `order` DCT-II coefficients of the log mel energies. */
export function mfcc(audio: Float32Array, frames: number, o: SpectrumOptions & { mels: number; order: number }): Float32Array {
  if (!Number.isInteger(o.order) || o.order < 1 || o.order > o.mels) throw new Error(`mfcc: order must be an integer in [1, mels], got ${o.order}`);
  const logMel = logMelFilterbank(audio, frames, o);
  const dct = dctMatrix(o.order, o.mels);
  const out = new Float32Array(frames * o.order);
  const c = new Float64Array(o.order);
  for (let t = 0; t < frames; t++) {
    matVec(dct, o.order, o.mels, logMel.subarray(t * o.mels, (t + 1) * o.mels), c);
    out.set(c, t * o.order);
  }
  return out;
}

/** Glasberg & Moore (1990) equivalent rectangular bandwidth, Hz. */
export const erb = (hz: number): number => 24.7 * (4.37 * hz / 1000 + 1);
/** ERB-rate (number of ERBs below hz) and its inverse. */
const erbRate = (hz: number): number => 21.4 * Math.log10(4.37 * hz / 1000 + 1);
const erbRateInverse = (e: number): number => ((10 ** (e / 21.4) - 1) * 1000) / 4.37;

/**
 * Power weights of `bands` 4th-order gammatone filters, centres evenly spaced in ERB-rate from
 * 100 Hz to 7.6 kHz: |G(f)|^2 with |G(f)| = (1 + ((f - fc) / (1.019 ERB(fc)))^2)^-2 (the order-4
 * magnitude response), each filter normalised to sum 1. Returned [bands x (nfft/2 + 1)].
 */
export function gammatoneWeights(bands: number, nfft: number): { centres: Float64Array; weights: Float64Array } {
  const bins = nfft / 2 + 1;
  const lo = erbRate(100);
  const hi = erbRate(7600);
  const centres = Float64Array.from({ length: bands }, (_, b) => erbRateInverse(bands === 1 ? lo : lo + ((hi - lo) * b) / (bands - 1)));
  const weights = new Float64Array(bands * bins);
  centres.forEach((fc, b) => {
    let sum = 0;
    for (let k = 0; k < bins; k++) {
      const x = ((k * SAMPLE_RATE) / nfft - fc) / (1.019 * erb(fc));
      const w = (1 + x * x) ** -4;
      weights[b * bins + k] = w;
      sum += w;
    }
    for (let k = 0; k < bins; k++) weights[b * bins + k] /= sum;
  });
  return { centres, weights };
}

/** Log energies through the gammatone filters. */
export function gammatoneSpectrum(audio: Float32Array, frames: number, o: SpectrumOptions & { bands: number }): Float32Array {
  checkSpectrum("gammatoneSpectrum", o);
  if (!Number.isInteger(o.bands) || o.bands < 1) throw new Error(`gammatoneSpectrum: bands must be a positive integer, got ${o.bands}`);
  const { weights } = gammatoneWeights(o.bands, o.nfft);
  const bins = o.nfft / 2 + 1;
  const out = new Float32Array(frames * o.bands);
  framePowers(audio, frames, o, (t, p) => {
    for (let b = 0; b < o.bands; b++) {
      let e = 0;
      for (let k = 0; k < bins; k++) e += weights[b * bins + k] * p[k];
      out[t * o.bands + b] = Math.log(e + LOG_FLOOR);
    }
  });
  return out;
}

const F0_MIN = 60;
const F0_MAX = 400;
const PITCH_WIN = 640;
const ENERGY_WIN = 400;
const VOICING_THRESHOLD = 0.45;

/** The samples of a window of `win` centred on frame t (zeros outside the signal). */
function centred(audio: Float32Array, t: number, win: number): Float64Array {
  const out = new Float64Array(win);
  const start = t * HOP + HOP / 2 - Math.floor(win / 2);
  for (let i = 0; i < win; i++) {
    const j = start + i;
    if (j >= 0 && j < audio.length) out[i] = audio[j];
  }
  return out;
}

/** F0 (Hz) and the peak normalised autocorrelation over lags 16000/400 .. 16000/60. */
export function autocorrelationPitch(x: Float64Array): { f0: number; strength: number } {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  const y = x.map((v) => v - mean);
  let best = 0;
  let bestLag = 0;
  for (let lag = Math.floor(SAMPLE_RATE / F0_MAX); lag <= Math.ceil(SAMPLE_RATE / F0_MIN) && lag < y.length; lag++) {
    let r = 0;
    let e0 = 0;
    let e1 = 0;
    for (let i = 0; i + lag < y.length; i++) {
      r += y[i] * y[i + lag];
      e0 += y[i] * y[i];
      e1 += y[i + lag] * y[i + lag];
    }
    const n = e0 > 0 && e1 > 0 ? r / Math.sqrt(e0 * e1) : 0;
    if (n > best) (best = n), (bestLag = lag);
  }
  return { f0: bestLag > 0 ? SAMPLE_RATE / bestLag : 0, strength: best };
}

/**
 * PASE's prosody features, 4 per frame: log F0 (unvoiced frames interpolated between voiced
 * neighbours, the nearest voiced value at the ends, 0 when nothing is voiced), voiced flag, zero
 * crossings per sample and log energy over 400 samples.
 */
export function prosody(audio: Float32Array, frames: number): Float32Array {
  const energy = new Float64Array(frames);
  const zcr = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
    const w = centred(audio, t, ENERGY_WIN);
    let e = 0;
    let z = 0;
    for (let i = 0; i < w.length; i++) {
      e += w[i] * w[i];
      if (i > 0 && (w[i] >= 0) !== (w[i - 1] >= 0)) z++;
    }
    energy[t] = e;
    zcr[t] = z / ENERGY_WIN;
  }
  const peak = Math.max(...energy, 0);
  const lf0 = new Float64Array(frames);
  const voiced = new Uint8Array(frames);
  for (let t = 0; t < frames; t++) {
    if (energy[t] <= 1e-4 * peak || peak === 0) continue;
    const { f0, strength } = autocorrelationPitch(centred(audio, t, PITCH_WIN));
    if (strength >= VOICING_THRESHOLD && f0 > 0) (voiced[t] = 1), (lf0[t] = Math.log(f0));
  }
  interpolateUnvoiced(lf0, voiced);
  const out = new Float32Array(frames * 4);
  for (let t = 0; t < frames; t++) out.set([lf0[t], voiced[t], zcr[t], Math.log(energy[t] + LOG_FLOOR)], t * 4);
  return out;
}

/** Fills unvoiced frames linearly between voiced neighbours (nearest voiced value at the ends). */
export function interpolateUnvoiced(values: Float64Array, voiced: Uint8Array): void {
  const idx = [...voiced.keys()].filter((t) => voiced[t] === 1);
  if (idx.length === 0) {
    values.fill(0);
    return;
  }
  for (let t = 0; t < values.length; t++) {
    if (voiced[t]) continue;
    const next = idx.find((v) => v > t);
    const prev = [...idx].reverse().find((v) => v < t);
    if (prev === undefined) values[t] = values[next!];
    else if (next === undefined) values[t] = values[prev];
    else values[t] = values[prev] + ((values[next] - values[prev]) * (t - prev)) / (next - prev);
  }
}

/** [frames x 3 dim]: static, delta, delta-delta (PASE's targets; its MFCC worker has 13 x 3 outputs). */
export function withDeltas(feats: Float32Array, frames: number, dim: number): Float32Array {
  return appendDeltas(feats, frames, dim, { order: 2, window: 2 });
}

export interface FeatureStats {
  mean: Float32Array;
  std: Float32Array;
}

/** Per-dimension mean and standard deviation (floored at 1e-5) over row-major [n x dim] blocks. */
export function featureStats(list: readonly { data: Float32Array; dim: number }[]): FeatureStats {
  const dim = list[0]?.dim ?? 0;
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let n = 0;
  for (const { data, dim: d } of list) {
    if (d !== dim) throw new Error(`featureStats: blocks of ${d} and ${dim} dimensions`);
    for (let i = 0; i < data.length; i++) {
      sum[i % dim] += data[i];
      sq[i % dim] += data[i] * data[i];
    }
    n += data.length / dim;
  }
  const mean = Float32Array.from(sum, (s) => s / Math.max(1, n));
  const std = Float32Array.from(sq, (s, k) => Math.max(1e-5, Math.sqrt(Math.max(0, s / Math.max(1, n) - mean[k] * mean[k]))));
  return { mean, std };
}

/** Standardises [n x dim] in place with the given statistics. */
export function applyStats(data: Float32Array, dim: number, s: FeatureStats): void {
  for (let i = 0; i < data.length; i++) data[i] = (data[i] - s.mean[i % dim]) / s.std[i % dim];
}
