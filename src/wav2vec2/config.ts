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

/**
 * Every numeric field is bounded before anything is built from it: an absurd value (2^32 layers,
 * a stride of 1e308) would otherwise hang or exhaust memory in paramSpecs or the model. The bounds
 * are generous: the largest published wav2vec2 (XLS-R 2B) has 48 layers of 1920.
 */
type FieldSpec =
  | { kind: "int"; min: number; max: number }
  | { kind: "num"; min: number; max: number; minExclusive?: boolean }
  | { kind: "bool" }
  | { kind: "intlist"; maxLength: number; min: number; max: number };

const int = (min: number, max: number): FieldSpec => ({ kind: "int", min, max });
const positive = (max: number): FieldSpec => ({ kind: "num", min: 0, max, minExclusive: true });
const MAX_CONV_LAYERS = 32;

const FIELD_SPECS: Record<Exclude<keyof Wav2Vec2Config, "feat_extract_norm" | "hidden_act">, FieldSpec> = {
  conv_dim: { kind: "intlist", maxLength: MAX_CONV_LAYERS, min: 1, max: 16384 },
  conv_kernel: { kind: "intlist", maxLength: MAX_CONV_LAYERS, min: 1, max: 1024 },
  conv_stride: { kind: "intlist", maxLength: MAX_CONV_LAYERS, min: 1, max: 1024 },
  conv_bias: { kind: "bool" },
  hidden_size: int(1, 16384),
  num_hidden_layers: int(0, 256),
  num_attention_heads: int(1, 1024),
  intermediate_size: int(1, 65536),
  num_conv_pos_embeddings: int(1, 1024),
  num_conv_pos_embedding_groups: int(1, 16384),
  do_stable_layer_norm: { kind: "bool" },
  layer_norm_eps: positive(1),
  num_codevector_groups: int(1, 1024),
  num_codevectors_per_group: int(1, 65536),
  codevector_dim: int(1, 16384),
  proj_codevector_dim: int(1, 16384),
  mask_time_prob: { kind: "num", min: 0, max: 1 },
  mask_time_length: int(1, 4096),
  num_negatives: int(0, 4096),
  contrastive_logits_temperature: positive(1e6),
  diversity_loss_weight: positive(1e6),
};

/** HF fields this model does not use (dropout, feature masking) but that must still be probabilities when set. */
const IGNORED_PROBABILITIES = [
  "hidden_dropout", "attention_dropout", "activation_dropout", "feat_proj_dropout", "feat_quantizer_dropout",
  "final_dropout", "layerdrop", "mask_feature_prob",
];

/** A value as the error shows it: numbers as JS prints them (NaN, 1e+308), the rest as JSON, long lists by length. */
function show(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (Array.isArray(v) && v.length > 8) return `a list of ${v.length} entries`;
  return JSON.stringify(v) ?? String(v);
}

/** The problem with `v` as a value of `name`, or undefined when it fits the spec. */
function fieldProblem(name: string, spec: FieldSpec, v: unknown): string | undefined {
  switch (spec.kind) {
    case "int":
      if (typeof v === "number" && Number.isInteger(v) && v >= spec.min && v <= spec.max) return undefined;
      return `${name} must be an integer in [${spec.min}, ${spec.max}], got ${show(v)}`;
    case "num": {
      if (typeof v === "number" && (spec.minExclusive ? v > spec.min : v >= spec.min) && v <= spec.max) return undefined;
      return `${name} must be a number in ${spec.minExclusive ? "(" : "["}${spec.min}, ${spec.max}], got ${show(v)}`;
    }
    case "bool":
      return typeof v === "boolean" ? undefined : `${name} must be true or false, got ${show(v)}`;
    case "intlist": {
      const what = `${name} must be a list of 1 to ${spec.maxLength} integers in [${spec.min}, ${spec.max}]`;
      if (!Array.isArray(v) || v.length === 0 || v.length > spec.maxLength) return `${what}, got ${show(v)}`;
      const bad = v.findIndex((x) => typeof x !== "number" || !Number.isInteger(x) || x < spec.min || x > spec.max);
      return bad < 0 ? undefined : `${what}, got ${show(v[bad])} at index ${bad}`;
    }
  }
}

