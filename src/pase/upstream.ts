/**
 * A PASE+ encoder as an upstream: a folder with config.json (config.ts) and model.safetensors
 * (params.ts names), run by onnxruntime. Hidden states: the pooled dense skips of every block,
 * the QRNN path and the summed output, all emb_dim-wide at 100 frames/s.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { UserError } from "../errors.js";
import { readUserFile } from "../fs-atomic.js";
import { DEFAULT_MAX_BATCH_SAMPLES, sessionUpstreamMethods, type BatchUpstream } from "../onnx-upstream.js";
import { decodeSafetensors } from "../safetensors.js";
import type { HiddenStates } from "../upstream.js";
import { zeroMeanUnitVariance } from "../wav2vec2/normalize.js";
import type { ParamMap } from "../wav2vec2/params.js";
import { paseHiddenLayers, paseHop, validatePaseConfig, type PaseConfig } from "./config.js";
import { createPaseSession } from "./onnx-export.js";
import { validatePaseParams } from "./params.js";
import { MAX_QRNN_STEPS } from "./tfjs-model.js";

/** Reads and checks a PASE+ folder; every problem is a UserError naming the file. */
export function loadPaseFolder(dir: string): { config: PaseConfig; params: ParamMap } {
  const configFile = path.join(dir, "config.json");
  const weightsFile = path.join(dir, "model.safetensors");
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(readUserFile(configFile, "a PASE+ config.json")));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${configFile}: not valid JSON (${(err as Error).message})`);
  }
  const config = validatePaseConfig(raw, configFile);
  const { tensors } = decodeSafetensors(readUserFile(weightsFile, "a safetensors file"), weightsFile);
  validatePaseParams(tensors, config, weightsFile);
  return { config, params: tensors };
}

export async function createPaseUpstream(name: string, config: PaseConfig, params: ParamMap): Promise<BatchUpstream> {
  validatePaseParams(params, config);
  const hash = createHash("sha256").update(JSON.stringify(config));
  for (const [k, p] of [...params].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(k).update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  const { session, outputNames } = await createPaseSession(config, params);
  const numLayers = paseHiddenLayers(config);
  const hop = paseHop(config);
  const maxSamples = 2 ** MAX_QRNN_STEPS * hop;
  const runRows = async (rows: Float32Array[]): Promise<HiddenStates[]> => {
    if (rows[0].length > maxSamples) throw new UserError(`upstream ${name}: ${(rows[0].length / config.sample_rate).toFixed(0)} s of audio is longer than the PASE+ graph's ${(maxSamples / config.sample_rate).toFixed(0)} s; split the file`);
    if (rows[0].length === 0) return rows.map(() => ({ layers: Array.from({ length: numLayers }, () => new Float32Array(0)), numFrames: 0, dim: config.emb_dim }));
    const input = rows.map((r) => (config.do_normalize ? zeroMeanUnitVariance(r) : r));
    const data = new Float32Array(input.length * input[0].length);
    input.forEach((r, i) => data.set(r, i * r.length));
    const tensor = new ort.Tensor("float32", data, [rows.length, rows[0].length]);
    const out = await session.run({ input_values: tensor });
    tensor.dispose();
    const frames = out[outputNames[0]].dims[1];
    const n = frames * config.emb_dim;
    return rows.map((_, r) => ({ numFrames: frames, dim: config.emb_dim, layers: outputNames.map((o) => (out[o].data as Float32Array).slice(r * n, (r + 1) * n)) }));
  };
  return {
    name,
    identity: `${name}-${hash.digest("hex").slice(0, 12)}`,
    frameRate: config.sample_rate / hop,
    numLayers,
    hiddenSize: config.emb_dim,
    ...sessionUpstreamMethods(`upstream ${name}`, session, DEFAULT_MAX_BATCH_SAMPLES, runRows),
  };
}

/** True when `dir` holds a PASE+ folder (config.json and model.safetensors). */
export function paseFolderExists(dir: string): boolean {
  return fs.existsSync(path.join(dir, "model.safetensors")) && fs.existsSync(path.join(dir, "config.json"));
}
