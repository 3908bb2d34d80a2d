/**
 * The parameter set of a wav2vec 2.0 model: HuggingFace names (without the `wav2vec2.` prefix)
 * and PyTorch shapes/layouts, so checkpoints map one to one:
 * - Conv1d weight [out, in/groups, kernel]; Linear weight [out, in] (y = x W^T + b).
 * - Positional conv under weight norm (dim=2): weight_g [1, 1, kernel], weight_v [out, in/groups, kernel].
 * Both runtimes (tfjs, ONNX) consume exactly this map.
 */
import { UserError } from "../errors.js";
import type { Wav2Vec2Config } from "./config.js";

export interface ParamTensor {
  shape: number[];
  /** Row-major (C order), like a contiguous PyTorch tensor. */
  data: Float32Array;
}

export type ParamMap = Map<string, ParamTensor>;

/** Coarse grouping, used for analyses (% change per parameter type) and gradient checks. */
export type ParamGroup =
  | "feature_extractor"
  | "feature_projection"
  | "pos_conv"
  | "encoder_layer_norm"
  | "attention"
  | "feed_forward"
  | "layer_norm"
  | "masking"
  | "pretraining";

type InitKind =
  | "conv_weight"
  | "conv_bias"
  | "linear_weight"
  | "zeros"
  | "ones"
  | "projection_uniform"
  | "pos_conv_v"
  | "pos_conv_g"
  | "uniform01"
  | "normal01";

export interface ParamSpec {
  name: string;
  shape: number[];
  group: ParamGroup;
  /** Transformer layer index for per-layer parameters, else undefined. */
  layer?: number;
  init: InitKind;
  /** Fan-in used by the init (Conv: in/groups*kernel; Linear: in). */
  fanIn: number;
}

export interface ParamSpecOptions {
  /** Also list the Wav2Vec2ForPreTraining heads: quantizer.*, project_hid.*, project_q.*. */
  pretraining?: boolean;
}

