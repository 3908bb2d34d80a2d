/**
 * From an upstream's hidden states of a long stimulus to per-layer regressors on the fMRI TR grid,
 * the way Millet et al. (2022) and the Huth lab do it: hidden states of each layer are resampled to
 * the TR times with Lanczos interpolation (window 3), then made hemodynamic on the TR grid, either
 * by convolution with a canonical HRF or by FIR delays (copies delayed by 1..4 TRs, concatenated).
 */
import type { Upstream } from "../upstream.js";
import { SAMPLE_RATE } from "../upstream.js";
import { UserError } from "../errors.js";
import { convolveHrfColumns, firDelays, type HrfModel } from "./hrf.js";
import { lanczosResample } from "./lanczos.js";

export interface LongHiddenStates {
  /** One [numFrames x dim] row-major array per layer. */
  layers: Float32Array[];
  numFrames: number;
  dim: number;
  frameRate: number;
}

export interface LongExtractionOptions {
  /** Seconds of output per chunk. Default 20. */
  chunkSeconds?: number;
  /** Seconds of audio before each chunk fed to the model and then dropped. Default 5. */
  contextSeconds?: number;
  /**
   * Seconds of audio after each chunk fed and dropped. Default 1: it covers the convolutional
   * receptive field of the chunk's last frames and gives them some future context.
   */
  rightContextSeconds?: number;
  onProgress?: (doneSeconds: number, totalSeconds: number) => void;
}

/**
 * Hidden states of a long waveform, extracted in chunks so that attention memory stays bounded:
 * each chunk of `chunkSeconds` is fed with `contextSeconds` of audio before it and
 * `rightContextSeconds` after it, and only the chunk's own frames are kept. Chunk boundaries fall
 * on the upstream's frame hop, so frame k of the result is frame k of the whole stimulus (for a
 * local upstream such as FBANK the result equals a one-pass extraction).
 */
export async function extractLongHiddenStates(
  upstream: Upstream,
  audio: Float32Array,
  opts: LongExtractionOptions = {},
): Promise<LongHiddenStates> {
  const chunkSeconds = opts.chunkSeconds ?? 20;
  const contextSeconds = opts.contextSeconds ?? 5;
  const rightSeconds = opts.rightContextSeconds ?? 1;
  if (!(chunkSeconds > 0) || !(contextSeconds >= 0) || !(rightSeconds >= 0)) {
    throw new UserError(`feature extraction: chunk must be positive and contexts non-negative (got ${chunkSeconds}, ${contextSeconds}, ${rightSeconds})`);
  }
  const frameRate = upstream.frameRate;
  const hop = SAMPLE_RATE / frameRate;
  if (!Number.isInteger(hop)) throw new Error(`extractLongHiddenStates: frame hop ${hop} samples of ${upstream.name} is not an integer`);
  const chunkFrames = Math.max(1, Math.round(chunkSeconds * frameRate));
  const leftFrames = Math.round(contextSeconds * frameRate);
  const rightSamples = Math.round(rightSeconds * frameRate) * hop;
  const total = audio.length;
  const totalSeconds = total / SAMPLE_RATE;

  const pieces: Float32Array[][] = [];
  let dim = -1;
  let numLayers = -1;
  let numFrames = 0;
  for (let startFrame = 0; startFrame * hop < total; startFrame += chunkFrames) {
    const inStartFrame = Math.max(0, startFrame - leftFrames);
    const inEnd = Math.min(total, (startFrame + chunkFrames) * hop + rightSamples);
    const states = await upstream.extractHiddenStates(audio.subarray(inStartFrame * hop, inEnd));
    const offset = startFrame - inStartFrame;
    const keep = Math.min(chunkFrames, states.numFrames - offset);
    if (keep <= 0) break; // the tail is shorter than one frame
    if (dim < 0) {
      dim = states.dim;
      numLayers = states.layers.length;
    } else if (states.dim !== dim || states.layers.length !== numLayers) {
      throw new Error(`extractLongHiddenStates: ${upstream.name} changed shape between chunks`);
    }
    pieces.push(states.layers.map((l) => l.slice(offset * dim, (offset + keep) * dim)));
    numFrames += keep;
    opts.onProgress?.(Math.min(totalSeconds, ((startFrame + keep) * hop) / SAMPLE_RATE), totalSeconds);
    if (keep < chunkFrames) break;
  }
  if (numFrames === 0) throw new UserError(`stimulus: too short for ${upstream.name} (${totalSeconds.toFixed(3)} s gives no frame)`);
  const layers: Float32Array[] = [];
  for (let l = 0; l < numLayers; l++) {
    const out = new Float32Array(numFrames * dim);
    let at = 0;
    for (const piece of pieces) {
      out.set(piece[l], at);
      at += piece[l].length;
    }
    layers.push(out);
  }
  return { layers, numFrames, dim, frameRate };
}

