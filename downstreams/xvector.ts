import * as tf from "@tensorflow/tfjs";
import { Linear, Tdnn, maskedMeanStd, stackFrames, stackedLengths, type ParameterSet } from "../src/nn.js";

export interface XVectorOptions {
  /** Input projection, SUPERB: 512. */
  projectionDim: number;
  /** TDNN channels of layers 1-4, x-vector: 512. */
  channels: number;
  /** Channels of the last frame layer before pooling, x-vector: 1500. */
  poolChannels: number;
  embeddingDim: number;
  stack: number;
}

/**
 * SUPERB's ASV head: Linear(D -> P), x-vector TDNN (contexts 5/3/3/1/1, dilations 1/2/3/1/1),
 * statistics pooling (mean, std), Linear -> embedding. AM-softmax is the task's loss.
 */
export class XVectorHead {
  private readonly proj: Linear;
  private readonly tdnn: Tdnn[];
  private readonly segment: Linear;
  constructor(params: ParameterSet, inputDim: number, readonly options: XVectorOptions) {
    const { projectionDim: P, channels: C, poolChannels: S } = options;
    this.proj = new Linear(params, "head.proj", inputDim * options.stack, P);
    this.tdnn = [
      new Tdnn(params, "head.tdnn1", P, C, 5, 1),
      new Tdnn(params, "head.tdnn2", C, C, 3, 2),
      new Tdnn(params, "head.tdnn3", C, C, 3, 3),
      new Tdnn(params, "head.tdnn4", C, C, 1, 1),
      new Tdnn(params, "head.tdnn5", C, S, 1, 1),
    ];
    this.segment = new Linear(params, "head.segment6", 2 * S, options.embeddingDim);
  }

  /** Frames lost to the TDNN contexts; shorter inputs are padded up to this. */
  get receptiveField(): number {
    return 1 + this.tdnn.reduce((s, l) => s + l.shrink, 0);
  }

  /** [B, T, D] -> embeddings [B, E] */
  forward(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor2D {
    let h = stackFrames(x, this.options.stack);
    let lens = stackedLengths(lengths, this.options.stack);
    const need = this.receptiveField;
    if (h.shape[1] < need) h = tf.pad(h, [[0, 0], [0, need - h.shape[1]], [0, 0]]);
    h = this.proj.apply(h) as tf.Tensor3D;
    for (const layer of this.tdnn) {
      h = tf.relu(layer.apply(h));
      lens = lens.map((l) => Math.max(1, l - layer.shrink));
    }
    return this.segment.apply(maskedMeanStd(h, lens)) as tf.Tensor2D;
  }
}