/** Every parameter of the model, in HF state_dict order. */
export function paramSpecs(c: Wav2Vec2Config, opts: ParamSpecOptions = {}): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], group: ParamGroup, init: InitKind, fanIn: number, layer?: number): void => {
    specs.push({ name, shape, group, init, fanIn, ...(layer === undefined ? {} : { layer }) });
  };
  const H = c.hidden_size;

  add("masked_spec_embed", [H], "masking", "uniform01", H);

  for (let i = 0; i < c.conv_dim.length; i++) {
    const cin = i === 0 ? 1 : c.conv_dim[i - 1];
    const cout = c.conv_dim[i];
    const k = c.conv_kernel[i];
    const p = `feature_extractor.conv_layers.${i}`;
    add(`${p}.conv.weight`, [cout, cin, k], "feature_extractor", "conv_weight", cin * k);
    if (c.conv_bias) add(`${p}.conv.bias`, [cout], "feature_extractor", "conv_bias", cin * k);
    // group mode: one GroupNorm after conv 0; layer mode: a LayerNorm after every conv.
    if (c.feat_extract_norm === "layer" || i === 0) {
      add(`${p}.layer_norm.weight`, [cout], "feature_extractor", "ones", cout);
      add(`${p}.layer_norm.bias`, [cout], "feature_extractor", "zeros", cout);
    }
  }

  const C = c.conv_dim[c.conv_dim.length - 1];
  add("feature_projection.layer_norm.weight", [C], "feature_projection", "ones", C);
  add("feature_projection.layer_norm.bias", [C], "feature_projection", "zeros", C);
  add("feature_projection.projection.weight", [H, C], "feature_projection", "projection_uniform", C);
  add("feature_projection.projection.bias", [H], "feature_projection", "projection_uniform", C);

  const K = c.num_conv_pos_embeddings;
  const Cg = H / c.num_conv_pos_embedding_groups;
  add("encoder.pos_conv_embed.conv.bias", [H], "pos_conv", "zeros", Cg * K);
  // weight_v before weight_g: initParams derives g from v.
  add("encoder.pos_conv_embed.conv.weight_v", [H, Cg, K], "pos_conv", "pos_conv_v", H * K);
  add("encoder.pos_conv_embed.conv.weight_g", [1, 1, K], "pos_conv", "pos_conv_g", H * K);
  add("encoder.layer_norm.weight", [H], "encoder_layer_norm", "ones", H);
  add("encoder.layer_norm.bias", [H], "encoder_layer_norm", "zeros", H);

  const I = c.intermediate_size;
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `encoder.layers.${l}`;
    for (const proj of ["k_proj", "v_proj", "q_proj", "out_proj"]) {
      add(`${p}.attention.${proj}.weight`, [H, H], "attention", "linear_weight", H, l);
      add(`${p}.attention.${proj}.bias`, [H], "attention", "zeros", H, l);
    }
    add(`${p}.layer_norm.weight`, [H], "layer_norm", "ones", H, l);
    add(`${p}.layer_norm.bias`, [H], "layer_norm", "zeros", H, l);
    add(`${p}.feed_forward.intermediate_dense.weight`, [I, H], "feed_forward", "linear_weight", H, l);
    add(`${p}.feed_forward.intermediate_dense.bias`, [I], "feed_forward", "zeros", H, l);
    add(`${p}.feed_forward.output_dense.weight`, [H, I], "feed_forward", "linear_weight", I, l);
    add(`${p}.feed_forward.output_dense.bias`, [H], "feed_forward", "zeros", I, l);
    add(`${p}.final_layer_norm.weight`, [H], "layer_norm", "ones", H, l);
    add(`${p}.final_layer_norm.bias`, [H], "layer_norm", "zeros", H, l);
  }

  if (opts.pretraining) {
    const GV = c.num_codevector_groups * c.num_codevectors_per_group;
    add("quantizer.codevectors", [1, GV, c.codevector_dim / c.num_codevector_groups], "pretraining", "uniform01", C);
    add("quantizer.weight_proj.weight", [GV, C], "pretraining", "normal01", C);
    add("quantizer.weight_proj.bias", [GV], "pretraining", "zeros", C);
    // HF resets these two to PyTorch's default Linear init: U(+-1/sqrt(in)) for weight and bias.
    add("project_hid.weight", [c.proj_codevector_dim, H], "pretraining", "projection_uniform", H);
    add("project_hid.bias", [c.proj_codevector_dim], "pretraining", "projection_uniform", H);
    add("project_q.weight", [c.proj_codevector_dim, c.codevector_dim], "pretraining", "projection_uniform", c.codevector_dim);
    add("project_q.bias", [c.proj_codevector_dim], "pretraining", "projection_uniform", c.codevector_dim);
  }
  return specs;
}

export function numElements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Total number of scalar parameters. */
export function countParams(c: Wav2Vec2Config, opts: ParamSpecOptions = {}): number {
  return paramSpecs(c, opts).reduce((n, s) => n + numElements(s.shape), 0);
}

/**
 * Maps a HF state_dict key to this project's name: drops the `wav2vec2.` prefix and renames the
 * newer `parametrizations.weight.original0/1` (torch >= 2.1 weight norm) to weight_g/weight_v.
 */
export function normalizeHfParamName(name: string): string {
  let n = name.startsWith("wav2vec2.") ? name.slice("wav2vec2.".length) : name;
  n = n.replace(/\.parametrizations\.weight\.original0$/, ".weight_g").replace(/\.parametrizations\.weight\.original1$/, ".weight_v");
  return n;
}

/**
 * Checks that every parameter the config needs is present with its PyTorch shape and finite-length
 * data. Extra entries (e.g. a CTC lm_head) are ignored.
 */
