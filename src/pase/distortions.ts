/**
 * PASE+'s online distortions of the encoder's input (santi-pdp/pase cfg/distortions/pase+.cfg):
 * each is applied with its own probability, in a fixed order, to a copy of the clean crop; the
 * workers' targets stay those of the clean signal, so the encoder learns to see through them.
 * Every function returns a new array of the input's length and takes its randomness from an Rng.
 *
 * Differences from pase: reverberation uses synthetic room responses (exponentially decaying
 * noise) instead of a measured RIR corpus, and noise is synthetic coloured noise unless a noise
 * bank is given; no overlapping-speaker or down-sampling distortion.
 */
import { fftConvolve, zeroBand } from "../dsp/fft.js";
import type { Rng } from "../random.js";

const SAMPLE_RATE = 16000;

function power(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length > 0 ? s / x.length : 0;
}

/** A direct-path impulse followed by Gaussian noise decaying by 60 dB over rt60 seconds. */
export function syntheticImpulseResponse(rng: Rng, rt60: number, sampleRate = SAMPLE_RATE): Float64Array {
  const n = Math.max(2, Math.round(rt60 * sampleRate));
  const h = Float64Array.from({ length: n }, (_, i) => rng.normal() * Math.exp((-6.91 * i) / (rt60 * sampleRate)) * 0.3);
  h[0] = 1;
  return h;
}

/** Convolution with a synthetic room (rt60 uniform in the range), cut to length, at the input's RMS. */
export function reverberate(audio: Float32Array, rng: Rng, o: { rt60Range: [number, number] } = { rt60Range: [0.2, 0.8] }): Float32Array {
  const rt60 = rng.uniform(o.rt60Range[0], o.rt60Range[1]);
  const wet = fftConvolve(audio, syntheticImpulseResponse(rng, rt60)).subarray(0, audio.length);
  const gain = Math.sqrt(power(audio) / Math.max(power(wet), 1e-20));
  return Float32Array.from(wet, (v) => v * gain);
}

/**
 * signal + noise scaled so that 10 log10(P_signal / P_noise) = snrDb. A silent signal (or
 * silent noise) is returned unchanged: no SNR is defined, and scaling would give NaN.
 */
export function mixAtSnr(signal: Float32Array, noise: ArrayLike<number>, snrDb: number): Float32Array {
  const ps = power(signal);
  const pn = power(noise);
  if (ps === 0 || pn === 0) return signal.slice();
  const g = Math.sqrt(ps / (pn * 10 ** (snrDb / 10)));
  return Float32Array.from(signal, (v, i) => v + g * noise[i]);
}

/** White, pink (1/f: sum of octave-spaced random walks, Voss-McCartney) or brown (integrated white) noise. */
export function colouredNoise(rng: Rng, n: number, colour: "white" | "pink" | "brown"): Float64Array {
  const out = new Float64Array(n);
  if (colour === "white") for (let i = 0; i < n; i++) out[i] = rng.normal();
  else if (colour === "brown") {
    let acc = 0;
    for (let i = 0; i < n; i++) (acc = 0.98 * acc + rng.normal()), (out[i] = acc);
  } else {
    const rows = new Float64Array(12).map(() => rng.normal());
    for (let i = 0; i < n; i++) {
      // Row r is redrawn every 2^r samples (the lowest set bit of i picks it).
      const r = i === 0 ? 0 : Math.min(rows.length - 1, 31 - Math.clz32(i & -i));
      rows[r] = rng.normal();
      out[i] = rows.reduce((a, v) => a + v, 0);
    }
  }
  return out;
}

/** Noise at an SNR from the list: a looped random crop of a bank clip, or synthetic coloured noise. */
export function addNoise(audio: Float32Array, rng: Rng, o: { snrsDb: number[]; noiseBank?: readonly Float32Array[] } = { snrsDb: [0, 5, 10] }): Float32Array {
  const snr = rng.pick(o.snrsDb);
  let noise: ArrayLike<number>;
  if (o.noiseBank && o.noiseBank.length > 0) {
    const clip = rng.pick(o.noiseBank);
    const off = rng.int(0, clip.length - 1);
    noise = Float64Array.from({ length: audio.length }, (_, i) => clip[(off + i) % clip.length]);
  } else noise = colouredNoise(rng, audio.length, rng.pick(["white", "pink", "brown"] as const));
  return mixAtSnr(audio, noise, snr);
}

/** Zeroes one random band of up to maxWidthHz (PASE+'s band drop, a frequency mask). */
export function bandDrop(audio: Float32Array, rng: Rng, o: { maxWidthHz: number } = { maxWidthHz: 2000 }): Float32Array {
  const width = rng.uniform(100, o.maxWidthHz);
  const lo = rng.uniform(0, SAMPLE_RATE / 2 - width);
  return Float32Array.from(zeroBand(audio, SAMPLE_RATE, lo, lo + width));
}

/** Zeroes 1-3 random segments, each length drawn from one of the [mean, std] pairs (seconds). */
export function timeChop(audio: Float32Array, rng: Rng, o: { chops: [number, number][] } = { chops: [[0.05, 0.025], [0.1, 0.05]] }): Float32Array {
  const out = audio.slice();
  const count = rng.int(1, 3);
  for (let k = 0; k < count; k++) {
    const [mean, std] = rng.pick(o.chops);
    const len = Math.min(out.length, Math.max(0, Math.round(rng.normal(mean, std) * SAMPLE_RATE)));
    const start = rng.int(0, out.length - len);
    out.fill(0, start, start + len);
  }
  return out;
}

/** Clips to +-factor * max|x|. */
export function clip(audio: Float32Array, factor: number): Float32Array {
  let peak = 0;
  for (const v of audio) peak = Math.max(peak, Math.abs(v));
  const c = factor * peak;
  return Float32Array.from(audio, (v) => Math.max(-c, Math.min(c, v)));
}

/** Probability of each distortion (PASE+: reverb 0.5, noise 0.4, band drop 0.35, chop 0.2, clip 0.2). */
export interface DistortionConfig {
  reverb: number;
  noise: number;
  bandDrop: number;
  chop: number;
  clip: number;
}

export const PASE_PLUS_DISTORTIONS: DistortionConfig = { reverb: 0.5, noise: 0.4, bandDrop: 0.35, chop: 0.2, clip: 0.2 };
export const NO_DISTORTIONS: DistortionConfig = { reverb: 0, noise: 0, bandDrop: 0, chop: 0, clip: 0 };

/** Applies each distortion with its probability, in the order reverb, noise, band drop, chop, clip. */
export function distort(audio: Float32Array, rng: Rng, config: DistortionConfig, noiseBank?: readonly Float32Array[]): { audio: Float32Array; applied: string[] } {
  let x = audio;
  const applied: string[] = [];
  const steps: [keyof DistortionConfig, (a: Float32Array) => Float32Array][] = [
    ["reverb", (a) => reverberate(a, rng)],
    ["noise", (a) => addNoise(a, rng, { snrsDb: [0, 5, 10], noiseBank })],
    ["bandDrop", (a) => bandDrop(a, rng)],
    ["chop", (a) => timeChop(a, rng)],
    ["clip", (a) => clip(a, rng.pick([0.1, 0.3, 0.5]))],
  ];
  for (const [name, f] of steps) {
    // One draw per distortion whatever the outcome, so the probabilities do not shift the stream.
    if (rng.chance(config[name])) (x = f(x)), applied.push(name);
  }
  return { audio: x === audio ? audio.slice() : x, applied };
}
