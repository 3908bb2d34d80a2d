/**
 * Rendering of one planned utterance: synthesis, channel, noise, level, WAV file. Every random
 * choice is already in the job (or seeded by it), so the result does not depend on which thread
 * renders it or in what order.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { writeWav16 } from "../audio.js";
import { Rng } from "../random.js";
import { addNoise, colourChannel, colouredNoise, padSilence, peakNormalize, type ChannelParams } from "./augment.js";
import { EspeakSynth, TARGET_SAMPLE_RATE } from "./synth.js";
import type { VoiceSettings } from "./types.js";

export interface UttJob {
  index: number;
  /** Normalised transcript; synthesised in lower case. */
  text: string;
  voice: VoiceSettings;
  channel: ChannelParams;
  snrDb: number;
  /** One-pole coefficient of the noise colour (0 white .. 0.97 near brown). */
  noiseColour: number;
  noiseSeed: number;
  peak: number;
  padBeforeSec: number;
  padAfterSec: number;
  /** Absolute path of the WAV file to write. */
  outPath: string;
}

export interface UttResult {
  index: number;
  phonemes: string[];
  numSamples: number;
}

export function renderAudio(synth: EspeakSynth, job: UttJob): { samples: Float32Array; phonemes: string[] } {
  const sr = TARGET_SAMPLE_RATE;
  const { samples, phonemes } = synth.synthesize(job.text.toLowerCase(), job.voice);
  const padded = padSilence(samples, Math.round(job.padBeforeSec * sr), Math.round(job.padAfterSec * sr));
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