export function validateParams(params: ReadonlyMap<string, ParamTensor>, c: Wav2Vec2Config, opts: ParamSpecOptions = {}): void {
  const problems: string[] = [];
  for (const spec of paramSpecs(c, opts)) {
    const p = params.get(spec.name);
    if (p === undefined) {
      problems.push(`missing ${spec.name}`);
    } else if (p.shape.length !== spec.shape.length || p.shape.some((d, i) => d !== spec.shape[i])) {
      problems.push(`${spec.name} has shape [${p.shape.join(", ")}], expected [${spec.shape.join(", ")}]`);
    } else if (p.data.length !== numElements(spec.shape)) {
      problems.push(`${spec.name} has ${p.data.length} values for shape [${spec.shape.join(", ")}]`);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 8).join("; ");
    throw new UserError(`wav2vec2 parameters do not match the config: ${shown}${problems.length > 8 ? ` (and ${problems.length - 8} more)` : ""}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Deterministic random init. Each tensor gets its own stream from (seed, name), so adding or
// removing parameters never changes the values of the others.

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** sfc32 seeded via splitmix32: fast, good enough statistical quality for weight init. */
export function makeRng(seed: number, stream = ""): () => number {
  let s = (seed ^ fnv1a(stream)) >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

function fillNormal(out: Float32Array, rng: () => number, mean: number, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    // Box-Muller; 1 - u avoids log(0).
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const th = 2 * Math.PI * rng();
    out[i] = mean + std * r * Math.cos(th);
    if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(th);
  }
}

function fillUniform(out: Float32Array, rng: () => number, lo: number, hi: number): void {
  for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * rng();
}

/** Weight-norm magnitude for dim=2: g[k] = ||v[:, :, k]|| over dims 0 and 1. */
export function weightNormG(v: ParamTensor): ParamTensor {
  const [o, i, k] = v.shape;
  const g = new Float64Array(k);
  for (let a = 0; a < o * i; a++) {
    for (let j = 0; j < k; j++) {
      const x = v.data[a * k + j];
      g[j] += x * x;
    }
  }
  return { shape: [1, 1, k], data: Float32Array.from(g, Math.sqrt) };
}

/** The effective conv weight w = g * v / ||v|| (dim=2), as PyTorch's weight_norm computes it. */
export function weightNormWeight(g: ParamTensor, v: ParamTensor): ParamTensor {
  const [o, i, k] = v.shape;
  const norm = weightNormG(v).data;
  const w = new Float32Array(v.data.length);
  for (let a = 0; a < o * i; a++) {
    for (let j = 0; j < k; j++) w[a * k + j] = (g.data[j] * v.data[a * k + j]) / norm[j];
  }
  return { shape: [...v.shape], data: w };
}

export interface InitOptions extends ParamSpecOptions {
  /**
   * Randomise norm affine parameters (1 + 0.1 N) and all biases (0.1 N) instead of HF's 1/0 init.
   * HF's init makes those parameters invisible to equivalence tests; this exercises them.
   */
  randomAffine?: boolean;
}

/**
 * Deterministic random parameters following HF `Wav2Vec2PreTrainedModel._init_weights`:
 * Linear N(0, 0.02) with zero bias; feature projection U(+-1/sqrt(in)); feature-encoder convs
 * Kaiming normal; positional conv N(0, 2/sqrt(k*hidden)) with g = ||v||; norms 1/0;
 * masked_spec_embed and codevectors U(0, 1); quantizer.weight_proj N(0, 1).
 */
export function initParams(c: Wav2Vec2Config, seed: number, opts: InitOptions = {}): ParamMap {
  const map: ParamMap = new Map();
  for (const spec of paramSpecs(c, opts)) {
    const rng = makeRng(seed, spec.name);
    const data = new Float32Array(numElements(spec.shape));
    const isBias = spec.name.endsWith(".bias");
    switch (spec.init) {
      case "conv_weight":
        fillNormal(data, rng, 0, Math.sqrt(2 / spec.fanIn));
        break;
      case "conv_bias":
      case "projection_uniform": {
        const b = Math.sqrt(1 / spec.fanIn);
        fillUniform(data, rng, -b, b);
        break;
      }
      case "linear_weight":
        fillNormal(data, rng, 0, 0.02);
        break;
      case "pos_conv_v":
        fillNormal(data, rng, 0, 2 * Math.sqrt(1 / spec.fanIn));
        break;
      case "pos_conv_g": {
        const v = map.get(spec.name.replace(/weight_g$/, "weight_v"));
        if (v === undefined) throw new Error("internal: weight_v must precede weight_g");
        data.set(weightNormG(v).data);
        break;
      }
      case "uniform01":
        fillUniform(data, rng, 0, 1);
        break;
      case "normal01":
        fillNormal(data, rng, 0, 1);
        break;
      case "ones":
        if (opts.randomAffine) fillNormal(data, rng, 1, 0.1);
        else data.fill(1);
        break;
      case "zeros":
        if (opts.randomAffine) fillNormal(data, rng, 0, 0.1);
        break;
    }
    if (opts.randomAffine && isBias && spec.init !== "zeros") {
      fillNormal(data, rng, 0, 0.1);
    }
    map.set(spec.name, { shape: [...spec.shape], data });
  }
  return map;
}
