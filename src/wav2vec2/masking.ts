/**
 * Span masking and negative sampling for wav2vec 2.0 pre-training, as fairseq's
 * `compute_mask_indices` / HF's `_compute_mask_indices` and HF's `_sample_negative_indices`.
 * Pure functions of their inputs and a uniform random source, so a run is reproducible from its
 * seed (the trainer derives one source per step and utterance).
 */

/** A uniform random source in [0, 1), e.g. `mulberry32(seed)` or `() => rng.float()`. */
export type Uniform = () => number;

/**
 * Number of mask spans for an utterance of `numFrames` frames, as HF's `compute_num_masked_span`:
 * int(maskProb * T / spanLength + epsilon), at least minMasks, and never more spans than fit.
 */
export function numMaskedSpans(numFrames: number, maskProb: number, spanLength: number, minMasks: number, epsilon: number): number {
  let n = Math.floor((maskProb * numFrames) / spanLength + epsilon);
  n = Math.max(n, minMasks);
  if (n * spanLength > numFrames) n = Math.floor(numFrames / spanLength);
  if (numFrames - (spanLength - 1) < n) n = Math.max(numFrames - (spanLength - 1), 0);
  return n;
}

/**
 * fairseq's pre-training `mask_prob` (HF `mask_time_prob` semantics): 0.65 spans-worth of frames,
 * i.e. int(0.65 * T / 10) spans of 10, which is the paper's "p = 0.065 of all frames are span
 * starts". (HF checkpoints ship mask_time_prob 0.05: that is the fine-tuning SpecAugment value.)
 */
export const PRETRAIN_MASK_PROB = 0.65;

/**
 * The time mask of one utterance: 1 = masked frame. Span starts are drawn uniformly without
 * replacement from [0, T - spanLength] (so every span fits), int(maskProb * T / span + U(0,1)) of
 * them (at least minMasks); spans may overlap, so usually fewer than n * span frames are masked
 * (about 49 % of frames with maskProb 0.65 and span 10, the paper's p = 0.065 start probability).
 * maskProb has HF/fairseq semantics (see PRETRAIN_MASK_PROB): it is not the start probability.
 * HF draws one epsilon per batch; here it is drawn per utterance (as fairseq does), which keeps
 * the function per-utterance and changes nothing in expectation.
 */
export function computeMaskIndices(
  numFrames: number,
  maskProb = PRETRAIN_MASK_PROB,
  spanLength = 10,
  minMasks = 2,
  rng: Uniform = Math.random,
): Uint8Array {
  if (!Number.isInteger(numFrames) || numFrames < 0) throw new RangeError(`computeMaskIndices: numFrames must be a non-negative integer, got ${numFrames}`);
  if (!Number.isInteger(spanLength) || spanLength < 1) throw new RangeError(`computeMaskIndices: spanLength must be >= 1, got ${spanLength}`);
  if (spanLength > numFrames) {
    throw new RangeError(`computeMaskIndices: span length ${spanLength} is longer than the utterance (${numFrames} frames)`);
  }
  const mask = new Uint8Array(numFrames);
  const n = numMaskedSpans(numFrames, maskProb, spanLength, minMasks, rng());
  const choices = numFrames - spanLength + 1;
  // Partial Fisher-Yates over the possible starts: n distinct starts.
  const starts = Int32Array.from({ length: choices }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rng() * (choices - i));
    const s = starts[j];
    starts[j] = starts[i];
    starts[i] = s;
    mask.fill(1, s, s + spanLength);
  }
  return mask;
}

/** Indices of the masked frames (ascending). */
export function maskedIndices(mask: ArrayLike<number>): Int32Array {
  const out: number[] = [];
  for (let t = 0; t < mask.length; t++) if (mask[t]) out.push(t);
  return Int32Array.from(out);
}

export interface NegativeSamplingOptions {
  /**
   * Draw the K negatives of a frame without replacement (needs K <= M - 1). Default false: with
   * replacement, exactly as HF `_sample_negative_indices` and fairseq `sample_negatives`.
   */
  distinct?: boolean;
}

/**
 * Negatives for every masked frame of one utterance: row i (the i-th masked frame, in the order
 * of `maskedIdx`) holds K frame indices, each drawn uniformly from the *other* masked frames of
 * the utterance (never the positive itself). Returns an [M, K] row-major Int32Array of frame
 * indices. HF semantics: draw r in [0, M-2], shift r >= i up by one, so the distribution over
 * the other M-1 frames stays uniform; draws are independent (repeats possible) unless
 * `distinct` is set.
 */
export function sampleNegatives(maskedIdx: ArrayLike<number>, K: number, rng: Uniform = Math.random, opts: NegativeSamplingOptions = {}): Int32Array {
  const M = maskedIdx.length;
  if (!Number.isInteger(K) || K < 0) throw new RangeError(`sampleNegatives: K must be a non-negative integer, got ${K}`);
  const out = new Int32Array(M * K);
  if (K === 0 || M === 0) return out;
  if (M < 2) throw new RangeError("sampleNegatives: need at least two masked frames to draw negatives");
  if (opts.distinct && K > M - 1) {
    throw new RangeError(`sampleNegatives: cannot draw ${K} distinct negatives from ${M - 1} other masked frames`);
  }
  const pool = opts.distinct ? new Int32Array(M - 1) : null;
  for (let i = 0; i < M; i++) {
    if (pool === null) {
      for (let k = 0; k < K; k++) {
        let r = Math.floor(rng() * (M - 1));
        if (r >= i) r += 1;
        out[i * K + k] = maskedIdx[r];
      }
    } else {
      for (let r = 0; r < M - 1; r++) pool[r] = r >= i ? r + 1 : r;
      for (let k = 0; k < K; k++) {
        const j = k + Math.floor(rng() * (M - 1 - k));
        const r = pool[j];
        pool[j] = pool[k];
        pool[k] = r;
        out[i * K + k] = maskedIdx[r];
      }
    }
  }
  return out;
}