export interface RegressorOptions {
  hemodynamic: "hrf" | "fir";
  /** FIR delays in TRs. Default [1, 2, 3, 4]. */
  firDelays?: number[];
  /** HRF model for "hrf". Default "spm". */
  hrfModel?: HrfModel;
  /**
   * Stimulus time of frame 0 in seconds. Default 0.0125: the centre of the first 25 ms window
   * (400 samples), which is the receptive field of both the wav2vec 2.0 feature encoder's first
   * output frame and a Kaldi FBANK frame; frame i is at i / frameRate + this.
   */
  frameOffsetSeconds?: number;
}

export interface Regressors {
  /** [rows x cols] row-major */
  x: Float64Array;
  rows: number;
  cols: number;
}

/** Checks that times are evenly spaced and returns the spacing (the TR). */
function gridSpacing(rowTimes: ArrayLike<number>): number {
  const n = rowTimes.length;
  if (n < 2) throw new UserError(`brain regressors: need at least 2 TR rows, got ${n}`);
  const tr = (rowTimes[n - 1] - rowTimes[0]) / (n - 1);
  if (!(tr > 0)) throw new UserError("brain regressors: row times must increase");
  for (let k = 1; k < n; k++) {
    if (Math.abs(rowTimes[k] - rowTimes[k - 1] - tr) > 1e-6 * tr) throw new UserError("brain regressors: row times must be evenly spaced (one TR apart)");
  }
  return tr;
}

/**
 * Regressors of one layer on the TR grid: the layer's frames (frame i at i/frameRate +
 * frameOffsetSeconds) are Lanczos-resampled (window 3, Huth-lab kernel, not normalised: the scale
 * is removed by standardisation later) to the row times, then made hemodynamic on the TR grid:
 * "hrf" convolves each column with the canonical HRF sampled at the TR; "fir" concatenates copies
 * delayed by each of firDelays TRs. So that row 0 sees the stimulus before it (discarded volumes,
 * or the 32 s HRF tail), the resampling covers enough earlier TRs, which are dropped at the end;
 * stimulus time before 0 has no frames and contributes zeros.
 */
export function layerRegressors(
  layer: Float32Array,
  numFrames: number,
  dim: number,
  frameRate: number,
  rowTimes: Float64Array,
  opts: RegressorOptions,
): Regressors {
  if (layer.length !== numFrames * dim) throw new Error(`layerRegressors: ${layer.length} values for ${numFrames} x ${dim}`);
  const tr = gridSpacing(rowTimes);
  const rows = rowTimes.length;
  const offset = opts.frameOffsetSeconds ?? 0.0125;
  const delays = opts.firDelays ?? [1, 2, 3, 4];
  if (opts.hemodynamic === "fir" && delays.length === 0) throw new UserError("FIR delays: the list is empty");
  // Rows of history needed before row 0: the HRF kernel's 32 s, or the largest FIR delay.
  const lead = opts.hemodynamic === "hrf" ? Math.ceil(32 / tr) : Math.max(0, ...delays);
  const extRows = rows + lead;
  const extTimes = new Float64Array(extRows);
  for (let k = 0; k < extRows; k++) extTimes[k] = rowTimes[0] + (k - lead) * tr;
  const frameTimes = new Float64Array(numFrames);
  for (let i = 0; i < numFrames; i++) frameTimes[i] = i / frameRate + offset;
  const resampled = lanczosResample(layer, numFrames, dim, frameTimes, extTimes);
  let full: Float64Array;
  let cols: number;
  if (opts.hemodynamic === "hrf") {
    full = convolveHrfColumns(resampled, extRows, dim, tr, opts.hrfModel ?? "spm");
    cols = dim;
  } else if (opts.hemodynamic === "fir") {
    full = firDelays(resampled, extRows, dim, delays);
    cols = dim * delays.length;
  } else {
    throw new UserError(`brain regressors: unknown hemodynamic model "${String(opts.hemodynamic)}" (use hrf or fir)`);
  }
  return { x: full.slice(lead * cols), rows, cols };
}
