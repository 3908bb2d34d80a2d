/**
 * wav2vec 2.0 model configuration, with HuggingFace `Wav2Vec2Config` field names so that a
 * `config.json` from the Hub (or written by this project) can be read and written unchanged.
 *
 * Note: HF's `Wav2Vec2FeatureExtractor` (the *processor*) may zero-mean/unit-variance normalise
 * audio (`do_normalize`); that is not part of the model. The model here takes raw `input_values`,
 * exactly like `Wav2Vec2Model.forward`; callers normalise beforehand if their checkpoint expects it.
 */
import { UserError } from "../errors.js";

export type FeatExtractNorm = "group" | "layer";

export interface Wav2Vec2Config {
  /** Output channels of each feature-encoder conv layer. */
  conv_dim: number[];
  conv_kernel: number[];
  conv_stride: number[];
  conv_bias: boolean;
  /** "group": GroupNorm(C groups) after conv 0 only (base); "layer": LayerNorm after every conv (large/lv60). */
  feat_extract_norm: FeatExtractNorm;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: "gelu";
  num_conv_pos_embeddings: number;
  num_conv_pos_embedding_groups: number;
  /** false: post-LN transformer (base); true: pre-LN + final encoder LayerNorm (large/lv60). */
  do_stable_layer_norm: boolean;
  layer_norm_eps: number;
  // Pre-training (wav2vec 2.0 objective); unused by the forward pass to hidden states.
  num_codevector_groups: number;
  num_codevectors_per_group: number;
  codevector_dim: number;
  proj_codevector_dim: number;
  mask_time_prob: number;
  mask_time_length: number;
  num_negatives: number;
  contrastive_logits_temperature: number;
  diversity_loss_weight: number;
}

/** HF `Wav2Vec2Config()` defaults, which equal facebook/wav2vec2-base. Missing fields fall back to these, as in HF. */
const HF_DEFAULTS: Wav2Vec2Config = {
  conv_dim: [512, 512, 512, 512, 512, 512, 512],
  conv_kernel: [10, 3, 3, 3, 3, 2, 2],
  conv_stride: [5, 2, 2, 2, 2, 2, 2],
  conv_bias: false,
  feat_extract_norm: "group",
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: "gelu",
  num_conv_pos_embeddings: 128,
  num_conv_pos_embedding_groups: 16,
  do_stable_layer_norm: false,
  layer_norm_eps: 1e-5,
  num_codevector_groups: 2,
  num_codevectors_per_group: 320,
  codevector_dim: 256,
  proj_codevector_dim: 256,
  mask_time_prob: 0.05,
  mask_time_length: 10,
  num_negatives: 100,
  contrastive_logits_temperature: 0.1,
  diversity_loss_weight: 0.1,
};

export type PresetName = "wav2vec2-base" | "base" | "tiny";

const PRESETS: Record<PresetName, Wav2Vec2Config> = {
  // facebook/wav2vec2-base (95M parameters). Its config.json sets mask_time_prob 0.05; the paper's
  // pre-training used 0.065, which callers can override.
  "wav2vec2-base": { ...HF_DEFAULTS },
  // The shipped `base` upstream (upstreams/base/MODEL_CARD.md): 2.11 M parameters (2.20 M with
  // the pre-training heads). The CNN keeps wav2vec 2.0's geometry (7 convs, 20 ms hop) but narrows the
  // early, high-frame-rate layers, where almost all of a full-width CNN's cost is (as SEW's compact
  // feature extractor does); the transformer is 4 x 192 with 4 heads. Sized so that its
  // pre-training fits 45 minutes on 2 cores.
  base: {
    ...HF_DEFAULTS,
    conv_dim: [32, 64, 64, 128, 128, 192, 192],
    hidden_size: 192,
    num_hidden_layers: 4,
    num_attention_heads: 4,
    intermediate_size: 768,
    num_conv_pos_embeddings: 16,
    num_conv_pos_embedding_groups: 8,
    num_codevector_groups: 2,
    num_codevectors_per_group: 96,
    codevector_dim: 128,
    proj_codevector_dim: 128,
    num_negatives: 50,
  },
  // Same conv geometry (so frame counts match base) but tiny widths: for tests.
  tiny: {
    ...HF_DEFAULTS,
    conv_dim: [32, 32, 32, 32, 32, 32, 32],
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 128,
    num_conv_pos_embeddings: 16,
    num_conv_pos_embedding_groups: 4,
    num_codevector_groups: 2,
    num_codevectors_per_group: 8,
    codevector_dim: 16,
    proj_codevector_dim: 16,
    num_negatives: 10,
  },
};

export const PRESET_NAMES: readonly PresetName[] = Object.keys(PRESETS) as PresetName[];

