/**
 * Brain data sets: one or more runs (a stimulus and the BOLD responses of several subjects to it),
 * plus the manifest (`brain.json`) that describes one on disk and the generating truth of a
 * simulated set. Loading and validation live in dataset.ts; the manifest format is documented there.
 */

export interface BrainSubject {
  id: string;
  /** [rows x targets] row-major */
  bold: Float32Array;
  rows: number;
  /** The file the BOLD came from (for messages). */
  source: string;
}

/** A word of the stimulus with its interval on the stimulus clock (seconds). */
export interface StimulusWord {
  text: string;
  xmin: number;
  xmax: number;
}

export interface BrainRun {
  id: string;
  /** 16 kHz mono stimulus audio; empty when the data set was loaded with `stimulus: false`. */
  stimulus: Float32Array;
  stimulusSource: string;
  /** seconds */
  tr: number;
  /** stimulus time (s) of BOLD row 0 (after discarded volumes) */
  firstRowTime: number;
  subjects: BrainSubject[];
  /** Stimulus duration in seconds, known even when the audio was not loaded. */
  stimulusDuration?: number;
  /** Word timings when the stimulus came with them (a TextGrid; simulated sets). */
  words?: StimulusWord[];
}

export interface SkippedSubject {
  subject: string;
  run: string;
  reason: string;
}

export interface BrainDataset {
  name: string;
  targetNames: string[];
  runs: BrainRun[];
  skipped: SkippedSubject[];
  /** hash of everything loaded, for caches */
  hash: string;
  /** optional: the generating truth of a simulated set */
  truth?: SimulationTruth;
}

// ---------------------------------------------------------------------------------------------
// The manifest (brain.json), as parsed; paths are relative to the manifest's folder.

/**
 * The stimulus of a run: a WAV (`wav`), or word timings (`textgrid`, interval tier `tier`, default
 * "word") from which it is synthesised, or both (audio from the WAV, word timings from the TextGrid).
 */
export interface StimulusSpec {
  wav?: string;
  textgrid?: string;
  tier?: string;
}

export interface ManifestSubject {
  id: string;
  bold: string;
  mask?: string;
}

export interface ManifestRun {
  id: string;
  stimulus: StimulusSpec;
  /** Overrides the data set's firstRowTime for this run. */
  firstRowTime?: number;
  subjects: ManifestSubject[];
}

export interface BrainManifest {
  name: string;
  tr: number;
  /** Default 0. */
  firstRowTime?: number;
  targets?: string[];
  runs: ManifestRun[];
}

// ---------------------------------------------------------------------------------------------
// Simulation truth (simulate.ts writes it as truth.json beside brain.json)

export type FeatureFamily = "acoustic" | "phonetic" | "lexical";

export interface SimulatedFeature {
  name: string;
  family: FeatureFamily;
  description: string;
}

export interface SimulatedRoi {
  name: string;
  family: FeatureFamily;
  /** Group-level weights over the family's features (in SimulationTruth.features order within the family), positive. */
  weights: number[];
}

export interface SimulationTruth {
  kind: "superb-brain-simulation";
  version: number;
  seed: number;
  subjects: number;
  minutes: number;
  tr: number;
  firstRowTime: number;
  rows: number;
  /** var(signal) / var(noise) per target time course. */
  snr: number;
  /** AR(1) coefficient of the noise. */
  ar1: number;
  /** Relative standard deviation of the per-subject weight jitter. */
  weightJitter: number;
  hrf: { model: "spm"; featureRate: number };
  /** Pearson r an exact model of the signal would reach on average: sqrt(snr / (1 + snr)). */
  ceilingR: number;
  voice: { accent: string; variant: string; pitch: number; pitchRange: number; rate: number };
  features: SimulatedFeature[];
  rois: SimulatedRoi[];
  /** Per subject: the jittered weights actually used, one array per ROI. */
  subjectWeights: { subject: string; weights: number[][] }[];
  /** How word and phone timings were obtained (eSpeak reports none). */
  timing: string;
  sentences: number;
  words: number;
  phones: number;
  /** Files beside truth.json. */
  files: { stimulus: string; words: string; manifest: string };
}
