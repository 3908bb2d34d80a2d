/**
 * Audio nuisances, as pure functions on Float32Array: channel colouring (biquads from the RBJ
 * Audio-EQ cookbook), per-utterance channel variation, coloured additive noise at a given SNR and
 * peak normalisation. Inputs are never modified.
 */
import { Rng } from "../random.js";
import type { SpeakerProfile } from "./types.js";

export type ChannelParams = SpeakerProfile["channel"];

/** Normalised biquad: y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2]. */
export interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

export const BUTTERWORTH_Q = Math.SQRT1_2;

function normalise(b0: number, b1: number, b2: number, a0: number, a1: number, a2: number): Biquad {
  return { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: a1 / a0, a2: a2 / a0 };
}

export function lowPass(f0: number, sampleRate: number, q = BUTTERWORTH_Q): Biquad {
  const w0 = (2 * Math.PI * f0) / sampleRate;
  const cos = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  return normalise((1 - cos) / 2, 1 - cos, (1 - cos) / 2, 1 + alpha, -2 * cos, 1 - alpha);
}

export function highPass(f0: number, sampleRate: number, q = BUTTERWORTH_Q): Biquad {
  const w0 = (2 * Math.PI * f0) / sampleRate;
  const cos = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * q);
  return normalise((1 + cos) / 2, -(1 + cos), (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha);
}

/** High shelf: 0 dB at DC, `gainDb` at Nyquist, transition around f0 (shelf slope S). */
export function highShelf(f0: number, sampleRate: number, gainDb: number, slope = 0.5): Biquad {
  const A = Math.pow(10, gainDb / 40);
  const w0 = (2 * Math.PI * f0) / sampleRate;
  const cos = Math.cos(w0);
  const alpha = (Math.sin(w0) / 2) * Math.sqrt((A + 1 / A) * (1 / slope - 1) + 2);
  const s = 2 * Math.sqrt(A) * alpha;
  return normalise(
    A * (A + 1 + (A - 1) * cos + s),
    -2 * A * (A - 1 + (A + 1) * cos),
    A * (A + 1 + (A - 1) * cos - s),
    A + 1 - (A - 1) * cos + s,
    2 * (A - 1 - (A + 1) * cos),
    A + 1 - (A - 1) * cos - s,
  );
}

export function applyBiquad(x: Float32Array, f: Biquad): Float32Array {
  const y = new Float32Array(x.length);
  let x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  for (let n = 0; n < x.length; n++) {
    const x0 = x[n];
    const y0 = f.b0 * x0 + f.b1 * x1 + f.b2 * x2 - f.a1 * y1 - f.a2 * y2;
    y[n] = y0;
    x2 = x1; x1 = x0;
    y2 = y1; y1 = y0;
  }
  return y;
}

/** Magnitude response of a biquad at frequency f (for tests and documentation). */
export function biquadGain(f: Biquad, freq: number, sampleRate: number): number {
  const w = (2 * Math.PI * freq) / sampleRate;
  const re = (b0: number, b1: number, b2: number) => b0 + b1 * Math.cos(w) + b2 * Math.cos(2 * w);
  const im = (b1: number, b2: number) => -(b1 * Math.sin(w) + b2 * Math.sin(2 * w));
  const nr = re(f.b0, f.b1, f.b2), ni = im(f.b1, f.b2);
  const dr = re(1, f.a1, f.a2), di = im(f.a1, f.a2);
  return Math.hypot(nr, ni) / Math.hypot(dr, di);
}

/** Tilt pivot: the shelf is centred here, so `tiltDb` is the brightness difference above vs below. */
const TILT_PIVOT_HZ = 1000;

/** Band-limits (2nd-order Butterworth high- and low-pass) and tilts the spectrum. */
export function colourChannel(x: Float32Array, sampleRate: number, channel: ChannelParams): Float32Array {
  let y = applyBiquad(x, highPass(channel.lowCutHz, sampleRate));
  if (channel.highCutHz < sampleRate / 2) y = applyBiquad(y, lowPass(channel.highCutHz, sampleRate));
  if (channel.tiltDb !== 0) y = applyBiquad(y, highShelf(TILT_PIVOT_HZ, sampleRate, channel.tiltDb));
  return y;
}

/** Per-utterance variation of a speaker's channel (different microphone position / session). */
export function varyChannel(rng: Rng, channel: ChannelParams, sampleRate: number): ChannelParams {
  return {
    lowCutHz: Math.round(Math.min(500, channel.lowCutHz * Math.exp(rng.normal(0, 0.15)))),
    highCutHz: Math.round(Math.min(0.45 * sampleRate, channel.highCutHz * Math.exp(rng.normal(0, 0.06)))),
    tiltDb: Math.round((channel.tiltDb + rng.normal(0, 1.5)) * 10) / 10,
  };
}

/**
 * Gaussian noise through a one-pole low-pass y[n] = c*y[n-1] + x[n]: c = 0 is white, c -> 1
 * approaches brown (1/f^2) noise.
 */
export function colouredNoise(rng: Rng, length: number, colour: number): Float32Array {
  const out = new Float32Array(length);
  let y = 0;
  for (let i = 0; i < length; i++) {
    y = colour * y + rng.normal();
    out[i] = y;
  }
  return out;
}

export function meanPower(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length ? s / x.length : 0;
}

/** signal + k * noise, with k chosen so that meanPower(signal) / meanPower(k * noise) = 10^(snrDb/10). */
export function addNoise(signal: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  if (noise.length < signal.length) throw new Error("addNoise: noise shorter than signal");
  const ps = meanPower(signal);
  const pn = meanPower(noise.subarray(0, signal.length));
  const k = pn > 0 ? Math.sqrt(ps / (pn * Math.pow(10, snrDb / 10))) : 0;
  const out = new Float32Array(signal.length);
  for (let i = 0; i < signal.length; i++) out[i] = signal[i] + k * noise[i];
  return out;
}

/** Scales so that max |x| = peak; silence stays silence. */
export function peakNormalize(x: Float32Array, peak: number): Float32Array {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  const out = new Float32Array(x.length);
  if (m === 0) return out;
  const g = peak / m;
  for (let i = 0; i < x.length; i++) out[i] = x[i] * g;
  return out;
}

/** Pads with `before` and `after` zeros (leading and trailing silence). */
export function padSilence(x: Float32Array, before: number, after: number): Float32Array {
  const out = new Float32Array(before + x.length + after);
  out.set(x, before);
  return out;
}
