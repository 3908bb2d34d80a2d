import * as tf from "@tensorflow/tfjs";
import { lstmRecurrence } from "./lstm.js";

/**
 * Small building blocks for the downstream heads, written with plain tfjs ops (not tf.layers) so
 * that every parameter has a stable name for checkpoints and every op has a gradient on the wasm
 * backend (which lacks Conv2DBackpropFilter: convolutions here are slice + concat + matMul).
 */
/**
 * matMul whose gradient uses explicit transposes. The wasm backend's matMul with transposeA or
 * transposeB set (what tfjs's own matMul gradient uses) is 4-8x slower than transposing first
 * (measured: [4000,80]^T x [4000,256] 85 ms vs 6 ms), and those gradients dominate training.
 */
export const fastMatMul = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor;
  const b = args[1] as tf.Tensor;
  const save = args[2] as tf.GradSaveFunc;
  save([a, b]);
  const perm = a.rank === 3 ? [0, 2, 1] : [1, 0];
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1], perm) as tf.Tensor2D),
      tf.matMul(tf.transpose(saved[0], perm) as tf.Tensor2D, dy as tf.Tensor2D),
    ],
  };
}) as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

export class ParameterSet {
  readonly variables = new Map<string, tf.Variable>();
  private counter = 0;

  constructor(private readonly seed: number) {}

  private nextSeed(): number {
    this.counter += 1;
    return (this.seed * 1000003 + this.counter * 7919) % 2147483647;
  }

  /** PyTorch's default Linear/Conv init: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
  uniform(name: string, shape: number[], fanIn: number): tf.Variable {
    const bound = 1 / Math.sqrt(fanIn);
    return this.add(name, tf.randomUniform(shape, -bound, bound, "float32", this.nextSeed()));
  }

  constant(name: string, shape: number[], value: number): tf.Variable {
    return this.add(name, tf.fill(shape, value));
  }

  private add(name: string, init: tf.Tensor): tf.Variable {
    if (this.variables.has(name)) throw new Error(`duplicate parameter ${name}`);
    const v = tf.variable(init, true);
    init.dispose();
    this.variables.set(name, v);
    return v;
  }

  list(): tf.Variable[] {
    return [...this.variables.values()];
  }
}

export class Linear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(params: ParameterSet, name: string, readonly inDim: number, readonly outDim: number) {
    this.weight = params.uniform(`${name}.weight`, [inDim, outDim], inDim);
    this.bias = params.uniform(`${name}.bias`, [outDim], inDim);
  }
  /** x: [..., inDim] -> [..., outDim] */
  apply(x: tf.Tensor): tf.Tensor {
    const shape = x.shape;
    const flat = x.reshape([-1, this.inDim]);
    const y = tf.add(fastMatMul(flat, this.weight), this.bias);
    return y.reshape([...shape.slice(0, -1), this.outDim]);
  }
}

/**
 * Time-delay layer (a dilated 1-D convolution without padding, as in the x-vector TDNN):
 * [B, T, C] -> [B, T - (context-1)*dilation, outDim].
 */
export class Tdnn {
  private readonly linear: Linear;
  constructor(params: ParameterSet, name: string, readonly inDim: number, outDim: number, readonly context: number, readonly dilation: number) {
    this.linear = new Linear(params, name, inDim * context, outDim);
  }
  get shrink(): number {
    return (this.context - 1) * this.dilation;
  }
  apply(x: tf.Tensor3D): tf.Tensor3D {
    const [B, T, C] = x.shape;
    const outT = T - this.shrink;
    if (outT <= 0) throw new Error(`TDNN input of ${T} frames is shorter than its context`);
    const taps: tf.Tensor3D[] = [];
    for (let k = 0; k < this.context; k++) taps.push(x.slice([0, k * this.dilation, 0], [B, outT, C]));
    const stacked = this.context === 1 ? taps[0] : tf.concat(taps, 2);
    return this.linear.apply(stacked) as tf.Tensor3D;
  }
}

/** Per-utterance averaging weights [B, 1, T]: 1/length on valid frames, 0 on padding. */
function meanWeights(lengths: readonly number[], T: number): tf.Tensor3D {
  const data = new Float32Array(lengths.length * T);
  lengths.forEach((len, b) => {
    const n = Math.max(1, Math.min(len, T));
    data.fill(1 / n, b * T, b * T + Math.min(len, T));
  });
  return tf.tensor3d(data, [lengths.length, 1, T]);
}

/**
 * Mean over valid frames: [B, T, D] -> [B, D]. A batched matmul with the averaging weights: on
 * the wasm backend a sum over the middle axis costs a transpose of the whole batch, and its
 * gradient a full tensor of ones.
 */
export function maskedMean(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(meanWeights(lengths, x.shape[1]), x).squeeze([1]) as tf.Tensor2D);
}

