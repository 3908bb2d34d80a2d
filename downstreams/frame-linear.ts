import * as tf from "@tensorflow/tfjs";
import { Linear, type ParameterSet } from "../src/nn.js";

/** SUPERB's PR head: Linear(D -> hidden) -> Linear(hidden -> classes), per frame (CTC on top). */
export class FrameLinearHead {
  private readonly proj: Linear;
  private readonly out: Linear;
  constructor(params: ParameterSet, inputDim: number, numClasses: number, hidden = 256) {
    this.proj = new Linear(params, "head.proj", inputDim, hidden);
    this.out = new Linear(params, "head.out", hidden, numClasses);
  }
  /** [B, T, D] -> logits [B, T, classes] */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    return this.out.apply(this.proj.apply(x)) as tf.Tensor3D;
  }
}
