/**
 * wav2vec 2.0 forward pass in TensorFlow.js over the HF-named parameter map (see params.ts),
 * reproducing HF `Wav2Vec2Model(..., output_hidden_states=True).hidden_states` in eval mode
 * (no dropout, no masking, no attention mask: every batch row is full length).
 *
 * Layout: activations are channels-last [batch, time, channels] throughout; weights stay in the
 * PyTorch layout and are rearranged inside the graph, so gradients land on the HF-shaped tensors.
 *
 * Convolutions are written as pad/reshape/slice/concat + batched matMul (im2col) rather than
 * tf.conv1d: the wasm backend has no Conv2DBackpropFilter kernel, while all the ops used here have
 * wasm kernels for both directions. The model takes raw input_values (no processor normalisation).
 */
import * as tf from "@tensorflow/tfjs";
import type { Wav2Vec2Config } from "./config.js";
import { receptiveField } from "./config.js";
import { paramSpecs, type ParamMap, type ParamSpecOptions, type ParamTensor } from "./params.js";

/** Parameters as tensors (usually tf.Variables), keyed by HF name. */
export type TfParams = ReadonlyMap<string, tf.Tensor>;

/** HF hard-codes eps 1e-5 for the feature encoder's GroupNorm / LayerNorm (not layer_norm_eps). */
const CONV_NORM_EPS = 1e-5;

/** im2col chunks are kept below this many floats (64 MB) by splitting the kernel taps. */
const IM2COL_BUDGET = 1 << 24;

/** Makes a tf.Variable per entry (trainable by default). Caller disposes them. */
export function createTfVariables(params: ReadonlyMap<string, ParamTensor>, trainable = true): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, p] of params) {
    out.set(name, tf.variable(tf.tensor(p.data, p.shape, "float32"), trainable));
  }
  return out;
}

/** Reads tensors back into a ParamMap (e.g. to export refined weights to ONNX). */
export async function readTfParams(params: TfParams): Promise<ParamMap> {
  const out: ParamMap = new Map();
  for (const [name, t] of params) {
    const data = await t.data();
    out.set(name, { shape: [...t.shape], data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>) });
  }
  return out;
}

/** Disposes every tensor of the map. */
export function disposeTfParams(params: TfParams): void {
  for (const t of params.values()) t.dispose();
}

/** Throws if a parameter the config needs is missing or has the wrong shape. */
export function checkTfParams(params: TfParams, c: Wav2Vec2Config, opts: ParamSpecOptions = {}): void {
  for (const spec of paramSpecs(c, opts)) {
    const t = params.get(spec.name);
    if (t === undefined) throw new Error(`wav2vec2 tfjs: missing parameter ${spec.name}`);
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`wav2vec2 tfjs: ${spec.name} has shape [${t.shape.join(", ")}], expected [${spec.shape.join(", ")}]`);
    }
  }
}

function getParam(params: TfParams, name: string): tf.Tensor {
  const t = params.get(name);
  if (t === undefined) throw new Error(`wav2vec2 tfjs: missing parameter ${name}`);
  return t;
}

/** Exact (erf) GELU, PyTorch's default `nn.functional.gelu`. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
}

/** LayerNorm over the last axis (biased variance, as PyTorch). */
function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), w), b);
}

/** Linear with a PyTorch-layout weight [out, in]: y = x W^T + b, over the last axis. */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1];
  const outDim = w.shape[0];
  let y: tf.Tensor = tf.matMul(tf.reshape(x, [-1, inDim]), w as tf.Tensor2D, false, true);
  if (b !== null) y = tf.add(y, b);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/**
 * 1-D convolution, channels-last input [B, T, Cin], PyTorch weight [Cout, Cin/groups, K],
 * zero padding (padLeft, padRight). Returns [B, L, Cout], L = floor((T + pads - K) / stride) + 1.
 *
 * Tap j = q*stride + r of output frame l reads input frame stride*(l+q) + r, so after reshaping
 * time into [L+qmax, stride] every tap is a plain (unstrided) slice.
 */