/** A fresh copy of a preset, optionally with fields overridden (the result is validated). */
export function presetConfig(name: PresetName, overrides: Partial<Wav2Vec2Config> = {}): Wav2Vec2Config {
  const base = PRESETS[name];
  if (base === undefined) {
    throw new UserError(`unknown wav2vec2 preset "${String(name)}" (known: ${PRESET_NAMES.join(", ")})`);
  }
  return validateConfig({ ...cloneConfig(base), ...overrides });
}

function cloneConfig(c: Wav2Vec2Config): Wav2Vec2Config {
  return { ...c, conv_dim: [...c.conv_dim], conv_kernel: [...c.conv_kernel], conv_stride: [...c.conv_stride] };
}

type FieldKind = "posint" | "nonnegint" | "posnum" | "prob" | "bool" | "intlist";
const FIELD_KINDS: Record<Exclude<keyof Wav2Vec2Config, "feat_extract_norm" | "hidden_act">, FieldKind> = {
  conv_dim: "intlist",
  conv_kernel: "intlist",
  conv_stride: "intlist",
  conv_bias: "bool",
  hidden_size: "posint",
  num_hidden_layers: "nonnegint",
  num_attention_heads: "posint",
  intermediate_size: "posint",
  num_conv_pos_embeddings: "posint",
  num_conv_pos_embedding_groups: "posint",
  do_stable_layer_norm: "bool",
  layer_norm_eps: "posnum",
  num_codevector_groups: "posint",
  num_codevectors_per_group: "posint",
  codevector_dim: "posint",
  proj_codevector_dim: "posint",
  mask_time_prob: "prob",
  mask_time_length: "posint",
  num_negatives: "nonnegint",
  contrastive_logits_temperature: "posnum",
  diversity_loss_weight: "posnum",
};

function checkField(name: string, kind: FieldKind, v: unknown): void {
  const bad = (what: string): never => {
    throw new UserError(`wav2vec2 config: "${name}" must be ${what}, got ${JSON.stringify(v)}`);
  };
  switch (kind) {
    case "posint":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1) bad("a positive integer");
      break;
    case "nonnegint":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) bad("a non-negative integer");
      break;
    case "posnum":
      if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) bad("a positive number");
      break;
    case "prob":
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) bad("a number in [0, 1]");
      break;
    case "bool":
      if (typeof v !== "boolean") bad("true or false");
      break;
    case "intlist":
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 1)) {
        bad("a non-empty list of positive integers");
      }
      break;
  }
}

/**
 * Reads a wav2vec2 config from a parsed config.json object (HF format). Unknown fields (dropout
 * rates, architectures, vocab_size, ...) are ignored; missing fields take HF's defaults. Throws a
 * UserError naming the field for anything malformed or unsupported.
 */
export function parseWav2Vec2Config(json: unknown): Wav2Vec2Config {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new UserError("wav2vec2 config: expected a JSON object");
  }
  const obj = json as Record<string, unknown>;
  if (obj.model_type !== undefined && obj.model_type !== "wav2vec2") {
    throw new UserError(`wav2vec2 config: model_type is "${String(obj.model_type)}", expected "wav2vec2"`);
  }
  const out = cloneConfig(HF_DEFAULTS) as unknown as Record<string, unknown>;
  for (const key of Object.keys(HF_DEFAULTS)) {
    if (obj[key] !== undefined && obj[key] !== null) {
      out[key] = Array.isArray(obj[key]) ? [...(obj[key] as unknown[])] : obj[key];
    }
  }
  // The feature encoder's activation is a separate HF field; only GELU is implemented.
  for (const act of ["hidden_act", "feat_extract_activation"] as const) {
    if (obj[act] !== undefined && obj[act] !== "gelu") {
      throw new UserError(`wav2vec2 config: ${act} "${String(obj[act])}" is not supported (only "gelu")`);
    }
  }
  if (obj.num_feat_extract_layers !== undefined && Array.isArray(obj.conv_dim) && obj.num_feat_extract_layers !== obj.conv_dim.length) {
    throw new UserError("wav2vec2 config: num_feat_extract_layers does not match the length of conv_dim");
  }
  // Adapters add parameters and change outputs; this project does not support them.
  if (obj.add_adapter === true || (obj.adapter_attn_dim !== undefined && obj.adapter_attn_dim !== null)) {
    throw new UserError("wav2vec2 config: adapters (add_adapter / adapter_attn_dim) are not supported");
  }
  return validateConfig(out as unknown as Wav2Vec2Config);
}

