/**
 * HuggingFace model folders: `config.json` + `model.safetensors` (or a sharded
 * `model.safetensors.index.json`), read and written so that a folder this project writes loads
 * back with `Wav2Vec2Model.from_pretrained(dir)` (or `Wav2Vec2ForPreTraining` when it holds the
 * pre-training heads), and any HF wav2vec2 folder loads here.
 *
 * Pickle checkpoints (pytorch_model.bin, fairseq .pt, Lightning .ckpt) are refused: unpickling can
 * execute arbitrary code.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { oneLine, UserError } from "../errors.js";
import { readSafetensors, encodeSafetensors, type TensorMap } from "../safetensors.js";
import { readUserFile } from "../fs-atomic.js";
import { CONFIG_SUBJECT, configToJson, parseWav2Vec2Config, type Wav2Vec2Config } from "./config.js";
import { normalizeHfParamName, paramSpecs, validateParams, weightNormG, type ParamMap, type ParamTensor } from "./params.js";

export const CONFIG_FILE = "config.json";
export const WEIGHTS_FILE = "model.safetensors";
export const SHARDED_INDEX_FILE = "model.safetensors.index.json";

/**
 * Top-level modules of HF wav2vec2 task heads, which are not part of `Wav2Vec2Model`: CTC
 * (lm_head), pre-training (quantizer, project_q, project_hid; dropout_features has no weights),
 * sequence / frame classification and x-vector (projector, classifier, layer_weights, tdnn,
 * objective). They are ignored when loading a checkpoint without the `wav2vec2.` prefix.
 */
const HEAD_PREFIXES = ["lm_head.", "quantizer.", "project_q.", "project_hid.", "projector.", "classifier.", "tdnn.", "objective."];
const HEAD_NAMES = new Set(["layer_weights"]);
const PRETRAINING_PREFIXES = ["quantizer.", "project_q.", "project_hid."];
/** Namespaces of the encoder itself: an unexpected key here means an unsupported architecture variant. */
const ENCODER_PREFIXES = ["feature_extractor.", "feature_projection.", "encoder.", "masked_spec_embed"];

const PICKLE_EXTENSIONS = [".bin", ".pt", ".pth", ".ckpt", ".pkl"];

export interface LoadHfOptions {
  /**
   * Also load (and require) the Wav2Vec2ForPreTraining heads: quantizer.*, project_q.*,
   * project_hid.*. Default false: they are ignored if present.
   */
  pretraining?: boolean;
}

export interface HfFolder {
  config: Wav2Vec2Config;
  /** Project names (no `wav2vec2.` prefix, weight_g/weight_v), exactly the tensors of paramSpecs. */
  params: ParamMap;
  /** The safetensors `__metadata__` (of the first shard when sharded). */
  metadata: Record<string, string>;
  /** Keys of the file that were not loaded (task heads, or pre-training heads when not wanted). */
  ignoredKeys: string[];
  /**
   * `do_normalize` of preprocessor_config.json: the model expects each input normalised to zero
   * mean / unit variance. False when the file is absent (raw input_values).
   */
  doNormalize: boolean;
}

export const PREPROCESSOR_FILE = "preprocessor_config.json";