export function conv1dChannelsLast(
  x: tf.Tensor3D,
  weight: tf.Tensor,
  bias: tf.Tensor | null,
  stride: number,
  groups: number,
  padLeft = 0,
  padRight = 0,
): tf.Tensor3D {
  const [B, T0, Cin] = x.shape;
  const [Cout, Cg, K] = weight.shape;
  const G = groups;
  if (Cg * G !== Cin || Cout % G !== 0) {
    throw new Error(`conv1d: weight [${weight.shape.join(", ")}] with ${G} groups does not fit ${Cin} input channels`);
  }
  const Coutg = Cout / G;
  const T = T0 + padLeft + padRight;
  if (T < K) throw new Error(`conv1d: input of ${T0} frames is shorter than the kernel (${K})`);
  const L = Math.floor((T - K) / stride) + 1;
  const qmax = Math.floor((K - 1) / stride);
  const N = stride * (L + qmax);
  // Pad/trim the time axis to exactly N frames; the extra zero frames are never read by a tap < K.
  let xp: tf.Tensor = x;
  const extra = N - T;
  if (padLeft > 0 || padRight > 0 || extra > 0) {
    xp = tf.pad(xp, [[0, 0], [padLeft, padRight + Math.max(0, extra)], [0, 0]]);
  }
  if (extra < 0) xp = tf.slice(xp, [0, 0, 0], [B, N, Cin]);
  // [B, L+qmax, stride*G, Cg] -> [stride*G, B, L+qmax, Cg]: row r*G + g holds phase r of group g.
  const xr = tf.transpose(tf.reshape(xp, [B, L + qmax, stride * G, Cg]), [2, 0, 1, 3]);
  // [Cout, Cg, K] -> [G, K, Cg, Coutg]
  const wr = tf.transpose(tf.reshape(weight, [G, Coutg, Cg, K]), [0, 3, 2, 1]);
  const tapsPerChunk = Math.max(1, Math.min(K, Math.floor(IM2COL_BUDGET / Math.max(1, B * L * Cin))));
  let acc: tf.Tensor | null = null;
  for (let k0 = 0; k0 < K; k0 += tapsPerChunk) {
    const n = Math.min(tapsPerChunk, K - k0);
    const cols: tf.Tensor[] = [];
    for (let j = k0; j < k0 + n; j++) {
      const q = Math.floor(j / stride);
      const r = j % stride;
      cols.push(tf.reshape(tf.slice(xr, [r * G, 0, q, 0], [G, B, L, Cg]), [G, B * L, Cg]));
    }
    const colMat = cols.length === 1 ? cols[0] : tf.concat(cols, 2); // [G, B*L, n*Cg]
    const wChunk = tf.reshape(tf.slice(wr, [0, k0, 0, 0], [G, n, Cg, Coutg]), [G, n * Cg, Coutg]);
    const part = tf.matMul(colMat as tf.Tensor3D, wChunk as tf.Tensor3D); // [G, B*L, Coutg]
    acc = acc === null ? part : tf.add(acc, part);
  }
  if (acc === null) throw new Error("conv1d: empty kernel");
  let y: tf.Tensor = tf.reshape(tf.transpose(tf.reshape(acc, [G, B, L, Coutg]), [1, 2, 0, 3]), [B, L, Cout]);
  if (bias !== null) y = tf.add(y, bias);
  return y as tf.Tensor3D;
}

