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
  /**
   * [B, T, D] -> logits [B, classes]. Pools before projecting: an affine map commutes with a
   * mean, so this equals projecting every frame and then pooling, at 1/T of the cost.
   */
  forward(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor2D {
    return tf.tidy(() => this.out.apply(this.proj.apply(maskedMean(x, lengths))) as tf.Tensor2D);
  }
}
