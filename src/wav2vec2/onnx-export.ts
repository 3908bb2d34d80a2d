/**
 * Builds an ONNX graph (opset 17, standard ops only) of the same wav2vec 2.0 model as
 * tfjs-model.ts, from the same config + HF-named parameter map, and runs it with onnxruntime-node.
 *
 * Graph: input `input_values` [batch, samples] float32 (raw audio, no processor normalisation);
 * outputs `hidden_states.0` .. `hidden_states.N`, each [batch, frames, hidden], matching HF's
 * `output_hidden_states=True` in eval mode (no attention mask: every row is full length).
 *
 * Export-time folding (exact up to float rounding): weight norm -> fixed conv weight; attention
 * scaling head_dim^-0.5 -> q_proj weight and bias; q/k/v projections -> one [H, 3H] MatMul.
 */
import * as ort from "onnxruntime-node";
import { UserError } from "../errors.js";
import type { HiddenStates } from "../upstream.js";
import type { Wav2Vec2Config } from "./config.js";
import { receptiveField } from "./config.js";
import { type Attr, DataType, GraphBuilder, graphProto, modelProto, type PbWriter, valueInfo } from "./onnx-proto.js";
import { type ParamTensor, validateParams, weightNormWeight } from "./params.js";

export const ONNX_OPSET = 17;
const IR_VERSION = 8; // the IR version that goes with opset 17
const CONV_NORM_EPS = 1e-5; // HF's fixed eps for the feature-encoder GroupNorm/LayerNorm

export interface OnnxExportOptions {
  /** One [H, 3H] MatMul for q/k/v instead of three (default true; faster). */
  fuseQkv?: boolean;
  /**
   * "int8-dynamic": the transformer's Linear layers (q/k/v, out, FFN) use int8 weights (symmetric,
   * per output column) and dynamically quantised uint8 activations, with standard ops
   * (DynamicQuantizeLinear, MatMulInteger) that onnxruntime fuses. Faster, NOT numerically
   * equivalent to the float model. Default "none".
   */
  quantize?: "none" | "int8-dynamic";
}

/** Symmetric per-column int8 quantisation of a [rows, cols] matrix: w ~ q * scale[col]. */
function quantizeColumns(w: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) scale[c] = Math.max(scale[c], Math.abs(w[r * cols + c]));
  for (let c = 0; c < cols; c++) scale[c] = scale[c] > 0 ? scale[c] / 127 : 1;
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) q[r * cols + c] = Math.round(w[r * cols + c] / scale[c]);
  return { q, scale };
}

function transpose2d(p: ParamTensor): Float32Array {
  const [rows, cols] = p.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = p.data[r * cols + c];
  return out;
}

/**
 * Serialises the model to ONNX ModelProto bytes. Parameters are validated against the config;
 * extra entries (pre-training heads, lm_head) are ignored.
 */
