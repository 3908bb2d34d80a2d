import * as tf from "@tensorflow/tfjs";
import { Linear, maskedMean, type ParameterSet } from "../src/nn.js";

/** SUPERB's IC/SID head: Linear(D -> hidden) per frame, mean pooling over valid frames, Linear -> classes. */
export class MeanPoolLinearHead {
  private readonly proj: Linear;
  private readonly out: Linear;
  constructor(params: ParameterSet, inputDim: number, numClasses: number, hidden = 256) {
    this.proj = new Linear(params, "head.proj", inputDim, hidden);
    this.out = new Linear(params, "head.out", hidden, numClasses);
  }
  /** [B, T, D] -> logits [B, classes] */
  forward(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor2D {
    const pooled = maskedMean(this.proj.apply(x) as tf.Tensor3D, lengths);
    return this.out.apply(pooled) as tf.Tensor2D;
  }
}
