/**
 * Kaldi-compatible MFCC (compute-mfcc-feats defaults: 23 mel bins, 13 ceps, use_energy with raw
 * energy, cepstral lifter 22, energy_floor 0) with dither 0 and snip_edges=true.
 */
import { dctMatrix, lifterCoefficients, matVec } from "./dct.js";
import { appendDeltas, type DeltaOptions } from "./deltas.js";
import type { FeatureMatrix } from "./fbank.js";
import { FLT_EPSILON, FrameProcessor, resolveFrameOptions, type FrameOptions } from "./frames.js";
import { applyMelFilterbank, melFilterbank, type MelFilterbank } from "./mel.js";

export interface MfccOptions extends FrameOptions {
  /** Default 23. */
  numMelBins?: number;
  /** Default 13. */
  numCeps?: number;
  /** Default 20 Hz. */
  lowFreq?: number;
  /** Default 0 = Nyquist. */
  highFreq?: number;
  /** Replace c0 by the log frame energy (default true). */
  useEnergy?: boolean;
  /** Energy before pre-emphasis/window (default true) rather than of the windowed frame. */
  rawEnergy?: boolean;
  /** Absolute floor on the energy, applied in the log domain; 0 (Kaldi default) disables it. */
  energyFloor?: number;
  /** Lifter Q (default 22); 0 disables liftering. */
  cepstralLifter?: number;
}

export type ResolvedMfccOptions = Required<MfccOptions>;

export function resolveMfccOptions(opts: MfccOptions = {}): ResolvedMfccOptions {
  return {
    ...resolveFrameOptions(opts),
    numMelBins: opts.numMelBins ?? 23,
    numCeps: opts.numCeps ?? 13,
    lowFreq: opts.lowFreq ?? 20,
    highFreq: opts.highFreq ?? 0,
    useEnergy: opts.useEnergy ?? true,
    rawEnergy: opts.rawEnergy ?? true,
    energyFloor: opts.energyFloor ?? 0,
    cepstralLifter: opts.cepstralLifter ?? 22,
  };
}

/** A configured MFCC extractor; reuse one instance across utterances. */
export class Mfcc {
  readonly opts: ResolvedMfccOptions;
  readonly frames: FrameProcessor;
  readonly melBank: MelFilterbank;
  private readonly dct: Float64Array;
  private readonly lifter: Float64Array;
  private readonly spectrum: Float64Array;
  private readonly energies: Float64Array;
  private readonly ceps: Float64Array;

  constructor(opts: MfccOptions = {}) {
    const o = resolveMfccOptions(opts);
    this.opts = o;
    if (o.numCeps > o.numMelBins) throw new Error(`numCeps ${o.numCeps} exceeds numMelBins ${o.numMelBins}`);
    this.frames = new FrameProcessor(o);
    this.melBank = melFilterbank({
      numBins: o.numMelBins,
      fftSize: this.frames.fftSize,
      sampleRate: o.sampleRate,
      lowFreq: o.lowFreq,
      highFreq: o.highFreq,
    });
    this.dct = dctMatrix(o.numCeps, o.numMelBins);
    this.lifter = lifterCoefficients(o.numCeps, o.cepstralLifter);
    this.spectrum = new Float64Array(this.frames.fftSize / 2 + 1);
    this.energies = new Float64Array(o.numMelBins);
    this.ceps = new Float64Array(o.numCeps);
  }

  compute(audio: Float32Array): FeatureMatrix {
    const o = this.opts;
    const numCeps = o.numCeps;
    const frames = this.frames.numFrames(audio.length);
    const data = new Float32Array(frames * numCeps);
    const logFloor = o.energyFloor > 0 ? Math.log(o.energyFloor) : -Infinity;
    const { spectrum, energies, ceps } = this;
    for (let t = 0; t < frames; t++) {
      const logEnergy = this.frames.process(audio, t, spectrum, o.rawEnergy);
      applyMelFilterbank(this.melBank, spectrum, energies);
      for (let b = 0; b < energies.length; b++) energies[b] = Math.log(Math.max(energies[b], FLT_EPSILON));
      matVec(this.dct, numCeps, o.numMelBins, energies, ceps);
      const row = t * numCeps;
      for (let c = 0; c < numCeps; c++) data[row + c] = ceps[c] * this.lifter[c];
      // Kaldi overwrites c0 after liftering (lifter[0] = 1 anyway).
      if (o.useEnergy) data[row] = Math.max(logEnergy, logFloor);
    }
    return { data, numFrames: frames, numBins: numCeps };
  }
}

const extractors = new Map<string, Mfcc>();

/** 13-dim Kaldi MFCC of 16 kHz float audio in [-1, 1]; extractors are cached per option set. */
export function computeMfcc(audio: Float32Array, opts: MfccOptions = {}): FeatureMatrix {
  const resolved = resolveMfccOptions(opts);
  const key = JSON.stringify(resolved);
  let m = extractors.get(key);
  if (!m) {
    m = new Mfcc(resolved);
    extractors.set(key, m);
  }
  return m.compute(audio);
}

/** Static + delta + delta-delta (Kaldi add-deltas, window 2): 13 -> 39 dims. */
export function mfccWithDeltas(audio: Float32Array, opts: MfccOptions = {}, deltas: DeltaOptions = {}): FeatureMatrix {
  const m = computeMfcc(audio, opts);
  const order = deltas.order ?? 2;
  return {
    data: appendDeltas(m.data, m.numFrames, m.numBins, deltas),
    numFrames: m.numFrames,
    numBins: m.numBins * (order + 1),
  };
}
