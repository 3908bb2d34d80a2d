/**
 * wav2vec 2.0 forward pass in TensorFlow.js over the HF-named parameter map (see params.ts),
 * reproducing HF `Wav2Vec2Model(..., output_hidden_states=True).hidden_states` in eval mode
 * (no dropout, no masking, no attention mask: every batch row is full length).
 *
 * Layout: activations are channels-last [batch, time, channels] throughout; weights stay in the
 * PyTorch layout and are rearranged inside the graph, so gradients land on the HF-shaped tensors.
 *
 * Convolutions are not tf.conv1d (the wasm backend has no Conv2DBackpropFilter kernel): each is
 * one custom-gradient op built from reshape/slice/concat + matMul (im2col) forward, a transposed
 * convolution for the input gradient and im2col^T x dy for the weight gradient.
 * The model takes raw input_values (no processor normalisation).
 *
 * Speed (tfjs-backend-wasm 4.22, measured): matMul with transposeA/transposeB, and any batched
 * (rank-3, batch > 1) matMul, miss the fast XNNPACK path and run 10-40x slower, and tf.matMul's
 * built-in gradient uses exactly those. So all products go through mm2d below: plain 2-D
 * products, explicit transposes, and a custom gradient written the same way. Copies (slice,
 * transpose, split) run at only ~100-500 M floats/s, which is why re-layouts are kept few.
 */
import * as tf from "@tensorflow/tfjs";
import type { Wav2Vec2Config } from "./config.js";
import { receptiveField } from "./config.js";
import { paramSpecs, type ParamMap, type ParamSpecOptions, type ParamTensor } from "./params.js";

/** Parameters as tensors (usually tf.Variables), keyed by HF name. */
export type TfParams = ReadonlyMap<string, tf.Tensor>;

/** HF hard-codes eps 1e-5 for the feature encoder's GroupNorm / LayerNorm (not layer_norm_eps). */
const CONV_NORM_EPS = 1e-5;

/** im2col chunks are kept below this many floats (16 MB) by splitting the kernel taps. */
const IM2COL_BUDGET = 1 << 22;

/** Makes a tf.Variable per entry (trainable by default). Caller disposes them. */
export function createTfVariables(params: ReadonlyMap<string, ParamTensor>, trainable = true): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [name, p] of params) {
    const init = tf.tensor(p.data, p.shape, "float32");
    out.set(name, tf.variable(init, trainable));
    init.dispose(); // the variable holds its own reference to the data
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

/**
 * a [M, K] x b [K, N] whose gradient also uses only untransposed 2-D products (see header).
 * XNNPACK packs the second operand on every call, so callers pass the smaller one there.
 */
export const mm2d: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor2D = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor2D;
  const b = args[1] as tf.Tensor2D;
  (args[2] as tf.GradSaveFunc)([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1]) as tf.Tensor2D),
      tf.matMul(tf.transpose(saved[0]) as tf.Tensor2D, dy as tf.Tensor2D),
    ],
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

/** Batched product [N, M, K] x [N, K, P] as N 2-D products (the batched kernel is slow, see header). */
function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [N, M, K] = a.shape;
  const P = b.shape[2];
  if (N === 1) return tf.reshape(mm2d(tf.reshape(a, [M, K]), tf.reshape(b, [K, P])), [1, M, P]);
  const as = tf.unstack(a);
  const bs = tf.unstack(b);
  return tf.stack(as.map((ai, i) => mm2d(ai, bs[i]))) as tf.Tensor3D;
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
export function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1];
  const outDim = w.shape[0];
  // Computed as (W x^T)^T: transposing the activations is cheaper than transposing/packing W.
  let y: tf.Tensor = tf.transpose(mm2d(w, tf.transpose(tf.reshape(x, [-1, inDim]))));
  if (b !== null) y = tf.add(y, b);
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]);
}

/**
 * 1-D convolution, channels-last input [B, T, Cin], PyTorch weight [Cout, Cin/groups, K],
 * zero padding (padLeft, padRight). Returns [B, L, Cout], L = floor((T + pads - K) / stride) + 1.
 *
 * The convolution itself is one custom-gradient op (convCore): left to autodiff, an im2col
 * keeps K shifted copies of the input alive for the backward pass and pays one full-size pad per
 * tap there (gigabytes for the 128-tap positional conv). Inside the custom op every intermediate
 * is transient; only x and w are saved.
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
  const T = T0 + padLeft + padRight;
  if (T < K) throw new Error(`conv1d: input of ${T0} frames is shorter than the kernel (${K})`);
  const L = Math.floor((T - K) / stride) + 1;
  const qmax = Math.floor((K - 1) / stride);
  // Pad/trim time to N = stride*(L+qmax) frames, so that time reshapes into [L+qmax, stride];
  // the extra zero frames are never read by a tap < K.
  const N = stride * (L + qmax);
  let xp: tf.Tensor = x;
  const extra = N - T;
  if (padLeft > 0 || padRight > 0 || extra > 0) {
    xp = tf.pad(xp, [[0, 0], [padLeft, padRight + Math.max(0, extra)], [0, 0]]);
  }
  if (extra < 0) xp = tf.slice(xp, [0, 0, 0], [B, N, Cin]);
  const y = convCore(xp as tf.Tensor3D, weight as tf.Tensor3D, stride, G, L);
  return bias === null ? y : tf.add(y, bias);
}

/** Geometry of one (ungrouped) valid convolution of xp [B, N, Cin], N = stride*(L+qmax). */
interface ConvGeom {
  B: number;
  N: number;
  Cin: number;
  Cout: number;
  K: number;
  stride: number;
  L: number;
  qmax: number;
}

