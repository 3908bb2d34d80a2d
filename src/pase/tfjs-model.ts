/**
 * PASE+ encoder forward pass in TensorFlow.js over the state_dict-named parameter map
 * (params.ts), for training; onnx-export.ts builds the same model for inference, and a test
 * keeps the two equal. Activations are channels-last [batch, time, channels]; weights stay in
 * the PyTorch layout. The conv blocks and products reuse the wav2vec 2.0 model's wasm-friendly
 * custom-gradient ops (conv1dChannelsLast, linear); the SincNet layer has its own (sincConv).
 *
 * Deliberate differences from pase: zero padding instead of reflection (valid for any input
 * length, and ONNX-exportable without shape arithmetic); dense skips are pooled with fixed factors
 * (the product of the later strides, last window partial) instead of `skip_len // out_len`, which
 * in pase varies with the input length.
 */
import * as tf from "@tensorflow/tfjs";
import { conv1dChannelsLast, linear } from "../wav2vec2/tfjs-model.js";
import { blockFrames, blockPadding, type PaseConfig } from "./config.js";

export type TfParams = ReadonlyMap<string, tf.Tensor>;

/** Longest input the QRNN's doubling scan covers in the ONNX graph (2^17 frames = 21.8 min). */
export const MAX_QRNN_STEPS = 17;

function param(p: TfParams, name: string): tf.Tensor {
  const t = p.get(name);
  if (t === undefined) throw new Error(`internal: PASE+ parameter ${name} missing`);
  return t;
}

/**
 * SincConv_fast's filters [C, 1, K] from the learnable band edges (Ravanelli & Bengio 2018):
 * band-pass = difference of two windowed sincs, normalised by 2 x bandwidth.
 */
export function sincFilters(lowHz: tf.Tensor, bandHz: tf.Tensor, c: PaseConfig): tf.Tensor3D {
  const K = c.kwidths[0];
  const half = Math.floor(K / 2);
  const { n, window } = sincGrid(K, c.sample_rate);
  return tf.tidy(() => {
    const low = tf.add(tf.abs(lowHz), c.sinc_min_low_hz); // [C, 1]
    const high = tf.clipByValue(tf.add(tf.add(low, c.sinc_min_band_hz), tf.abs(bandHz)), c.sinc_min_low_hz, c.sample_rate / 2);
    const band = tf.sub(high, low); // [C, 1]
    const nT = tf.tensor2d(n, [1, half]);
    const left = tf.mul(tf.div(tf.sub(tf.sin(tf.mul(high, nT)), tf.sin(tf.mul(low, nT))), tf.div(nT, 2)), tf.tensor2d(window, [1, half]));
    const filters = tf.concat([left, tf.mul(band, 2), tf.reverse(left, 1)], 1);
    return tf.reshape(tf.div(filters, tf.mul(band, 2)), [-1, 1, K]) as tf.Tensor3D;
  });
}

/** SincConv_fast's fixed grids: n = 2 pi (-half .. -1) / sr and the half Hamming window. */
export function sincGrid(K: number, sampleRate: number): { n: Float32Array; window: Float32Array } {
  const half = Math.floor(K / 2);
  const n = Float32Array.from({ length: half }, (_, i) => (2 * Math.PI * (i - (K - 1) / 2)) / sampleRate);
  // torch.linspace(0, K/2 - 1, steps=half)
  const window = Float32Array.from({ length: half }, (_, i) => {
    const lin = half === 1 ? 0 : (i * (K / 2 - 1)) / (half - 1);
    return 0.54 - 0.46 * Math.cos((2 * Math.PI * lin) / K);
  });
  return { n, window };
}

/**
 * The SincNet layer's convolution of audio [B, S, 1] with filters [C, 1, K] (stride 1, zero
 * padding) -> [B, S', C]. The forward pass is the backend's own Conv2D; the filter gradient is
 * another Conv2D, the correlation of the padded audio with dy (batch as channels, dy as the
 * kernel), because tfjs-wasm has no Conv2DBackpropFilter and the im2col form of a 251-tap,
 * one-channel filter ran 20-70x slower (bench: 2.8 s -> 0.16 s forward, 8.6 s -> 0.12 s filter
 * gradient for 8 x 1 s at 32 filters). No gradient reaches the audio, which is an input.
 */