/** x-vector statistics pooling: concat(mean, std) over valid frames: [B, T, D] -> [B, 2D]. */
export function maskedMeanStd(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => {
    // Padding frames have weight 0, so they drop out of both moments without a mask.
    const weights = meanWeights(lengths, x.shape[1]);
    const mean = tf.matMul(weights, x);
    const variance = tf.matMul(weights, tf.square(tf.sub(x, mean)));
    return tf.concat([mean.squeeze([1]), tf.sqrt(tf.add(variance.squeeze([1]), 1e-5))], 1) as tf.Tensor2D;
  });
}

/**
 * Stacks k consecutive frames into one ([B, T, D] -> [B, ceil(T/k), k*D]): lowers the frame rate
 * for recurrent and TDNN heads, whose cost grows with frames, without discarding information.
 */
export function stackFrames(x: tf.Tensor3D, k: number): tf.Tensor3D {
  if (k <= 1) return x;
  const [B, T, D] = x.shape;
  const padded = Math.ceil(T / k) * k;
  const y = padded === T ? x : tf.pad(x, [[0, 0], [0, padded - T], [0, 0]]);
  return y.reshape([B, padded / k, k * D]);
}

export function stackedLengths(lengths: readonly number[], k: number): number[] {
  return lengths.map((l) => Math.ceil(l / Math.max(1, k)));
}

/**
 * Reverses each sequence within its own length, padding left in place: [B, T, D] -> [B, T, D].
 * Built from slice/reverse/concat because tf.gather's gradient (UnsortedSegmentSum) is missing
 * on the wasm backend. Applying it twice is the identity.
 */
export function reverseWithinLengths(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
  const [B, T, D] = x.shape;
  const rows = lengths.map((len, b) => {
    const row = x.slice([b, 0, 0], [1, T, D]);
    const n = Math.max(0, Math.min(len, T));
    if (n === 0) return row;
    const valid = tf.reverse(row.slice([0, 0, 0], [1, n, D]), 1);
    return n === T ? valid : tf.concat([valid, row.slice([0, n, 0], [1, T - n, D])], 1);
  });
  return (B === 1 ? rows[0] : tf.concat(rows, 0)) as tf.Tensor3D;
}

/**
 * One bidirectional LSTM layer, gate order i, f, g, o as PyTorch. The input projections of all
 * steps are one matMul per direction; the loop then does only the recurrent part. (A batched
 * [2, B, H] x [2, H, 4H] matMul for both directions was tried: 30x slower than two 2-D ones on wasm.)
 */
export class BiLstm {
  private readonly inputWeights: tf.Variable[];
  private readonly recurrentWeights: tf.Variable[];
  private readonly biases: tf.Variable[];
  constructor(params: ParameterSet, name: string, readonly inDim: number, readonly hidden: number) {
    const suffix = ["", "_reverse"];
    this.inputWeights = suffix.map((s) => params.uniform(`${name}.weight_ih_l0${s}`, [inDim, 4 * hidden], hidden));
    this.recurrentWeights = suffix.map((s) => params.uniform(`${name}.weight_hh_l0${s}`, [hidden, 4 * hidden], hidden));
    this.biases = suffix.map((s) => params.uniform(`${name}.bias_l0${s}`, [4 * hidden], hidden));
  }

  private direction(x: tf.Tensor3D, d: number): tf.Tensor3D {
    const [B, T] = x.shape;
    const H = this.hidden;
    const proj = tf.add(fastMatMul(x.reshape([B * T, this.inDim]), this.inputWeights[d]), this.biases[d]).reshape([B, T, 4 * H]);
    const hs = lstmRecurrence(tf.transpose(proj, [1, 0, 2]) as tf.Tensor3D, this.recurrentWeights[d] as tf.Tensor2D);
    return tf.transpose(hs, [1, 0, 2]) as tf.Tensor3D; // [B, T, H]
  }

  /** The same recurrence op by op (reference for tests; the tape differentiates it). */
  directionReference(x: tf.Tensor3D, d: number): tf.Tensor3D {
    const [B, T] = x.shape;
    const H = this.hidden;
    const proj = tf.add(tf.matMul(x.reshape([B * T, this.inDim]), this.inputWeights[d]), this.biases[d]).reshape([B, T, 4 * H]);
    const steps = tf.unstack(tf.transpose(proj, [1, 0, 2])); // T x [B, 4H]
    let h: tf.Tensor = tf.zeros([B, H]);
    let c: tf.Tensor = tf.zeros([B, H]);
    const outputs: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const gates = tf.add(steps[t], tf.matMul(h, this.recurrentWeights[d]));
      const [i, f, g, o] = tf.split(gates, 4, 1);
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      outputs.push(h);
    }
    return tf.stack(outputs, 1) as tf.Tensor3D;
  }

  /** x: [B, T, inDim] -> [B, T, 2*hidden]; frames past each length are left unspecified. */
  apply(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const fwd = this.direction(x, 0);
    // The backward direction reads each sequence from its own last valid frame, not from padding.
    const bwd = reverseWithinLengths(this.direction(reverseWithinLengths(x, lengths), 1), lengths);
    return tf.concat([fwd, bwd], 2) as tf.Tensor3D;
  }
}