/**
 * Valid convolution of xp [B, N, Cin] with w [Cout, Cin/G, K] -> [B, L, Cout]. Groups are run as
 * separate convolutions on channel slices: cheaper in tfjs-wasm than grouped (batched) products.
 */
function convCore(xp: tf.Tensor3D, w: tf.Tensor3D, stride: number, G: number, L: number): tf.Tensor3D {
  if (G > 1) {
    const xs = tf.split(xp, G, 2);
    const ws = tf.split(w, G, 0);
    return tf.concat(
      xs.map((x, i) => convCore(x as tf.Tensor3D, ws[i] as tf.Tensor3D, stride, 1, L)),
      2,
    );
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor3D;
    const wt = args[1] as tf.Tensor3D;
    (args[2] as tf.GradSaveFunc)([x, wt]);
    const [B, N, Cin] = x.shape;
    const [Cout, , K] = wt.shape;
    const g: ConvGeom = { B, N, Cin, Cout, K, stride, L, qmax: Math.floor((K - 1) / stride) };
    return {
      // Per-tap matrices [K, Cin, Cout].
      value: tf.tidy(() => convTaps(x, tf.transpose(wt, [2, 1, 0]) as tf.Tensor3D, g, false)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const sx = saved[0] as tf.Tensor3D;
        const sw = saved[1] as tf.Tensor3D;
        return [convGradInput(dy as tf.Tensor3D, sw, g), convGradWeight(sx, dy as tf.Tensor3D, g)];
      },
    };
  }) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor3D;
  return op(xp, w);
}

/** Taps per im2col chunk, keeping a chunk near IM2COL_BUDGET floats. */
function chunkTaps(K: number, perTap: number): number {
  return Math.max(1, Math.min(K, Math.floor(IM2COL_BUDGET / Math.max(1, perTap))));
}

/**
 * im2col of taps k0..k0+m-1: [B*L, m*Cin]. xv is the input viewed as [B, L+qmax, stride*Cin], so
 * tap j = q*stride + r of output frame l (input frame stride*(l+q) + r) is a plain slice. With
 * `reversed`, column block j holds tap K-1-j (stride 1 only).
 */
function im2col(xv: tf.Tensor3D, g: ConvGeom, k0: number, m: number, reversed: boolean): tf.Tensor2D {
  const cols: tf.Tensor2D[] = [];
  for (let jj = k0; jj < k0 + m; jj++) {
    const j = reversed ? g.K - 1 - jj : jj;
    const q = Math.floor(j / g.stride);
    const r = j % g.stride;
    cols.push(tf.reshape(tf.slice(xv, [0, q, r * g.Cin], [g.B, g.L, g.Cin]), [g.B * g.L, g.Cin]));
  }
  return cols.length === 1 ? cols[0] : tf.concat(cols, 1);
}

/**
 * sum_j tap_j(xp) W_j with per-tap matrices wr [K, Cin, Cout], by im2col over chunks of taps;
 * each chunk's temporaries are freed before the next. Returns [B, L, Cout].
 */
function convTaps(xp: tf.Tensor3D, wr: tf.Tensor3D, g: ConvGeom, reversed: boolean): tf.Tensor3D {
  const xv = tf.reshape(xp, [g.B, g.L + g.qmax, g.stride * g.Cin]) as tf.Tensor3D;
  const Cout = wr.shape[2];
  const n = chunkTaps(g.K, g.B * g.L * g.Cin);
  let acc: tf.Tensor | null = null;
  for (let k0 = 0; k0 < g.K; k0 += n) {
    const m = Math.min(n, g.K - k0);
    const prev: tf.Tensor | null = acc;
    acc = tf.tidy(() => {
      const wChunk = tf.reshape(tf.slice(wr, [k0, 0, 0], [m, g.Cin, Cout]), [m * g.Cin, Cout]);
      const part = mm2d(im2col(xv, g, k0, m, reversed), wChunk); // [B*L, Cout]
      return prev === null ? part : tf.add(prev, part);
    });
    prev?.dispose();
  }
  if (acc === null) throw new Error("conv1d: empty kernel");
  return tf.reshape(acc, [g.B, g.L, Cout]);
}