/** Checks types and cross-field consistency; returns the same object. */
export function validateConfig(c: Wav2Vec2Config): Wav2Vec2Config {
  const rec = c as unknown as Record<string, unknown>;
  for (const [name, kind] of Object.entries(FIELD_KINDS)) checkField(name, kind, rec[name]);
  if (c.feat_extract_norm !== "group" && c.feat_extract_norm !== "layer") {
    throw new UserError(`wav2vec2 config: feat_extract_norm must be "group" or "layer", got ${JSON.stringify(c.feat_extract_norm)}`);
  }
  if (c.hidden_act !== "gelu") {
    throw new UserError(`wav2vec2 config: hidden_act "${String(c.hidden_act)}" is not supported (only "gelu")`);
  }
  if (c.conv_kernel.length !== c.conv_dim.length || c.conv_stride.length !== c.conv_dim.length) {
    throw new UserError(
      `wav2vec2 config: conv_dim, conv_kernel and conv_stride must have the same length ` +
        `(got ${c.conv_dim.length}, ${c.conv_kernel.length}, ${c.conv_stride.length})`,
    );
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new UserError(`wav2vec2 config: hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`);
  }
  if (c.hidden_size % c.num_conv_pos_embedding_groups !== 0) {
    throw new UserError(
      `wav2vec2 config: hidden_size ${c.hidden_size} is not divisible by num_conv_pos_embedding_groups ${c.num_conv_pos_embedding_groups}`,
    );
  }
  if (c.codevector_dim % c.num_codevector_groups !== 0) {
    throw new UserError(`wav2vec2 config: codevector_dim ${c.codevector_dim} is not divisible by num_codevector_groups ${c.num_codevector_groups}`);
  }
  return c;
}

/** The config as a config.json object HF `Wav2Vec2Config.from_dict` accepts. */
export function configToJson(c: Wav2Vec2Config): Record<string, unknown> {
  return {
    model_type: "wav2vec2",
    architectures: ["Wav2Vec2Model"],
    ...cloneConfig(c),
    num_feat_extract_layers: c.conv_dim.length,
    feat_extract_activation: "gelu",
  };
}

/** Number of frames the feature encoder produces for `samples` input samples (0 if too short). */
export function numFrames(c: Wav2Vec2Config, samples: number): number {
  let len = samples;
  for (let i = 0; i < c.conv_kernel.length; i++) {
    if (len < c.conv_kernel[i]) return 0;
    len = Math.floor((len - c.conv_kernel[i]) / c.conv_stride[i]) + 1;
  }
  return len;
}

/** Samples between consecutive frames (320 for base = 20 ms at 16 kHz). */
export function frameHop(c: Wav2Vec2Config): number {
  return c.conv_stride.reduce((a, b) => a * b, 1);
}

/** Samples seen by one frame (400 for base). Also the shortest input that gives one frame. */
export function receptiveField(c: Wav2Vec2Config): number {
  let rf = 1;
  for (let i = c.conv_kernel.length - 1; i >= 0; i--) rf = (rf - 1) * c.conv_stride[i] + c.conv_kernel[i];
  return rf;
}

/** Multiply-adds of one forward pass over `samples` of audio (batch 1), by part; elementwise ops not counted. */
export interface ForwardMacs {
  featureEncoder: number;
  featureProjection: number;
  positionalConv: number;
  transformer: number;
  total: number;
}

/**
 * Multiply-adds of the inference graph: each conv layer T_out x C_out x C_in x kernel, the feature
 * projection, the grouped positional conv (hidden / groups inputs per output), and per transformer
 * layer q/k/v/out projections (4 T H^2), scores and context (2 T^2 H) and the FFN (2 T H I).
 * FLOPs are twice this. Used to compare a measured run with the machine's MatMul rate.
 */
export function forwardMacs(c: Wav2Vec2Config, samples: number): ForwardMacs {
  let len = samples;
  let inChannels = 1;
  let featureEncoder = 0;
  for (let i = 0; i < c.conv_kernel.length; i++) {
    len = len < c.conv_kernel[i] ? 0 : Math.floor((len - c.conv_kernel[i]) / c.conv_stride[i]) + 1;
    featureEncoder += len * c.conv_dim[i] * inChannels * c.conv_kernel[i];
    inChannels = c.conv_dim[i];
  }
  const T = len;
  const H = c.hidden_size;
  const featureProjection = T * inChannels * H;
  const positionalConv = T * H * (H / c.num_conv_pos_embedding_groups) * c.num_conv_pos_embeddings;
  const transformer = c.num_hidden_layers * (4 * T * H * H + 2 * T * T * H + 2 * T * H * c.intermediate_size);
  return { featureEncoder, featureProjection, positionalConv, transformer, total: featureEncoder + featureProjection + positionalConv + transformer };
}