export function buildOnnxModel(config: Wav2Vec2Config, params: ReadonlyMap<string, ParamTensor>, opts: OnnxExportOptions = {}): Uint8Array {
  validateParams(params, config);
  const c = config;
  const fuseQkv = opts.fuseQkv ?? true;
  const g = new GraphBuilder();
  const P = (name: string): ParamTensor => {
    const p = params.get(name);
    if (p === undefined) throw new Error(`internal: missing ${name}`);
    return p;
  };
  /** Initializer holding a parameter as is (PyTorch layout). */
  const W = (name: string): string => g.init(name, P(name).shape, P(name).data);
  const gelu = (x: string): string => {
    // x * 0.5 * (1 + erf(x / sqrt 2)) in the order onnxruntime's GeluFusion recognises.
    const e = g.op("Erf", [g.op("Div", [x, g.scalar(Math.SQRT2)])]);
    return g.op("Mul", [g.op("Mul", [x, g.op("Add", [e, g.scalar(1)])]), g.scalar(0.5)]);
  };
  const layerNorm = (x: string, prefix: string, eps: number, output?: string): string =>
    g.op("LayerNormalization", [x, W(`${prefix}.weight`), W(`${prefix}.bias`)], [{ name: "axis", int: -1 }, { name: "epsilon", float: eps }], output);
  const quantize = opts.quantize ?? "none";
  /** x [.., in] times wT [in, out] plus bias, in float or (transformer only) int8. */
  const matmulBias = (x: string, name: string, wT: Float32Array, inDim: number, outDim: number, bias: Float32Array, int8: boolean): string => {
    const b = g.init(`${name}.bias`, [outDim], bias);
    if (!int8) return g.op("Add", [g.op("MatMul", [x, g.init(`${name}.weight.T`, [inDim, outDim], wT)]), b]);
    // The pattern onnxruntime's quantize_dynamic emits (fused into DynamicQuantizeMatMul).
    const { q, scale } = quantizeColumns(wT, inDim, outDim);
    const [xq, xs, xzp] = g.opMulti("DynamicQuantizeLinear", [x], 3);
    const acc = g.op("MatMulInteger", [xq, g.init(`${name}.weight.T.int8`, [inDim, outDim], q), xzp]);
    const scaled = g.op("Mul", [g.op("Cast", [acc], [{ name: "to", int: DataType.FLOAT }]), g.op("Mul", [xs, g.init(`${name}.weight.scale`, [outDim], scale)])]);
    return g.op("Add", [scaled, b]);
  };
  const linearOf = (x: string, prefix: string, int8: boolean): string => {
    const p = P(`${prefix}.weight`);
    return matmulBias(x, prefix, transpose2d(p), p.shape[1], p.shape[0], P(`${prefix}.bias`).data, int8);
  };
  const linear = (x: string, prefix: string): string => linearOf(x, prefix, false);
  const tlinear = (x: string, prefix: string): string => linearOf(x, prefix, quantize === "int8-dynamic");
  const BTC = [0, 2, 1];

  // Feature encoder, NCL layout: [B, S] -> [B, 1, S] -> convs.
  let x = g.op("Unsqueeze", ["input_values", g.ints([1])]);
  for (let i = 0; i < c.conv_dim.length; i++) {
    const p = `feature_extractor.conv_layers.${i}`;
    const inputs = [x, W(`${p}.conv.weight`)];
    if (c.conv_bias) inputs.push(W(`${p}.conv.bias`));
    x = g.op("Conv", inputs, [
      { name: "kernel_shape", ints: [c.conv_kernel[i]] },
      { name: "strides", ints: [c.conv_stride[i]] },
    ]);
    if (c.feat_extract_norm === "layer") {
      x = g.op("Transpose", [x], [{ name: "perm", ints: BTC }]);
      x = gelu(layerNorm(x, `${p}.layer_norm`, CONV_NORM_EPS));
      x = g.op("Transpose", [x], [{ name: "perm", ints: BTC }]);
    } else {
      // GroupNorm(num_groups = channels) == InstanceNormalization with per-channel affine.
      if (i === 0) x = g.op("InstanceNormalization", [x, W(`${p}.layer_norm.weight`), W(`${p}.layer_norm.bias`)], [{ name: "epsilon", float: CONV_NORM_EPS }]);
      x = gelu(x);
    }
  }
  // Feature projection: [B, C, T] -> [B, T, C] -> LayerNorm -> Linear.
  x = g.op("Transpose", [x], [{ name: "perm", ints: BTC }]);
  const hidden = linear(layerNorm(x, "feature_projection.layer_norm", c.layer_norm_eps), "feature_projection.projection");

  // Positional conv with the weight norm folded into a fixed weight.
  const K = c.num_conv_pos_embeddings;
  const wn = weightNormWeight(P("encoder.pos_conv_embed.conv.weight_g"), P("encoder.pos_conv_embed.conv.weight_v"));
  const posW = g.init("encoder.pos_conv_embed.conv.weight", wn.shape, wn.data);
  let pos = g.op(
    "Conv",
    [g.op("Transpose", [hidden], [{ name: "perm", ints: BTC }]), posW, W("encoder.pos_conv_embed.conv.bias")],
    [
      { name: "kernel_shape", ints: [K] },
      { name: "pads", ints: [Math.floor(K / 2), Math.floor(K / 2)] },
      { name: "group", int: c.num_conv_pos_embedding_groups },
    ],
  );
  // Even kernel: "same" padding leaves one frame too many; HF drops the last one.
  if (K % 2 === 0) pos = g.op("Slice", [pos, g.ints([0]), g.ints([-1]), g.ints([2])]);
  pos = g.op("Transpose", [gelu(pos)], [{ name: "perm", ints: BTC }]);

  const N = c.num_hidden_layers;
  const out = (i: number): string => `hidden_states.${i}`;
  const H = c.hidden_size;
  const nh = c.num_attention_heads;
  const hd = H / nh;
  const scale = 1 / Math.sqrt(hd);

  const attention = (xin: string, p: string): string => {
    const q = P(`${p}.q_proj.weight`);
    const qT = transpose2d(q).map((v) => v * scale);
    const qb = P(`${p}.q_proj.bias`).data.map((v) => v * scale);
    let qh: string;
    let kh: string;
    let vh: string;
    if (fuseQkv) {
      // [H, 3H] = [Wq^T * s | Wk^T | Wv^T], columns concatenated per row.
      const kT = transpose2d(P(`${p}.k_proj.weight`));
      const vT = transpose2d(P(`${p}.v_proj.weight`));
      const w = new Float32Array(H * 3 * H);
      for (let r = 0; r < H; r++) {
        w.set(qT.subarray(r * H, (r + 1) * H), r * 3 * H);
        w.set(kT.subarray(r * H, (r + 1) * H), r * 3 * H + H);
        w.set(vT.subarray(r * H, (r + 1) * H), r * 3 * H + 2 * H);
      }
      const b = new Float32Array(3 * H);
      b.set(qb, 0);
      b.set(P(`${p}.k_proj.bias`).data, H);
      b.set(P(`${p}.v_proj.bias`).data, 2 * H);
      const qkv = matmulBias(xin, `${p}.qkv`, w, H, 3 * H, b, quantize === "int8-dynamic");
      [qh, kh, vh] = g.opMulti("Split", [qkv, g.ints([H, H, H])], 3, [{ name: "axis", int: 2 }]);
    } else {
      qh = matmulBias(xin, `${p}.q_proj.scaled`, qT, H, H, qb, quantize === "int8-dynamic");
      kh = tlinear(xin, `${p}.k_proj`);
      vh = tlinear(xin, `${p}.v_proj`);
    }
    const heads = g.ints([0, 0, nh, hd]); // 0 = copy batch / time from the input
    const Q = g.op("Transpose", [g.op("Reshape", [qh, heads])], [{ name: "perm", ints: [0, 2, 1, 3] }]); // [B, nh, T, hd]
    const Kt = g.op("Transpose", [g.op("Reshape", [kh, heads])], [{ name: "perm", ints: [0, 2, 3, 1] }]); // [B, nh, hd, T]
    const V = g.op("Transpose", [g.op("Reshape", [vh, heads])], [{ name: "perm", ints: [0, 2, 1, 3] }]);
    const probs = g.op("Softmax", [g.op("MatMul", [Q, Kt])], [{ name: "axis", int: -1 }]);
    const ctx = g.op("Transpose", [g.op("MatMul", [probs, V])], [{ name: "perm", ints: [0, 2, 1, 3] }]);
    return tlinear(g.op("Reshape", [ctx, g.ints([0, 0, H])]), `${p}.out_proj`);
  };
  const feedForward = (xin: string, p: string): string => tlinear(gelu(tlinear(xin, `${p}.intermediate_dense`)), `${p}.output_dense`);

  // Encoder. Layer inputs are hidden_states.0..N-1; the final output is hidden_states.N.
  const eps = c.layer_norm_eps;
  if (c.do_stable_layer_norm) {
    // With no layers the only state is the normed final output (named below).
    x = g.op("Add", [hidden, pos], [], N === 0 ? undefined : out(0));
  } else {
    x = layerNorm(g.op("Add", [hidden, pos]), "encoder.layer_norm", eps, out(0));
  }
  for (let l = 0; l < N; l++) {
    const p = `encoder.layers.${l}`;
    const last = l === N - 1;
    // The output name is hidden_states.{l+1}, except the stable-LN final output (normed below).
    const name = last && c.do_stable_layer_norm ? undefined : out(l + 1);
    if (c.do_stable_layer_norm) {
      const h = g.op("Add", [x, attention(layerNorm(x, `${p}.layer_norm`, eps), `${p}.attention`)]);
      x = g.op("Add", [h, feedForward(layerNorm(h, `${p}.final_layer_norm`, eps), `${p}.feed_forward`)], [], name);
    } else {
      const h = layerNorm(g.op("Add", [x, attention(x, `${p}.attention`)]), `${p}.layer_norm`, eps);
      x = layerNorm(g.op("Add", [h, feedForward(h, `${p}.feed_forward`)]), `${p}.final_layer_norm`, eps, name);
    }
  }
  if (c.do_stable_layer_norm) x = layerNorm(x, "encoder.layer_norm", eps, out(N));

  const outputs: PbWriter[] = [];
  for (let i = 0; i <= N; i++) outputs.push(valueInfo(out(i), DataType.FLOAT, ["batch", "frames", H]));
  const graph = graphProto({
    name: "wav2vec2",
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [valueInfo("input_values", DataType.FLOAT, ["batch", "samples"])],
    outputs,
  });
  return modelProto({
    irVersion: IR_VERSION,
    opsets: [{ domain: "", version: ONNX_OPSET }],
    producerName: "superb",
    producerVersion: "0.1.0",
    docString: "wav2vec 2.0 (HF Wav2Vec2Model) hidden states",
    graph,
  });
}

