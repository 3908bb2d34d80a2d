/**
 * Kaldi frame extraction and per-frame processing (feature-window.cc ExtractWindow/ProcessWindow),
 * shared by fbank and MFCC. Only snip_edges=true and dither=0 are implemented: frames that do not
 * fit are dropped, and output is deterministic.
 */
import { PowerSpectrum, nextPowerOfTwo } from "./fft.js";
import { windowFunction, type WindowType } from "./window.js";

/** float32 epsilon, Kaldi's floor before every log (std::numeric_limits<float>::epsilon()). */
export const FLT_EPSILON = 1.1920928955078125e-7;

export interface FrameOptions {
  /** Hz (default 16000). */
  sampleRate?: number;
  /** Default 25 ms. */
  frameLengthMs?: number;
  /** Default 10 ms. */
  frameShiftMs?: number;
  /** Default 0.97; Kaldi style x[i] -= c*x[i-1], x[0] -= c*x[0]. */
  preemphCoeff?: number;
  /** Subtract each frame's mean (default true). */
  removeDcOffset?: boolean;
  /** Default "povey". */
  windowType?: WindowType;
  /** Zero-pad the frame to the next power of two for the FFT (default true: 400 -> 512). */
  roundToPowerOfTwo?: boolean;
  /**
   * Multiplies the waveform before anything else (default 32768). Audio here is float in [-1, 1];
   * Kaldi reads int16 WAVs as raw integer values, so scaling by 2^15 (as torchaudio.compliance.kaldi
   * users do) makes the features numerically identical to Kaldi's on 16-bit input. Without it every
   * log energy would be lower by ln(2^30) ~= 20.79 and the epsilon floor would bite far more often.
   */
  waveformScale?: number;
}

export type ResolvedFrameOptions = Required<FrameOptions>;

export function resolveFrameOptions(opts: FrameOptions = {}): ResolvedFrameOptions {
  return {
    sampleRate: opts.sampleRate ?? 16000,
    frameLengthMs: opts.frameLengthMs ?? 25,
    frameShiftMs: opts.frameShiftMs ?? 10,
    preemphCoeff: opts.preemphCoeff ?? 0.97,
    removeDcOffset: opts.removeDcOffset ?? true,
    windowType: opts.windowType ?? "povey",
    roundToPowerOfTwo: opts.roundToPowerOfTwo ?? true,
    waveformScale: opts.waveformScale ?? 32768,
  };
}

/** Frames with snip_edges=true: 1 + floor((N - length) / shift), or 0 when N < length. */
export function numFrames(numSamples: number, frameLength: number, frameShift: number): number {
  if (numSamples < frameLength) return 0;
  return 1 + Math.floor((numSamples - frameLength) / frameShift);
}

/**
 * Turns frame t of a waveform into its power spectrum (and raw log energy). Owns its scratch
 * buffers and FFT, so one instance serves any number of utterances (not re-entrant, but JS is
 * single-threaded and compute() never yields).
 */
export class FrameProcessor {
  readonly opts: ResolvedFrameOptions;
  readonly frameLength: number;
  readonly frameShift: number;
  readonly fftSize: number;
  private readonly window: Float64Array;
  private readonly frame: Float64Array;
  private readonly fft: PowerSpectrum;

  constructor(opts: FrameOptions = {}) {
    const o = resolveFrameOptions(opts);
    this.opts = o;
    // Kaldi truncates samp_freq * 0.001 * ms to an integer (FrameExtractionOptions::WindowSize).
    this.frameLength = Math.trunc(o.sampleRate * 0.001 * o.frameLengthMs);
    this.frameShift = Math.trunc(o.sampleRate * 0.001 * o.frameShiftMs);
    if (this.frameLength < 2 || this.frameShift < 1) {
      throw new Error(`frame length ${this.frameLength} / shift ${this.frameShift} samples too small`);
    }
    if (!(o.preemphCoeff >= 0 && o.preemphCoeff <= 1)) throw new Error(`pre-emphasis must be in [0, 1], got ${o.preemphCoeff}`);
    this.fftSize = o.roundToPowerOfTwo ? nextPowerOfTwo(this.frameLength) : this.frameLength;
    if ((this.fftSize & (this.fftSize - 1)) !== 0) {
      throw new Error(`FFT size ${this.fftSize} is not a power of two (fft.js); keep roundToPowerOfTwo`);
    }
    this.window = windowFunction(o.windowType, this.frameLength);
    this.frame = new Float64Array(this.frameLength);
    this.fft = new PowerSpectrum(this.fftSize);
  }

  numFrames(numSamples: number): number {
    return numFrames(numSamples, this.frameLength, this.frameShift);
  }

  /**
   * Power spectrum (fftSize/2 + 1 bins) of frame t into `spectrum`. Returns the log energy:
   * raw (after DC removal, before pre-emphasis and window) when rawEnergy, else of the windowed
   * frame — both floored at FLT_EPSILON as Kaldi does.
   */
  process(audio: Float32Array, t: number, spectrum: Float64Array, rawEnergy: boolean = true): number {
    const { frameLength: n, frame, window } = this;
    const { waveformScale, removeDcOffset, preemphCoeff } = this.opts;
    const start = t * this.frameShift;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const v = audio[start + i] * waveformScale;
      frame[i] = v;
      sum += v;
    }
    if (removeDcOffset) {
      const mean = sum / n;
      for (let i = 0; i < n; i++) frame[i] -= mean;
    }
    let energy = 0;
    if (rawEnergy) {
      for (let i = 0; i < n; i++) energy += frame[i] * frame[i];
    }
    if (preemphCoeff !== 0) {
      for (let i = n - 1; i > 0; i--) frame[i] -= preemphCoeff * frame[i - 1];
      frame[0] -= preemphCoeff * frame[0];
    }
    for (let i = 0; i < n; i++) frame[i] *= window[i];
    if (!rawEnergy) {
      for (let i = 0; i < n; i++) energy += frame[i] * frame[i];
    }
    this.fft.compute(frame, spectrum);
    return Math.log(Math.max(energy, FLT_EPSILON));
  }
}