/** Feature encoder (CNN): raw audio [B, S] -> extract_features [B, frames, conv_dim[-1]]. */
export function extractFeatures(params: TfParams, c: Wav2Vec2Config, audio: tf.Tensor2D): tf.Tensor3D {
  const [B, S] = audio.shape;
  if (S < receptiveField(c)) {
    throw new Error(`wav2vec2: input of ${S} samples is shorter than the receptive field (${receptiveField(c)})`);
  }
  let x: tf.Tensor3D = tf.reshape(audio, [B, S, 1]);
  for (let i = 0; i < c.conv_dim.length; i++) {
    const p = `feature_extractor.conv_layers.${i}`;
    const bias = c.conv_bias ? getParam(params, `${p}.conv.bias`) : null;
    let h: tf.Tensor = conv1dChannelsLast(x, getParam(params, `${p}.conv.weight`), bias, c.conv_stride[i], 1);
    if (c.feat_extract_norm === "layer") {
      h = layerNorm(h, getParam(params, `${p}.layer_norm.weight`), getParam(params, `${p}.layer_norm.bias`), CONV_NORM_EPS);
    } else if (i === 0) {
      // GroupNorm with one group per channel: normalise each channel over time, per example.
      const { mean, variance } = tf.moments(h, 1, true);
      h = tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, CONV_NORM_EPS)));
      h = tf.add(tf.mul(h, getParam(params, `${p}.layer_norm.weight`)), getParam(params, `${p}.layer_norm.bias`));
    }
    x = gelu(h) as tf.Tensor3D;
  }
  return x;
}

/** Feature projection: LayerNorm -> Linear. Returns the projected hidden states and the normed features. */
export function projectFeatures(params: TfParams, c: Wav2Vec2Config, features: tf.Tensor3D): { hidden: tf.Tensor3D; normed: tf.Tensor3D } {
  const normed = layerNorm(
    features,
    getParam(params, "feature_projection.layer_norm.weight"),
    getParam(params, "feature_projection.layer_norm.bias"),
    c.layer_norm_eps,
  ) as tf.Tensor3D;
  const hidden = linear(normed, getParam(params, "feature_projection.projection.weight"), getParam(params, "feature_projection.projection.bias")) as tf.Tensor3D;
  return { hidden, normed };
}

/** Weight norm over dim 2: w = g * v / ||v||, the norm over dims 0 and 1 for each kernel tap. */
export function weightNorm(g: tf.Tensor, v: tf.Tensor): tf.Tensor {
  const norm = tf.sqrt(tf.sum(tf.square(v), [0, 1], true)); // [1, 1, K]
  return tf.mul(g, tf.div(v, norm));
}

/** Positional conv embedding (before it is added): grouped conv, "same" padding, GELU. */
export function positionalEmbedding(params: TfParams, c: Wav2Vec2Config, hidden: tf.Tensor3D): tf.Tensor3D {
  const K = c.num_conv_pos_embeddings;
  const w = weightNorm(getParam(params, "encoder.pos_conv_embed.conv.weight_g"), getParam(params, "encoder.pos_conv_embed.conv.weight_v"));
  const pad = Math.floor(K / 2);
  let y: tf.Tensor3D = conv1dChannelsLast(hidden, w, getParam(params, "encoder.pos_conv_embed.conv.bias"), 1, c.num_conv_pos_embedding_groups, pad, pad);
  if (K % 2 === 0) {
    // Wav2Vec2SamePadLayer: an even kernel with padding K/2 yields one extra frame; drop the last.
    const [B, L, H] = y.shape;
    y = tf.slice(y, [0, 0, 0], [B, L - 1, H]);
  }
  return gelu(y) as tf.Tensor3D;
}

function selfAttention(params: TfParams, c: Wav2Vec2Config, p: string, x: tf.Tensor3D): tf.Tensor3D {
  const [B, T, H] = x.shape;
  const nh = c.num_attention_heads;
  const hd = H / nh;
  const heads = (t: tf.Tensor): tf.Tensor4D => tf.transpose(tf.reshape(t, [B, T, nh, hd]), [0, 2, 1, 3]);
  // HF scales the projected queries (bias included) by head_dim^-0.5.
  const q = heads(tf.mul(linear(x, getParam(params, `${p}.q_proj.weight`), getParam(params, `${p}.q_proj.bias`)), 1 / Math.sqrt(hd)));
  const k = heads(linear(x, getParam(params, `${p}.k_proj.weight`), getParam(params, `${p}.k_proj.bias`)));
  const v = heads(linear(x, getParam(params, `${p}.v_proj.weight`), getParam(params, `${p}.v_proj.bias`)));
  const probs = tf.softmax(tf.matMul(q, k, false, true), -1); // [B, nh, T, T]
  const ctx = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B, T, H]);
  return linear(ctx, getParam(params, `${p}.out_proj.weight`), getParam(params, `${p}.out_proj.bias`)) as tf.Tensor3D;
}