export interface OnnxSessionOptions extends OnnxExportOptions {
  /** Default 2 (the machine's cores). */
  intraOpNumThreads?: number;
  /** Default "all". */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "layout" | "all";
}

export interface Wav2Vec2OnnxSession {
  readonly session: ort.InferenceSession;
  readonly config: Wav2Vec2Config;
  /** hidden_states.0 .. hidden_states.N */
  readonly outputNames: readonly string[];
  release(): Promise<void>;
}

/** Builds the graph in memory and opens an onnxruntime CPU session on it. */
export async function createOnnxSession(
  config: Wav2Vec2Config,
  params: ReadonlyMap<string, ParamTensor>,
  opts: OnnxSessionOptions = {},
): Promise<Wav2Vec2OnnxSession> {
  const bytes = buildOnnxModel(config, params, opts);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    intraOpNumThreads: opts.intraOpNumThreads ?? 2,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: opts.graphOptimizationLevel ?? "all",
  });
  const outputNames = Array.from({ length: config.num_hidden_layers + 1 }, (_, i) => `hidden_states.${i}`);
  return { session, config, outputNames, release: () => session.release() };
}

/** Equal-length audio rows packed row-major. */
export interface AudioBatch {
  data: Float32Array;
  batch: number;
  samples: number;
}