/** Reads `do_normalize` from `<dir>/preprocessor_config.json` (false when the file is absent). */
export function readDoNormalize(dir: string): boolean {
  const file = path.join(dir, PREPROCESSOR_FILE);
  if (!fs.existsSync(file)) return false;
  const v = readJsonObject(file).do_normalize;
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new UserError(`${file}: do_normalize must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** config.json and the shard index are kilobytes (hundreds with thousands of labels or tensors); 16 MiB is neither. */
const MAX_JSON_BYTES = 16 << 20;

/** A JSON object from a file; unreadable, oversized, invalid or non-object content is a UserError naming it. */
function readJsonObject(file: string): Record<string, unknown> {
  const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  if (size > MAX_JSON_BYTES) throw new UserError(file, `${size} bytes is too large for a JSON config (limit ${MAX_JSON_BYTES})`);
  const text = Buffer.from(readUserFile(file, "a JSON file")).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${oneLine(err)})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new UserError(`${file}: expected a JSON object`);
  return json as Record<string, unknown>;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Reads `<dir>/config.json` and validates it as a wav2vec2 config (UserErrors name the file). */
export function readHfConfig(dir: string): Wav2Vec2Config {
  const file = path.join(dir, CONFIG_FILE);
  if (!fs.existsSync(file)) {
    throw new UserError(`${dir}: no ${CONFIG_FILE} (expected a HuggingFace model folder with ${CONFIG_FILE} and ${WEIGHTS_FILE})`);
  }
  return readWav2Vec2ConfigFile(file);
}

/** Reads and validates a wav2vec2 config JSON file (`config.json`, `superb pretrain --config`); UserErrors name the file. */
export function readWav2Vec2ConfigFile(file: string): Wav2Vec2Config {
  const json = readJsonObject(file);
  try {
    return parseWav2Vec2Config(json);
  } catch (err) {
    // "wav2vec2 config: <problem>" becomes "<file>: <problem>".
    if (err instanceof UserError) throw new UserError(file, err.subject === CONFIG_SUBJECT ? err.message.slice(CONFIG_SUBJECT.length + 2) : err.message);
    throw err;
  }
}

/** The weight files of the folder: [model.safetensors] or the shards named by the index. */
function weightFiles(dir: string): string[] {
  const single = path.join(dir, WEIGHTS_FILE);
  if (fs.existsSync(single)) return [single];
  const indexFile = path.join(dir, SHARDED_INDEX_FILE);
  if (fs.existsSync(indexFile)) return shardFiles(dir, indexFile);
  const pickles = fs.readdirSync(dir).filter(isPickleCheckpoint).sort();
  if (pickles.length > 0) throw pickleError(dir, pickles);
  throw new UserError(`${dir}: no ${WEIGHTS_FILE} (expected a HuggingFace model folder with ${CONFIG_FILE} and ${WEIGHTS_FILE})`);
}

/** The shards a model.safetensors.index.json names: its weight_map must map tensor names to files in the folder. */
function shardFiles(dir: string, indexFile: string): string[] {
  const weightMap = readJsonObject(indexFile).weight_map;
  if (typeof weightMap !== "object" || weightMap === null || Array.isArray(weightMap)) {
    throw new UserError(indexFile, "weight_map must be an object mapping tensor names to shard files");
  }
  const shards = [...new Set(Object.values(weightMap as Record<string, unknown>))];
  if (shards.length === 0) throw new UserError(`${indexFile}: empty weight_map`);
  return shards.map((s) => {
    // Shard names come from the file; never let them point outside the folder (or hold a NUL, which fs rejects).
    if (typeof s !== "string" || s !== path.basename(s) || !s.endsWith(".safetensors") || s.includes("\0")) {
      throw new UserError(`${indexFile}: invalid shard name ${JSON.stringify(s)}`);
    }
    return path.join(dir, s);
  });
}

/** Trainer state saved next to checkpoints; pickles too, but never model weights. */
const NON_WEIGHT_PICKLES = /^(training_args\.bin|optimizer\.pt|scheduler\.pt|scaler\.pt|rng_state.*\.pth)$/;

function isPickleCheckpoint(file: string): boolean {
  const base = path.basename(file);
  return PICKLE_EXTENSIONS.some((ext) => base.toLowerCase().endsWith(ext)) && !NON_WEIGHT_PICKLES.test(base);
}

function pickleError(where: string, files: readonly string[]): UserError {
  return new UserError(
    `${where}: pickle checkpoints (${files.join(", ")}) are not loaded because they can execute code; ` +
      "convert to safetensors (e.g. `model.save_pretrained(dir, safe_serialization=True)`)",
  );
}

function hasPrefix(name: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => name === p || name.startsWith(p));
}

/**
 * Maps the raw state_dict of a HF checkpoint to project parameters. Accepts keys with or without
 * the `wav2vec2.` prefix, legacy `weight_g`/`weight_v` and `parametrizations.weight.original0/1`
 * names, and a plain `encoder.pos_conv_embed.conv.weight` (weight norm removed), which is turned
 * into the equivalent g/v pair. Task heads are ignored; `masked_spec_embed` (unused by the forward
 * pass, absent when HF's mask probabilities are 0) is zero-filled when missing. Throws a one-line
 * UserError, prefixed by `source`, for missing, mismatched, duplicate or unexpected encoder keys.
 */
export function hfStateDictToParams(
  tensors: ReadonlyMap<string, ParamTensor>,
  config: Wav2Vec2Config,
  source: string,
  opts: LoadHfOptions = {},
): { params: ParamMap; ignoredKeys: string[] } {
  const specs = paramSpecs(config, { pretraining: opts.pretraining });
  const wanted = new Map(specs.map((s) => [s.name, s]));
  const params: ParamMap = new Map();
  const origin = new Map<string, string>();
  const ignoredKeys: string[] = [];
  let plainPosWeight: { key: string; tensor: ParamTensor } | undefined;
  // In a task-model checkpoint (Wav2Vec2ForCTC, ...ForPreTraining, ...ForXVector) the encoder is
  // under `wav2vec2.` and everything else is a head (the x-vector head even has a top-level
  // `feature_extractor.weight`); only the pre-training heads are ever taken from outside it.
  const taskModel = [...tensors.keys()].some((k) => k.startsWith("wav2vec2."));
  for (const [key, tensor] of tensors) {
    const name = normalizeHfParamName(key);
    if (taskModel && !key.startsWith("wav2vec2.") && !(hasPrefix(name, PRETRAINING_PREFIXES) && wanted.has(name))) {
      ignoredKeys.push(key);
      continue;
    }
    if (name === "encoder.pos_conv_embed.conv.weight") {
      plainPosWeight = { key, tensor };
      continue;
    }
    if (!wanted.has(name)) {
      const isHead = hasPrefix(name, HEAD_PREFIXES) || HEAD_NAMES.has(name) || hasPrefix(name, PRETRAINING_PREFIXES);
      if (!isHead && hasPrefix(name, ENCODER_PREFIXES)) {
        throw new UserError(
          `${source}: unexpected parameter ${key} [${tensor.shape.join(", ")}] for this config ` +
            `(feat_extract_norm "${config.feat_extract_norm}", conv_bias ${config.conv_bias}, ${config.num_hidden_layers} layers); ` +
            "the checkpoint does not match its config.json or is an unsupported variant",
        );
      }
      ignoredKeys.push(key);
      continue;
    }
    const previous = origin.get(name);
    if (previous !== undefined) throw new UserError(`${source}: keys ${previous} and ${key} both map to ${name}`);
    origin.set(name, key);
    params.set(name, { shape: [...tensor.shape], data: tensor.data });
  }
  if (plainPosWeight !== undefined) {
    const g = "encoder.pos_conv_embed.conv.weight_g";
    const v = "encoder.pos_conv_embed.conv.weight_v";
    if (params.has(g) || params.has(v)) {
      throw new UserError(`${source}: both ${plainPosWeight.key} and weight-normed ${origin.get(g) ?? origin.get(v)} are present`);
    }
    if (plainPosWeight.tensor.shape.length !== 3) {
      throw new UserError(`${source}: ${plainPosWeight.key} has shape [${plainPosWeight.tensor.shape.join(", ")}], expected a 3-d conv weight`);
    }
    // w == g * v / ||v|| holds exactly for v = w, g = ||w|| (weight norm over dims 0, 1).
    const vt: ParamTensor = { shape: [...plainPosWeight.tensor.shape], data: plainPosWeight.tensor.data };
    params.set(v, vt);
    params.set(g, weightNormG(vt));
  }
  if (params.size === 0 || (params.size === 1 && params.has("masked_spec_embed"))) {
    const sample = [...tensors.keys()].slice(0, 3).join(", ");
    const fairseq = [...tensors.keys()].some((k) => k.includes("w2v_model.") || /conv_layers\.\d+\.0\.weight$/.test(k));
    throw new UserError(
      `${source}: no wav2vec2 encoder parameters found (first keys: ${sample || "none"})` +
        (fairseq ? "; this looks like fairseq naming: convert with transformers' convert_wav2vec2_original_pytorch_checkpoint_to_pytorch.py" : ""),
    );
  }
  if (!params.has("masked_spec_embed") && wanted.has("masked_spec_embed")) {
    params.set("masked_spec_embed", { shape: [config.hidden_size], data: new Float32Array(config.hidden_size) });
  }
  try {
    validateParams(params, config, { pretraining: opts.pretraining });
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${source}: ${err.message}`);
    throw err;
  }
  // Keep the spec (HF state_dict) order.
  const ordered: ParamMap = new Map();
  for (const s of specs) ordered.set(s.name, params.get(s.name)!);
  return { params: ordered, ignoredKeys };
}