function feedForward(params: TfParams, p: string, x: tf.Tensor): tf.Tensor {
  const h = gelu(linear(x, getParam(params, `${p}.intermediate_dense.weight`), getParam(params, `${p}.intermediate_dense.bias`)));
  return linear(h, getParam(params, `${p}.output_dense.weight`), getParam(params, `${p}.output_dense.bias`));
}

function encoderLayer(params: TfParams, c: Wav2Vec2Config, l: number, x: tf.Tensor3D): tf.Tensor3D {
  const p = `encoder.layers.${l}`;
  const eps = c.layer_norm_eps;
  const ln1w = getParam(params, `${p}.layer_norm.weight`);
  const ln1b = getParam(params, `${p}.layer_norm.bias`);
  const ln2w = getParam(params, `${p}.final_layer_norm.weight`);
  const ln2b = getParam(params, `${p}.final_layer_norm.bias`);
  if (c.do_stable_layer_norm) {
    // Wav2Vec2EncoderLayerStableLayerNorm: pre-LN residual blocks.
    const h = tf.add(x, selfAttention(params, c, `${p}.attention`, layerNorm(x, ln1w, ln1b, eps) as tf.Tensor3D));
    return tf.add(h, feedForward(params, `${p}.feed_forward`, layerNorm(h, ln2w, ln2b, eps))) as tf.Tensor3D;
  }
  // Wav2Vec2EncoderLayer: post-LN.
  const h = layerNorm(tf.add(x, selfAttention(params, c, `${p}.attention`, x)), ln1w, ln1b, eps);
  return layerNorm(tf.add(h, feedForward(params, `${p}.feed_forward`, h)), ln2w, ln2b, eps) as tf.Tensor3D;
}

/**
 * Transformer encoder from projected features [B, T, H] to HF's hidden_states tuple
 * (num_hidden_layers + 1 tensors): the input of every layer, then the final output.
 * Post-LN: input = LayerNorm(x + pos). Stable-LN: input = x + pos (no norm), and the final
 * output gets encoder.layer_norm.
 */
export function encodeHiddenStates(params: TfParams, c: Wav2Vec2Config, hidden: tf.Tensor3D): tf.Tensor3D[] {
  let x: tf.Tensor3D = tf.add(hidden, positionalEmbedding(params, c, hidden));
  const lnw = getParam(params, "encoder.layer_norm.weight");
  const lnb = getParam(params, "encoder.layer_norm.bias");
  if (!c.do_stable_layer_norm) x = layerNorm(x, lnw, lnb, c.layer_norm_eps) as tf.Tensor3D;
  const states: tf.Tensor3D[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    states.push(x);
    x = encoderLayer(params, c, l, x);
  }
  if (c.do_stable_layer_norm) x = layerNorm(x, lnw, lnb, c.layer_norm_eps) as tf.Tensor3D;
  states.push(x);
  return states;
}

/**
 * Raw audio [batch, samples] -> hidden_states, num_hidden_layers + 1 tensors [batch, frames, hidden],
 * as HF Wav2Vec2Model with output_hidden_states=True in eval mode. Differentiable with respect to
 * every parameter tensor (wasm backend included). Intermediate tensors are released; the caller
 * disposes the returned ones (inside tf.grad/variableGrads the tape handles that).
 */
export function forwardHiddenStates(params: TfParams, config: Wav2Vec2Config, audio: tf.Tensor2D): tf.Tensor3D[] {
  checkTfParams(params, config);
  return tf.tidy(() => {
    const feats = extractFeatures(params, config, audio);
    const { hidden } = projectFeatures(params, config, feats);
    return encodeHiddenStates(params, config, hidden);
  });
}
