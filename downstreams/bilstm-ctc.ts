import * as tf from "@tensorflow/tfjs";
import { BiLstm, Linear, stackFrames, stackedLengths, type ParameterSet } from "../src/nn.js";

export interface BiLstmHeadOptions {
  projectionDim: number;
  hidden: number;
  layers: number;
  /** Frames stacked into one before the LSTM (lowers the frame rate). */
  stack: number;
}

/**
 * SUPERB's ASR head, scaled to the corpus: Linear(D -> P) -> BiLSTM x layers -> Linear -> classes,
 * per (stacked) frame, CTC on top. SUPERB uses P = 1024 and 2 x 1024 per direction on 960 h;
 * a one-hour corpus and a one-thread backend call for far smaller.
 */
export class BiLstmHead {
  private readonly proj: Linear;
  private readonly lstms: BiLstm[] = [];
  private readonly out: Linear;
  constructor(params: ParameterSet, inputDim: number, numClasses: number, readonly options: BiLstmHeadOptions) {
    this.proj = new Linear(params, "head.proj", inputDim * options.stack, options.projectionDim);
    let dim = options.projectionDim;
    for (let i = 0; i < options.layers; i++) {
      this.lstms.push(new BiLstm(params, `head.lstm${i}`, dim, options.hidden));
      dim = 2 * options.hidden;
    }
    this.out = new Linear(params, "head.out", dim, numClasses);
  }
  /** [B, T, D] -> { logits [B, T', classes], lengths' } */
  forward(x: tf.Tensor3D, lengths: readonly number[]): { logits: tf.Tensor3D; lengths: number[] } {
    const stacked = stackFrames(x, this.options.stack);
    const outLengths = stackedLengths(lengths, this.options.stack);
    let h = this.proj.apply(stacked) as tf.Tensor3D;
    for (const lstm of this.lstms) h = lstm.apply(h, outLengths);
    return { logits: this.out.apply(h) as tf.Tensor3D, lengths: outLengths };
  }
}