/** Hidden states of a batch; with batch 1 this is the project's `HiddenStates` shape. */
export interface BatchHiddenStates {
  batch: number;
  numFrames: number;
  dim: number;
  /** One per hidden state, each row-major [batch, numFrames, dim]. */
  layers: Float32Array[];
}

function toBatch(audio: Float32Array | readonly Float32Array[] | AudioBatch): AudioBatch {
  if (audio instanceof Float32Array) return { data: audio, batch: 1, samples: audio.length };
  if (!Array.isArray(audio)) return audio as AudioBatch;
  const rows = audio as readonly Float32Array[];
  if (rows.length === 0) throw new UserError("wav2vec2: empty batch");
  const samples = rows[0].length;
  if (rows.some((r) => r.length !== samples)) {
    // No attention mask is implemented, so padding would change the outputs.
    throw new UserError("wav2vec2: all rows of a batch must have the same number of samples");
  }
  const data = new Float32Array(rows.length * samples);
  rows.forEach((r, i) => data.set(r, i * samples));
  return { data, batch: rows.length, samples };
}

/** Runs the session on one clip, equal-length clips, or a packed batch. */
export async function runHiddenStates(
  s: Wav2Vec2OnnxSession,
  audio: Float32Array | readonly Float32Array[] | AudioBatch,
): Promise<BatchHiddenStates> {
  const b = toBatch(audio);
  if (b.data.length !== b.batch * b.samples) throw new UserError("wav2vec2: audio batch data length does not match batch x samples");
  const rf = receptiveField(s.config);
  if (b.samples < rf) throw new UserError(`wav2vec2: ${b.samples} samples is shorter than the model's receptive field (${rf} samples)`);
  const input = new ort.Tensor("float32", b.data, [b.batch, b.samples]);
  const result = await s.session.run({ input_values: input }, s.outputNames as string[]);
  input.dispose();
  const layers: Float32Array[] = [];
  let numFrames = 0;
  for (const name of s.outputNames) {
    const t = result[name];
    if (t === undefined) throw new Error(`wav2vec2 onnx: output ${name} missing`);
    numFrames = t.dims[1];
    layers.push(t.data as Float32Array);
  }
  return { batch: b.batch, numFrames, dim: s.config.hidden_size, layers };
}

/** One row of a batch as the project's HiddenStates (views, no copy). */
export function rowHiddenStates(b: BatchHiddenStates, row: number): HiddenStates {
  if (!(row >= 0 && row < b.batch)) throw new RangeError(`row ${row} outside batch of ${b.batch}`);
  const n = b.numFrames * b.dim;
  return { numFrames: b.numFrames, dim: b.dim, layers: b.layers.map((l) => l.subarray(row * n, (row + 1) * n)) };
}