export function sincConv(audio: tf.Tensor3D, filters: tf.Tensor3D, padLeft: number, padRight: number): tf.Tensor3D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor3D;
    const w = args[1] as tf.Tensor3D;
    const xp = tf.pad(x, [[0, 0], [padLeft, padRight], [0, 0]]) as tf.Tensor3D;
    (args[2] as tf.GradSaveFunc)([xp]);
    return {
      value: tf.conv1d(xp, tf.transpose(w, [2, 1, 0]) as tf.Tensor3D, 1, "valid"),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const C = (dy as tf.Tensor3D).shape[2];
        const K = w.shape[2];
        const dw = tf.tidy(() => {
          // dW[k, c] = sum_b sum_t xp[b, t + k] dy[b, t, c]: a valid conv of [1, T+K-1, B] with [T, B, C].
          const corr = tf.conv1d(tf.transpose(saved[0], [2, 1, 0]) as tf.Tensor3D, tf.transpose(dy, [1, 0, 2]) as tf.Tensor3D, 1, "valid");
          return tf.reshape(tf.transpose(tf.reshape(corr, [K, C])), [C, 1, K]);
        });
        return [tf.zerosLike(x), dw];
      },
    };
  }) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor3D;
  return op(audio, filters);
}

/** BatchNorm statistics of one block in a training step (for the running-average update). */
export interface BatchStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  count: number;
}

export interface PaseForwardOptions {
  /** Batch statistics (training) instead of the running ones (inference). */
  training?: boolean;
  /** Filled with each block's batch statistics when training. */
  stats?: BatchStats[];
}

function batchNorm(x: tf.Tensor3D, p: TfParams, prefix: string, c: PaseConfig, opts: PaseForwardOptions): tf.Tensor3D {
  const w = param(p, `${prefix}.weight`);
  const b = param(p, `${prefix}.bias`);
  let mean: tf.Tensor;
  let variance: tf.Tensor;
  if (opts.training) {
    ({ mean, variance } = tf.moments(x, [0, 1]));
    // Copies kept past the step's tidy; they never enter the loss, so no gradient flows through them.
    opts.stats?.push({ mean: tf.keep(tf.clone(mean)) as tf.Tensor1D, variance: tf.keep(tf.clone(variance)) as tf.Tensor1D, count: x.shape[0] * x.shape[1] });
  } else {
    mean = param(p, `${prefix}.running_mean`);
    variance = param(p, `${prefix}.running_var`);
  }
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, c.batch_norm_eps))), w), b) as tf.Tensor3D;
}

/** PReLU with one slope per channel: max(0, x) + a min(0, x). */
function prelu(x: tf.Tensor3D, a: tf.Tensor): tf.Tensor3D {
  return tf.sub(tf.relu(x), tf.mul(a, tf.relu(tf.neg(x)))) as tf.Tensor3D;
}

