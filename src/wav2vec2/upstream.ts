/**
 * A wav2vec 2.0 model (config + HF-named parameters) as a project `Upstream`, run by
 * onnxruntime-node on the graph built by onnx-export.ts. Exposes all num_hidden_layers + 1 hidden
 * states (HF `output_hidden_states`), at 16000 / prod(conv_stride) frames per second (50 for base).
 */
import { createHash } from "node:crypto";
import { DEFAULT_MAX_BATCH_SAMPLES, emptyHiddenStates, sessionUpstreamMethods, type BatchUpstream } from "../onnx-upstream.js";
import type { HiddenStates } from "../upstream.js";
import { SAMPLE_RATE } from "../upstream.js";
import { frameHop, receptiveField, type Wav2Vec2Config } from "./config.js";
import { createOnnxSession, rowHiddenStates, runHiddenStates, type OnnxSessionOptions } from "./onnx-export.js";
import { zeroMeanUnitVariance } from "./normalize.js";
import { paramSpecs, validateParams, type ParamTensor } from "./params.js";

export interface Wav2Vec2UpstreamOptions extends OnnxSessionOptions {
  /** Bound on batch x samples of one ONNX run in extractHiddenStatesBatch (default 64 s of audio). */
  maxBatchSamples?: number;
  /**
   * Normalise each input to zero mean / unit variance before the model (HF `do_normalize`, read
   * from preprocessor_config.json by loadHfFolder). Default false: raw input_values.
   */
  normalizeInput?: boolean;
}

export interface Wav2Vec2Upstream extends BatchUpstream {
  readonly config: Wav2Vec2Config;
}

/**
 * `${name}-${first 12 hex of sha256}` over the config JSON and, in HF state_dict order, every
 * parameter's name, shape and float32 bytes. An int8-quantised graph computes different features,
 * so `quantize` is hashed too when it is not "none".
 */
export function wav2vec2Identity(
  name: string,
  config: Wav2Vec2Config,
  params: ReadonlyMap<string, ParamTensor>,
  opts: Pick<Wav2Vec2UpstreamOptions, "quantize" | "normalizeInput"> = {},
): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify(config));
  if (opts.quantize !== undefined && opts.quantize !== "none") hash.update(`\0quantize=${opts.quantize}`);
  if (opts.normalizeInput) hash.update("\0normalizeInput");
  for (const spec of paramSpecs(config)) {
    const p = params.get(spec.name);
    if (p === undefined) throw new Error(`internal: missing ${spec.name}`);
    hash.update(`\0${spec.name}[${p.shape.join(",")}]\0`);
    hash.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  }
  return `${name}-${hash.digest("hex").slice(0, 12)}`;
}

/**
 * Builds the ONNX graph and one inference session. Parameters are validated against the config
 * (UserError on mismatch); extra entries such as pre-training heads are ignored.
 */
export async function createWav2Vec2Upstream(
  name: string,
  config: Wav2Vec2Config,
  params: ReadonlyMap<string, ParamTensor>,
  opts: Wav2Vec2UpstreamOptions = {},
): Promise<Wav2Vec2Upstream> {
  validateParams(params, config);
  const identity = wav2vec2Identity(name, config, params, opts);
  const session = await createOnnxSession(config, params, opts);
  const numLayers = config.num_hidden_layers + 1;
  const dim = config.hidden_size;
  const minSamples = receptiveField(config);
  const maxBatchSamples = opts.maxBatchSamples ?? DEFAULT_MAX_BATCH_SAMPLES;

  const runRows = async (rows: Float32Array[]): Promise<HiddenStates[]> => {
    // Shorter than the receptive field: no frame (the graph itself would fail in a Conv).
    if (rows[0].length < minSamples) return rows.map(() => emptyHiddenStates(numLayers, dim));
    if (opts.normalizeInput) rows = rows.map(zeroMeanUnitVariance);
    const out = await runHiddenStates(session, rows.length === 1 ? rows[0] : rows);
    if (rows.length === 1) return [rowHiddenStates(out, 0)];
    // Copy each row out so one kept result does not pin the whole batch's buffers.
    return rows.map((_, r) => {
      const view = rowHiddenStates(out, r);
      return { ...view, layers: view.layers.map((l) => l.slice()) };
    });
  };

  return {
    name,
    identity,
    config,
    frameRate: SAMPLE_RATE / frameHop(config),
    numLayers,
    hiddenSize: dim,
    ...sessionUpstreamMethods(`upstream ${name}`, session, maxBatchSamples, runRows),
  };
}