/**
 * Loads a HF wav2vec2 folder. Every problem is a one-line UserError naming the folder or file:
 * missing folder/config/weights, pickle-only folders, truncated or corrupt safetensors, missing
 * encoder keys or shape mismatches (the first ones are named with both shapes).
 */
export function loadHfFolder(dir: string, opts: LoadHfOptions = {}): HfFolder {
  if (!fs.existsSync(dir)) throw new UserError(`${dir}: no such folder`);
  if (!isDirectory(dir)) {
    if (isPickleCheckpoint(dir)) throw pickleError(dir, [path.basename(dir)]);
    throw new UserError(`${dir}: not a folder; give the HuggingFace model folder holding ${CONFIG_FILE} and ${WEIGHTS_FILE}`);
  }
  const config = readHfConfig(dir);
  const files = weightFiles(dir);
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> | undefined;
  for (const file of files) {
    const st = readSafetensors(file);
    metadata ??= st.metadata;
    for (const [k, t] of st.tensors) {
      if (tensors.has(k)) throw new UserError(`${file}: tensor ${k} also appears in another shard`);
      tensors.set(k, t);
    }
  }
  const source = files.length === 1 ? files[0] : path.join(dir, SHARDED_INDEX_FILE);
  const { params, ignoredKeys } = hfStateDictToParams(tensors, config, source, opts);
  return { config, params, metadata: metadata ?? {}, ignoredKeys, doNormalize: readDoNormalize(dir) };
}

