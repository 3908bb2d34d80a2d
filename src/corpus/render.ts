/**
 * Rendering of one planned utterance: synthesis, channel, noise, level, WAV file. Every random
 * choice is already in the job (or seeded by it), so the result does not depend on which thread
 * renders it or in what order.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { writeWav16 } from "../audio.js";
import { Rng } from "../random.js";
import { addNoise, colourChannel, colouredNoise, meanPower, padSilence, peakNormalize, type ChannelParams } from "./augment.js";
import { EspeakSynth, TARGET_SAMPLE_RATE } from "./synth.js";
import type { VoiceSettings } from "./types.js";

export interface UttJob {
  index: number;
  /**
   * Normalised transcript; synthesised in lower case. "" (only with fixedLengthSamples) renders a
   * `_silence_` clip: the coloured noise alone, at the level it would have under a word of nominal
   * level (NOMINAL_WORD_RMS) at snrDb; no speech, no channel, no peak normalisation.
   */
  text: string;
  voice: VoiceSettings;
  channel: ChannelParams;
  snrDb: number;
  /** One-pole coefficient of the noise colour (0 white .. 0.97 near brown). */
  noiseColour: number;
  noiseSeed: number;
  peak: number;
  /** Silence before and after the synthesised audio; ignored for fixed-length clips. */
  padBeforeSec: number;
  padAfterSec: number;
  /**
   * Keyword clips: the word, trimmed of eSpeak's leading and trailing silence, is centred in a frame
   * of exactly this many samples (cropped about its centre if longer) before channel and noise;
   * null for ordinary utterances.
   */
  fixedLengthSamples: number | null;
  /** Absolute path of the WAV file to write. */
  outPath: string;
}

export interface UttResult {
  index: number;
  phonemes: string[];
  numSamples: number;
}

/**
 * RMS of the word in a peak-normalised 1 s keyword clip: the median over the quick corpus's word
 * clips, measured (quartiles 0.056 and 0.099). `_silence_` clips put their noise where the
 * background of a word clip at the same SNR would be, so that the level alone does not give
 * silence away.
 */
export const NOMINAL_WORD_RMS = 0.075;

/** Audible extent of x: first and last+1 index where |x| exceeds `rel` times the peak ([0, 0) if silent). */
export function audibleRange(x: Float32Array, rel = 1e-3): [number, number] {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  if (m === 0) return [0, 0];
  const th = rel * m;
  let a = 0;
  while (Math.abs(x[a]) <= th) a++;
  let b = x.length;
  while (Math.abs(x[b - 1]) <= th) b--;
  return [a, b];
}

/** The audible part of x centred in a frame of exactly `length` samples, cropped about its centre if longer. */
export function centreInFrame(x: Float32Array, length: number): Float32Array {
  const [a, b] = audibleRange(x);
  const n = b - a;
  const out = new Float32Array(length);
  if (n <= length) out.set(x.subarray(a, b), (length - n) >> 1);
  else out.set(x.subarray(a + ((n - length) >> 1), a + ((n - length) >> 1) + length));
  return out;
}

export function renderAudio(synth: EspeakSynth, job: UttJob): { samples: Float32Array; phonemes: string[] } {
  const sr = TARGET_SAMPLE_RATE;
  if (job.text === "") {
    if (job.fixedLengthSamples === null) throw new Error(`utterance job ${job.index}: empty text is only allowed for fixed-length (silence) clips`);
    const noise = colouredNoise(new Rng(job.noiseSeed), job.fixedLengthSamples, job.noiseColour);
    const gain = NOMINAL_WORD_RMS / Math.pow(10, job.snrDb / 20) / Math.sqrt(meanPower(noise) || 1);
    return { samples: noise.map((v) => v * gain), phonemes: [] };
  }
  const { samples, phonemes } = synth.synthesize(job.text.toLowerCase(), job.voice);
  const padded =
    job.fixedLengthSamples !== null
      ? centreInFrame(samples, job.fixedLengthSamples)
      : padSilence(samples, Math.round(job.padBeforeSec * sr), Math.round(job.padAfterSec * sr));
  const coloured = colourChannel(padded, sr, job.channel);
  const noise = colouredNoise(new Rng(job.noiseSeed), coloured.length, job.noiseColour);
  const noisy = addNoise(coloured, noise, job.snrDb);
  return { samples: peakNormalize(noisy, job.peak), phonemes };
}

export function renderUtterance(synth: EspeakSynth, job: UttJob): UttResult {
  const { samples, phonemes } = renderAudio(synth, job);
  mkdirSync(dirname(job.outPath), { recursive: true });
  writeWav16(job.outPath, samples, TARGET_SAMPLE_RATE);
  return { index: job.index, phonemes, numSamples: samples.length };
}
