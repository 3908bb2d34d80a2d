import * as tf from "@tensorflow/tfjs";
import { ctcLossAndGradient } from "./ctc.js";

/**
 * CTC loss as a tfjs op. tfjs has no CTC kernel, so the forward-backward recursion runs in plain
 * JS (src/ctc.ts) and its closed-form gradient is handed back through tf.customGrad.
 * Reduction as PyTorch's default ('mean'): each utterance's loss divided by its label length,
 * averaged over the batch; infeasible utterances count zero (zero_infinity=True).
 */
export function ctcLoss(logits: tf.Tensor3D, lengths: readonly number[], labels: readonly (readonly number[])[], blank = 0): tf.Scalar {
  const op = tf.customGrad<tf.Scalar>((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const [B, T, V] = x.shape as [number, number, number];
    const data = x.dataSync() as Float32Array;
    const grad = new Float32Array(B * T * V);
    let total = 0;
    for (let b = 0; b < B; b++) {
      const len = Math.min(lengths[b], T);
      const scale = 1 / (B * Math.max(1, labels[b].length));
      const r = ctcLossAndGradient(data.subarray(b * T * V, (b * T + len) * V), len, V, labels[b], blank);
      if (!r.feasible) continue;
      total += r.loss * scale;
      const offset = b * T * V;
      for (let i = 0; i < len * V; i++) grad[offset + i] = r.gradient[i] * scale;
    }
    const gradTensor = tf.tensor3d(grad, [B, T, V]);
    save([gradTensor]);
    return {
      value: tf.scalar(total),
      gradFunc: (dy: tf.Scalar, saved: tf.Tensor[]) => [tf.mul(dy, saved[0])],
    };
  });
  return op(logits) as tf.Scalar;
}

/** Mean softmax cross-entropy of logits [B, C] against integer class ids. */
export function crossEntropy(logits: tf.Tensor2D, classes: readonly number[]): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(classes as number[], "int32"), logits.shape[1]);
    return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
  });
}

/**
 * Additive-margin softmax (Wang et al. 2018), as SUPERB's ASV head: logits = s * (cos - m * onehot)
 * between L2-normalised embeddings and class weights.
 */
export function amSoftmaxLoss(embeddings: tf.Tensor2D, classWeights: tf.Tensor2D, classes: readonly number[], scale = 30, margin = 0.4): tf.Scalar {
  return tf.tidy(() => {
    const e = tf.div(embeddings, tf.add(tf.norm(embeddings, 2, 1, true), 1e-8));
    const w = tf.div(classWeights, tf.add(tf.norm(classWeights, 2, 0, true), 1e-8));
    const cos = tf.matMul(e, w);
    const onehot = tf.oneHot(tf.tensor1d(classes as number[], "int32"), classWeights.shape[1]);
    const logits = tf.mul(scale, tf.sub(cos, tf.mul(margin, onehot)));
    return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
  });
}
