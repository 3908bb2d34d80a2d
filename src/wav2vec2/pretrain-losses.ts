/**
 * The wav2vec 2.0 pre-training losses (HF `Wav2Vec2ForPreTraining.forward`, fairseq
 * `Wav2Vec2Model` + `wav2vec` criterion):
 *
 * - contrastive: for every masked frame t, logits = cos(c_t, q_j) / temperature over the positive
 *   j = t and its K sampled negatives (the projected quantized features of other masked frames
 *   of the same utterance); negatives whose quantized vector equals the positive's get -inf (HF
 *   `neg_is_pos`); cross-entropy with the positive as the target, summed over masked frames.
 * - diversity: (G*V - perplexity) / (G*V), perplexity of the soft codebook usage (quantizer.ts).
 * - feature penalty (fairseq only): mean of the squared feature-encoder outputs.
 *
 * The contrastive term is computed per utterance from the full cosine-similarity matrix
 * S = C Q^T / temperature [T, T] and a candidate-count matrix W (W[t, t] = 1 for a masked t,
 * W[t, j] = how often j was drawn as a negative of t, 0 for negatives equal to the positive):
 * CE_t = log(sum_j W[t, j] exp(S[t, j])) - S[t, t], the same value as HF's cross-entropy over its
 * [K + 1] logits (a negative drawn twice appears twice there too), without any gather (whose
 * gradient the tfjs wasm backend lacks) and at a cost independent of K.
 */
import * as tf from "@tensorflow/tfjs";
import { fastMatMul } from "../nn.js";

/**
 * Candidate counts of one utterance, [T, T] row-major. `negatives` is sampleNegatives' [M, K]
 * output for `maskedIdx`. `codes` ([T, G] chosen codebook entries, optional) drops negatives
 * whose codes equal the positive's: their quantized vectors are identical, which is HF's
 * neg_is_pos test.
 */
export function candidateWeights(T: number, maskedIdx: ArrayLike<number>, negatives: ArrayLike<number>, K: number, codes?: ArrayLike<number>, G = 1): Float32Array {
  const M = maskedIdx.length;
  if (negatives.length !== M * K) throw new Error(`candidateWeights: ${negatives.length} negatives for ${M} masked frames x ${K}`);
  const w = new Float32Array(T * T);
  const sameCodes = (a: number, b: number): boolean => {
    if (codes === undefined) return false;
    for (let g = 0; g < G; g++) if (codes[a * G + g] !== codes[b * G + g]) return false;
    return true;
  };
  for (let i = 0; i < M; i++) {
    const t = maskedIdx[i];
    w[t * T + t] = 1;
    for (let k = 0; k < K; k++) {
      const j = negatives[i * K + k];
      if (j === t) throw new Error("candidateWeights: a negative equals its positive frame");
      if (!sameCodes(t, j)) w[t * T + j] += 1;
    }
  }
  return w;
}

/** Rows scaled to unit L2 norm over the last axis (torch cosine_similarity's eps 1e-8). */
function unitRows(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-16)));
}

export interface ContrastiveResult {
  /** Cross-entropy summed over the masked frames (HF `contrastive_loss`, reduction "sum"). */
  loss: tf.Scalar;
  /** Masked frames whose positive logit beats every remaining negative (not differentiable). */
  correct: tf.Scalar;
}

/**
 * Contrastive loss. context = project_hid(transformer output) and targets = project_q(quantized),
 * both [B, T, P]; weights: candidateWeights per utterance; mask [B*T] (1 = masked frame).
 * The logits are bounded by 1/temperature, which is used as the log-sum-exp shift (so the
 * temperature must be >= 0.025 for float32).
 */