/** Errors about a config say "wav2vec2 config" as their subject; readHfConfig puts the file there instead. */
export const CONFIG_SUBJECT = "wav2vec2 config";
const configError = (problem: string): UserError => new UserError(CONFIG_SUBJECT, problem);

/**
 * Reads a wav2vec2 config from a parsed config.json object (HF format). Unknown fields (dropout
 * rates, architectures, vocab_size, ...) are ignored; missing fields take HF's defaults. Throws a
 * UserError naming the field for anything malformed or unsupported.
 */
export function parseWav2Vec2Config(json: unknown): Wav2Vec2Config {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw configError("expected a JSON object");
  }
  const obj = json as Record<string, unknown>;
  if (obj.model_type !== undefined && obj.model_type !== "wav2vec2") {
    throw configError(`model_type is "${String(obj.model_type)}", expected "wav2vec2"`);
  }
  for (const key of IGNORED_PROBABILITIES) {
    const problem = obj[key] === undefined || obj[key] === null ? undefined : fieldProblem(key, { kind: "num", min: 0, max: 1 }, obj[key]);
    if (problem) throw configError(problem);
  }
  const out = cloneConfig(HF_DEFAULTS) as unknown as Record<string, unknown>;
  for (const key of Object.keys(HF_DEFAULTS)) {
    if (obj[key] !== undefined && obj[key] !== null) out[key] = obj[key];
  }
  // Checked before the lists are copied: a hostile config.json may hold millions of entries.
  checkFields(out);
  for (const key of ["conv_dim", "conv_kernel", "conv_stride"]) out[key] = [...(out[key] as number[])];
  // The feature encoder's activation is a separate HF field; only GELU is implemented.
  for (const act of ["hidden_act", "feat_extract_activation"] as const) {
    if (obj[act] !== undefined && obj[act] !== "gelu") {
      throw configError(`${act} "${String(obj[act])}" is not supported (only "gelu")`);
    }
  }
  if (obj.num_feat_extract_layers !== undefined && Array.isArray(obj.conv_dim) && obj.num_feat_extract_layers !== obj.conv_dim.length) {
    throw configError("num_feat_extract_layers does not match the length of conv_dim");
  }
  // Adapters add parameters and change outputs; this project does not support them.
  if (obj.add_adapter === true || (obj.adapter_attn_dim !== undefined && obj.adapter_attn_dim !== null)) {
    throw configError("adapters (add_adapter / adapter_attn_dim) are not supported");
  }
  return validateConfig(out as unknown as Wav2Vec2Config);
}

function checkFields(rec: Record<string, unknown>): void {
  for (const [name, spec] of Object.entries(FIELD_SPECS)) {
    const problem = fieldProblem(name, spec, rec[name]);
    if (problem) throw configError(problem);
  }
}

/** Checks types, bounds and cross-field consistency; returns the same object. */
export function validateConfig(c: Wav2Vec2Config): Wav2Vec2Config {
  checkFields(c as unknown as Record<string, unknown>);
  if (c.feat_extract_norm !== "group" && c.feat_extract_norm !== "layer") {
    throw configError(`feat_extract_norm must be "group" or "layer", got ${JSON.stringify(c.feat_extract_norm)}`);
  }
  if (c.hidden_act !== "gelu") {
    throw configError(`hidden_act "${String(c.hidden_act)}" is not supported (only "gelu")`);
  }
  if (c.conv_kernel.length !== c.conv_dim.length || c.conv_stride.length !== c.conv_dim.length) {
    throw configError(`conv_dim, conv_kernel and conv_stride must have the same length (got ${c.conv_dim.length}, ${c.conv_kernel.length}, ${c.conv_stride.length})`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw configError(`hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${c.num_attention_heads}`);
  }
  if (c.hidden_size % c.num_conv_pos_embedding_groups !== 0) {
    throw configError(`hidden_size ${c.hidden_size} is not divisible by num_conv_pos_embedding_groups ${c.num_conv_pos_embedding_groups}`);
  }
  if (c.codevector_dim % c.num_codevector_groups !== 0) {
    throw configError(`codevector_dim ${c.codevector_dim} is not divisible by num_codevector_groups ${c.num_codevector_groups}`);
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
