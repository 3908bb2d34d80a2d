import * as tf from "@tensorflow/tfjs";

/**
 * Small building blocks for the downstream heads, written with plain tfjs ops (not tf.layers) so
 * that every parameter has a stable name for checkpoints and every op has a gradient on the wasm
 * backend (which lacks Conv2DBackpropFilter: convolutions here are slice + concat + matMul).
 */
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
    const y = tf.add(tf.matMul(flat, this.weight), this.bias);
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

/** A mask [B, T, 1] with 1 on valid frames. */
export function frameMask(lengths: readonly number[], T: number): tf.Tensor3D {
  const data = new Float32Array(lengths.length * T);
  lengths.forEach((len, b) => data.fill(1, b * T, b * T + Math.min(len, T)));
  return tf.tensor3d(data, [lengths.length, T, 1]);
}

/** Mean over valid frames: [B, T, D] -> [B, D]. */
export function maskedMean(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => {
    const mask = frameMask(lengths, x.shape[1]);
    const counts = tf.tensor2d(lengths.map((l) => Math.max(1, Math.min(l, x.shape[1]))), [lengths.length, 1]);
    return tf.div(tf.sum(tf.mul(x, mask), 1), counts) as tf.Tensor2D;
  });
}

/** x-vector statistics pooling: concat(mean, std) over valid frames: [B, T, D] -> [B, 2D]. */
export function maskedMeanStd(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => {
    const mask = frameMask(lengths, x.shape[1]);
    const counts = tf.tensor2d(lengths.map((l) => Math.max(1, Math.min(l, x.shape[1]))), [lengths.length, 1]);
    const mean = tf.div(tf.sum(tf.mul(x, mask), 1), counts);
    const centred = tf.mul(tf.sub(x, mean.expandDims(1)), mask);
    const variance = tf.div(tf.sum(tf.square(centred), 1), counts);
    return tf.concat([mean, tf.sqrt(tf.add(variance, 1e-5))], 1) as tf.Tensor2D;
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

/** Row indices that reverse each sequence within its own length (padding stays in place). */
function reversalIndices(lengths: readonly number[], T: number): tf.Tensor1D {
  const idx = new Int32Array(lengths.length * T);
  lengths.forEach((len, b) => {
    for (let t = 0; t < T; t++) idx[b * T + t] = b * T + (t < len ? len - 1 - t : t);
  });
  return tf.tensor1d(idx, "int32");
}

/**
 * One bidirectional LSTM layer. Both directions advance in the same batched matMul per step
 * (weights stacked as [2, H, 4H]), which halves the per-step op count: on the wasm backend the
 * per-op overhead, not the arithmetic, dominates a small LSTM. Gate order i, f, g, o as PyTorch.
 */
export class BiLstm {
  private readonly inputWeights: tf.Variable[];
  private readonly recurrentWeight: tf.Variable;
  private readonly bias: tf.Variable;
  constructor(params: ParameterSet, name: string, readonly inDim: number, readonly hidden: number) {
    this.inputWeights = [0, 1].map((d) => params.uniform(`${name}.weight_ih_l0${d ? "_reverse" : ""}`, [inDim, 4 * hidden], hidden));
    this.recurrentWeight = params.uniform(`${name}.weight_hh`, [2, hidden, 4 * hidden], hidden);
    this.bias = params.uniform(`${name}.bias`, [2, 1, 4 * hidden], hidden);
  }

  /** x: [B, T, inDim] -> [B, T, 2*hidden]; frames past each length are left unspecified. */
  apply(x: tf.Tensor3D, lengths: readonly number[]): tf.Tensor3D {
    const [B, T] = x.shape;
    const H = this.hidden;
    const rev = reversalIndices(lengths, T);
    const flat = x.reshape([B * T, this.inDim]);
    const reversed = tf.gather(flat, rev);
    const projF = tf.matMul(flat, this.inputWeights[0]).reshape([B, T, 4 * H]);
    const projB = tf.matMul(reversed, this.inputWeights[1]).reshape([B, T, 4 * H]);
    // [T, 2, B, 4H], one slice per step
    const steps = tf.unstack(tf.transpose(tf.stack([projF, projB]), [2, 0, 1, 3]));
    let h: tf.Tensor = tf.zeros([2, B, H]);
    let c: tf.Tensor = tf.zeros([2, B, H]);
    const outputs: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const gates = tf.add(tf.add(steps[t], tf.matMul(h, this.recurrentWeight)), this.bias);
      const [i, f, g, o] = tf.split(gates, 4, 2);
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      outputs.push(h);
    }
    const all = tf.stack(outputs, 2) as tf.Tensor4D; // [2, B, T, H]
    const [fwd, bwdReversed] = tf.unstack(all);
    const bwd = tf.gather(bwdReversed.reshape([B * T, H]), rev).reshape([B, T, H]);
    rev.dispose();
    return tf.concat([fwd, bwd], 2) as tf.Tensor3D;
  }
}