export function contrastiveLoss(context: tf.Tensor3D, targets: tf.Tensor3D, weights: readonly Float32Array[], mask: Float32Array, temperature: number): ContrastiveResult {
  const [B, T, P] = context.shape;
  if (targets.shape[0] !== B || targets.shape[1] !== T || targets.shape[2] !== P) {
    throw new Error(`contrastiveLoss: context [${context.shape}] and targets [${targets.shape}] differ`);
  }
  if (weights.length !== B || weights.some((w) => w.length !== T * T)) throw new Error("contrastiveLoss: need one [T, T] weight matrix per utterance");
  if (mask.length !== B * T) throw new Error("contrastiveLoss: mask must have B*T entries");
  if (!(temperature >= 0.025)) throw new Error(`contrastiveLoss: temperature ${temperature} is below 0.025 (float32 underflow)`);
  const shift = 1 / temperature;
  const c = unitRows(context);
  const q = unitRows(targets);
  const cs = B === 1 ? [tf.reshape(c, [T, P])] : tf.unstack(c);
  const qs = B === 1 ? [tf.reshape(q, [T, P])] : tf.unstack(q);
  const losses: tf.Tensor[] = [];
  const corrects: tf.Tensor[] = [];
  for (let b = 0; b < B; b++) {
    const m = mask.subarray(b * T, (b + 1) * T);
    if (!m.some((v) => v !== 0)) continue;
    const S = tf.div(fastMatMul(cs[b], tf.transpose(qs[b])), temperature); // [T, T]
    const pos = tf.div(tf.sum(tf.mul(cs[b], qs[b]), 1), temperature); // [T] = diag(S)
    const W = tf.tensor2d(weights[b], [T, T]);
    const mt = tf.tensor1d(m);
    // Unmasked rows have W = 0: add 1 inside the log so their (masked-out) term stays finite.
    const sumExp = tf.sum(tf.mul(W, tf.exp(tf.sub(S, shift))), 1);
    const lse = tf.add(tf.log(tf.add(sumExp, tf.sub(1, mt))), shift);
    losses.push(tf.sum(tf.mul(mt, tf.sub(lse, pos))));
    // Accuracy: positive above every negative still in play.
    const negPresent = new Float32Array(T * T);
    const wb = weights[b];
    for (let i = 0; i < T * T; i++) negPresent[i] = wb[i] > 0 && i % (T + 1) !== 0 ? 0 : -1e9;
    const maxNeg = tf.max(tf.add(S, tf.tensor2d(negPresent, [T, T])), 1);
    corrects.push(tf.sum(tf.mul(mt, tf.cast(tf.greater(pos, maxNeg), "float32"))));
  }
  if (losses.length === 0) return { loss: tf.scalar(0), correct: tf.scalar(0) };
  return { loss: tf.addN(losses) as tf.Scalar, correct: tf.addN(corrects) as tf.Scalar };
}

/** (G*V - perplexity) / (G*V): 0 when every codebook entry is used equally. */
export function diversityLoss(perplexity: tf.Scalar, numCodevectors: number): tf.Scalar {
  return tf.div(tf.sub(numCodevectors, perplexity), numCodevectors) as tf.Scalar;
}

/** fairseq's features_pen: mean of the squared feature-encoder outputs. */
export function featurePenalty(features: tf.Tensor): tf.Scalar {
  return tf.mean(tf.square(features)) as tf.Scalar;
}

export interface LossWeights {
  /** HF diversity_loss_weight / fairseq loss_weights[0] (0.1). */
  diversity: number;
  /** fairseq loss_weights[1] (10); HF has no feature penalty (0). */
  featurePenalty: number;
}

/**
 * The per-masked-frame objective: contrastiveSum / M + w_div * diversity + w_pen * penalty.
 * HF returns contrastiveSum + w_div * diversity * M (and fairseq adds w_pen * penalty * M), then
 * fairseq divides the gradient by M (sample_size): this is that normalised loss.
 */
export function combineLosses(contrastiveSum: tf.Scalar, diversity: tf.Scalar, penalty: tf.Scalar, numMasked: number, w: LossWeights): tf.Scalar {
  const parts: tf.Tensor[] = [tf.div(contrastiveSum, Math.max(1, numMasked))];
  if (w.diversity !== 0) parts.push(tf.mul(diversity, w.diversity));
  if (w.featurePenalty !== 0) parts.push(tf.mul(penalty, w.featurePenalty));
  return tf.addN(parts) as tf.Scalar;
}
