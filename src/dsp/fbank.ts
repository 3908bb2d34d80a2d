/**
 * Kaldi-compatible log-mel filterbank (compute-fbank-feats / torchaudio.compliance.kaldi.fbank)
 * with dither 0 and snip_edges=true. See FrameOptions.waveformScale for the 32768 input scaling.
 */
import { FLT_EPSILON, FrameProcessor, resolveFrameOptions, type FrameOptions } from "./frames.js";
import { applyMelFilterbank, melFilterbank, type MelFilterbank } from "./mel.js";

export interface FbankOptions extends FrameOptions {
  /** Default 80 (SUPERB's FBANK baseline; Kaldi's own default is 23). */
  numMelBins?: number;
  /** Default 20 Hz. */
  lowFreq?: number;
  /** Default 0 = Nyquist; negative values are offsets from Nyquist. */
  highFreq?: number;
  /** Power (true, default) or magnitude spectrum. */
  usePower?: boolean;
  /** log(max(e, FLT_EPSILON)) (true, default) or linear energies. */
  useLogFbank?: boolean;
}

export type ResolvedFbankOptions = Required<FbankOptions>;

export function resolveFbankOptions(opts: FbankOptions = {}): ResolvedFbankOptions {
  return {
    ...resolveFrameOptions(opts),
    numMelBins: opts.numMelBins ?? 80,
    lowFreq: opts.lowFreq ?? 20,
    highFreq: opts.highFreq ?? 0,
    usePower: opts.usePower ?? true,
    useLogFbank: opts.useLogFbank ?? true,
  };
}

/** Row-major [numFrames x numBins] features. */
export interface FeatureMatrix {
  data: Float32Array;
  numFrames: number;
  numBins: number;
}

/** A configured fbank extractor; reuse one instance across utterances (FFT, window, mel bank built once). */
export class Fbank {
  readonly opts: ResolvedFbankOptions;
  readonly frames: FrameProcessor;
  readonly melBank: MelFilterbank;
  private readonly spectrum: Float64Array;
  private readonly energies: Float64Array;

  constructor(opts: FbankOptions = {}) {
    this.opts = resolveFbankOptions(opts);
    this.frames = new FrameProcessor(this.opts);
    this.melBank = melFilterbank({
      numBins: this.opts.numMelBins,
      fftSize: this.frames.fftSize,
      sampleRate: this.opts.sampleRate,
      lowFreq: this.opts.lowFreq,
      highFreq: this.opts.highFreq,
    });
    this.spectrum = new Float64Array(this.frames.fftSize / 2 + 1);
    this.energies = new Float64Array(this.opts.numMelBins);
  }

  get numBins(): number {
    return this.opts.numMelBins;
  }

  compute(audio: Float32Array): FeatureMatrix {
    const numBins = this.opts.numMelBins;
    const frames = this.frames.numFrames(audio.length);
    const data = new Float32Array(frames * numBins);
    const { spectrum, energies } = this;
    for (let t = 0; t < frames; t++) {
      this.frames.process(audio, t, spectrum);
      if (!this.opts.usePower) for (let k = 0; k < spectrum.length; k++) spectrum[k] = Math.sqrt(spectrum[k]);
      applyMelFilterbank(this.melBank, spectrum, energies);
      const row = t * numBins;
      if (this.opts.useLogFbank) {
        for (let b = 0; b < numBins; b++) data[row + b] = Math.log(Math.max(energies[b], FLT_EPSILON));
      } else {
        for (let b = 0; b < numBins; b++) data[row + b] = energies[b];
      }
    }
    return { data, numFrames: frames, numBins };
  }
}

const extractors = new Map<string, Fbank>();

/** Log-mel filterbank of 16 kHz float audio in [-1, 1]; extractors are cached per option set. */
export function computeFbank(audio: Float32Array, opts: FbankOptions = {}): FeatureMatrix {
  const resolved = resolveFbankOptions(opts);
  const key = JSON.stringify(resolved);
  let fb = extractors.get(key);
  if (!fb) {
    fb = new Fbank(resolved);
    extractors.set(key, fb);
  }
  return fb.compute(audio);
}