/** dL/dxp [B, N, Cin]: the transposed convolution of dy [B, L, Cout]. */
function convGradInput(dy: tf.Tensor3D, w: tf.Tensor3D, g: ConvGeom): tf.Tensor3D {
  return tf.tidy(() => {
    const wT = tf.transpose(w, [2, 0, 1]) as tf.Tensor3D; // [K, Cout, Cin]: W_k^T
    if (g.stride === 1) {
      // Full correlation: dxp[t] = sum_k dy[t-k] W_k^T = sum_k dyp[t + K-1-k] W_k^T with dy
      // zero-padded by K-1: a stride-1 convolution of dyp with the taps in reverse order.
      const dyp = tf.pad(dy, [[0, 0], [g.K - 1, g.K - 1], [0, 0]]) as tf.Tensor3D;
      const gb: ConvGeom = { B: g.B, N: g.N + g.K - 1, Cin: g.Cout, Cout: g.Cin, K: g.K, stride: 1, L: g.N, qmax: g.K - 1 };
      return convTaps(dyp, wT, gb, true);
    }
    // Strided: tap j = q*stride + r sends dy[l] W_j^T to input frame stride*(l+q) + r. Collect
    // each phase r as [B, L+qmax, Cin] and interleave the phases (the layout of im2col's view).
    const dy2 = tf.reshape(dy, [g.B * g.L, g.Cout]);
    const phases: tf.Tensor[] = [];
    for (let r = 0; r < g.stride; r++) {
      let acc: tf.Tensor | null = null;
      for (let j = r; j < g.K; j += g.stride) {
        const q = Math.floor(j / g.stride);
        const wj = tf.reshape(tf.slice(wT, [j, 0, 0], [1, g.Cout, g.Cin]), [g.Cout, g.Cin]);
        const contrib = tf.reshape(mm2d(dy2, wj), [g.B, g.L, g.Cin]);
        const placed = tf.pad(contrib, [[0, 0], [q, g.qmax - q], [0, 0]]);
        acc = acc === null ? placed : tf.add(acc, placed);
      }
      phases.push(acc ?? tf.zeros([g.B, g.L + g.qmax, g.Cin]));
    }
    return tf.reshape(tf.concat(phases, 2), [g.B, g.N, g.Cin]) as tf.Tensor3D;
  });
}

/** dL/dw [Cout, Cin, K]: W_j gets tap_j(xp)^T dy, summed over batch and frames. */
function convGradWeight(xp: tf.Tensor3D, dy: tf.Tensor3D, g: ConvGeom): tf.Tensor3D {
  return tf.tidy(() => {
    const xv = tf.reshape(xp, [g.B, g.L + g.qmax, g.stride * g.Cin]) as tf.Tensor3D;
    const dy2 = tf.reshape(dy, [g.B * g.L, g.Cout]);
    const n = chunkTaps(g.K, g.B * g.L * g.Cin);
    const parts: tf.Tensor[] = [];
    for (let k0 = 0; k0 < g.K; k0 += n) {
      const m = Math.min(n, g.K - k0);
      parts.push(tf.tidy(() => tf.reshape(mm2d(tf.transpose(im2col(xv, g, k0, m, false)), dy2), [m, g.Cin, g.Cout])));
    }
    const dw = parts.length === 1 ? parts[0] : tf.concat(parts, 0); // [K, Cin, Cout]
    return tf.transpose(dw, [2, 1, 0]) as tf.Tensor3D;
  });
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
  // [B, T, H] -> [B*nh, T, hd] (or [B*nh, hd, T] for keys, ready for q k^T).
  const heads = (t: tf.Tensor, perm: number[]): tf.Tensor3D =>
    tf.reshape(tf.transpose(tf.reshape(t, [B, T, nh, hd]), perm), perm[2] === 1 ? [B * nh, T, hd] : [B * nh, hd, T]);
  // HF scales the projected queries (bias included) by head_dim^-0.5.
  const q = heads(tf.mul(linear(x, getParam(params, `${p}.q_proj.weight`), getParam(params, `${p}.q_proj.bias`)), 1 / Math.sqrt(hd)), [0, 2, 1, 3]);
  const kT = heads(linear(x, getParam(params, `${p}.k_proj.weight`), getParam(params, `${p}.k_proj.bias`)), [0, 2, 3, 1]);
  const v = heads(linear(x, getParam(params, `${p}.v_proj.weight`), getParam(params, `${p}.v_proj.bias`)), [0, 2, 1, 3]);
  const probs = tf.softmax(bmm(q, kT), -1); // [B*nh, T, T]
  const ctx = tf.reshape(tf.transpose(tf.reshape(bmm(probs, v), [B, nh, T, hd]), [0, 2, 1, 3]), [B, T, H]);
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