/** A 1x1 convolution (weight [out, in, 1]) over channels-last frames. */
function pointwise(x: tf.Tensor3D, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor3D {
  return linear(x, tf.reshape(weight, [weight.shape[0], weight.shape[1] as number]), bias) as tf.Tensor3D;
}

/**
 * Mean over consecutive windows of `factor` frames, `frames` windows, the last one partial
 * (averaged over the frames it has): ONNX AveragePool with ceil_mode = 1.
 */
export function poolFrames(x: tf.Tensor3D, factor: number, frames: number): tf.Tensor3D {
  if (factor === 1) return x;
  const [B, T, C] = x.shape;
  const padded = tf.pad(x, [[0, 0], [0, frames * factor - T], [0, 0]]);
  const sums = tf.sum(tf.reshape(padded, [B, frames, factor, C]), 2);
  const counts = Float32Array.from({ length: frames }, (_, f) => Math.min(factor, T - f * factor));
  return tf.div(sums, tf.tensor3d(counts, [1, frames, 1])) as tf.Tensor3D;
}

/** x shifted `k` frames later along time, the first k frames filled with `fill`. */
function delay(x: tf.Tensor3D, k: number, fill: number): tf.Tensor3D {
  const [B, T, C] = x.shape;
  if (k >= T) return tf.fill([B, T, C], fill) as tf.Tensor3D;
  return tf.concat([tf.fill([B, k, C], fill), tf.slice(x, [0, 0, 0], [B, T - k, C])], 1) as tf.Tensor3D;
}

/**
 * c_t = a_t c_{t-1} + b_t with c_{-1} = 0, by the doubling (Hillis-Steele) scan: log2 T steps of
 * whole-sequence ops instead of T sequential ones. The ONNX graph runs the same steps.
 */
export function linearRecurrence(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const T = a.shape[1];
  let A = a;
  let Bv = b;
  for (let k = 1; k < T; k *= 2) {
    const nextB = tf.add(tf.mul(A, delay(Bv, k, 0)), Bv) as tf.Tensor3D;
    A = tf.mul(A, delay(A, k, 1)) as tf.Tensor3D;
    Bv = nextB;
  }
  return Bv;
}

/**
 * torchqrnn's QRNN layer, window 2: [Z, F, O] = Linear([x_t, x_{t-1}]); c_t = f_t z_t + (1 - f_t)
 * c_{t-1}; h_t = sigmoid(o_t) c_t, with z = tanh, f = sigmoid.
 */
export function qrnn(x: tf.Tensor3D, p: TfParams, hidden: number): tf.Tensor3D {
  const source = tf.concat([x, delay(x, 1, 0)], 2);
  const y = linear(source, param(p, "rnn.layers.0.linear.weight"), param(p, "rnn.layers.0.linear.bias")) as tf.Tensor3D;
  const [z, f, o] = tf.split(y, [hidden, hidden, hidden], 2) as tf.Tensor3D[];
  const fs = tf.sigmoid(f);
  const cell = linearRecurrence(tf.sub(1, fs) as tf.Tensor3D, tf.mul(fs, tf.tanh(z)) as tf.Tensor3D);
  return tf.mul(tf.sigmoid(o), cell) as tf.Tensor3D;
}

/**
 * Every hidden state for raw audio [B, samples]: the pooled dense skips of blocks 0 .. N-2, the
 * QRNN path W(qrnn(block N-1)), and the encoder output (their sum); each [B, frames, emb_dim].
 */
export function paseHiddenStates(p: TfParams, c: PaseConfig, audio: tf.Tensor2D, opts: PaseForwardOptions = {}): tf.Tensor3D[] {
  const [B, S] = audio.shape;
  const N = c.kwidths.length;
  const frames = blockFrames(c, S, N - 1);
  let h = tf.reshape(audio, [B, S, 1]) as tf.Tensor3D;
  const skips: tf.Tensor3D[] = [];
  for (let n = 0; n < N; n++) {
    const pre = `blocks.${n}`;
    const [padL, padR] = blockPadding(c.kwidths[n]);
    const weight = n === 0 ? sincFilters(param(p, `${pre}.conv.low_hz_`), param(p, `${pre}.conv.band_hz_`), c) : param(p, `${pre}.conv.weight`);
    const bias = n === 0 ? null : param(p, `${pre}.conv.bias`);
    h = n === 0 && c.strides[0] === 1 ? sincConv(h, weight as tf.Tensor3D, padL, padR) : conv1dChannelsLast(h, weight, bias, c.strides[n], 1, padL, padR);
    h = prelu(batchNorm(h, p, `${pre}.norm`, c, opts), param(p, `${pre}.act.weight`));
    if (c.denseskips && n < N - 1) {
      const factor = c.strides.slice(n + 1).reduce((a, s) => a * s, 1);
      // Pool, then project (the bias-free projection commutes with the window mean): at block 0
      // this projects 100 frames instead of 16,000 per second.
      skips.push(pointwise(poolFrames(h, factor, frames), param(p, `denseskips.${n}.weight`), null));
    }
  }
  const top = pointwise(c.rnn_pool ? qrnn(h, p, c.emb_dim) : h, param(p, "W.weight"), param(p, "W.bias"));
  if (!c.denseskips) return [top];
  const output = skips.reduce((acc, s) => tf.add(acc, s) as tf.Tensor3D, top);
  return [...skips, top, output];
}