/** True when the map holds all Wav2Vec2ForPreTraining heads (quantizer, project_q, project_hid). */
function hasPretrainingHeads(params: ReadonlyMap<string, ParamTensor>): boolean {
  return [...params.keys()].some((k) => hasPrefix(k, PRETRAINING_PREFIXES));
}

/**
 * Writes `config.json` and `model.safetensors` (metadata {"format": "pt"}, which transformers
 * requires) so that `Wav2Vec2Model.from_pretrained(dir)` loads it. If `params` holds the
 * pre-training heads the folder is a `Wav2Vec2ForPreTraining` checkpoint (encoder keys under
 * `wav2vec2.`), otherwise a `Wav2Vec2Model` one (no prefix). Weight norm is saved with the legacy
 * weight_g/weight_v names, which every transformers version reads. Parameters are validated first;
 * a name outside the model's parameter list is an error rather than silently dropped.
 *
 * Both files are written to temporary names first and then renamed (weights, then config), so a
 * reader never sees a partial file.
 */
export function saveHfFolder(
  dir: string,
  config: Wav2Vec2Config,
  params: ReadonlyMap<string, ParamTensor>,
  extraMetadata: Record<string, string> = {},
): void {
  const pretraining = hasPretrainingHeads(params);
  validateParams(params, config, { pretraining });
  const specs = paramSpecs(config, { pretraining });
  const known = new Set(specs.map((s) => s.name));
  const extra = [...params.keys()].filter((k) => !known.has(k));
  if (extra.length > 0) throw new Error(`saveHfFolder: parameters not in the wav2vec2 model: ${extra.slice(0, 5).join(", ")}`);

  const prefix = pretraining ? "wav2vec2." : "";
  const tensors: TensorMap = new Map();
  for (const s of specs) {
    const p = params.get(s.name)!;
    const key = pretraining && hasPrefix(s.name, PRETRAINING_PREFIXES) ? s.name : `${prefix}${s.name}`;
    tensors.set(key, { shape: [...p.shape], data: p.data });
  }
  const metadata = { ...extraMetadata, format: "pt" };
  const configJson = {
    ...configToJson(config),
    architectures: [pretraining ? "Wav2Vec2ForPreTraining" : "Wav2Vec2Model"],
    torch_dtype: "float32",
  };

  fs.mkdirSync(dir, { recursive: true });
  const targets = [
    { file: path.join(dir, WEIGHTS_FILE), data: encodeSafetensors(tensors, metadata) },
    { file: path.join(dir, CONFIG_FILE), data: Buffer.from(`${JSON.stringify(configJson, null, 2)}\n`, "utf8") },
  ];
  const tmps = targets.map((t) => path.join(dir, `.${path.basename(t.file)}.${process.pid}.tmp`));
  try {
    targets.forEach((t, i) => fs.writeFileSync(tmps[i], t.data));
    targets.forEach((t, i) => fs.renameSync(tmps[i], t.file));
  } catch (err) {
    for (const tmp of tmps) fs.rmSync(tmp, { force: true });
    throw err;
  }
}
