/**
 * The parameter set of a PASE+ encoder, named as pase's PyTorch state_dict (WaveFe) names them,
 * so the safetensors file maps one to one onto a `torch.load`ed checkpoint:
 *
 *   blocks.0.conv.low_hz_, blocks.0.conv.band_hz_     [C0, 1]  SincConv_fast band edges (Hz)
 *   blocks.N.conv.weight [C_N, C_{N-1}, K_N], blocks.N.conv.bias [C_N]   (N >= 1)
 *   blocks.N.norm.{weight,bias,running_mean,running_var} [C_N]          BatchNorm1d
 *   blocks.N.act.weight [C_N]                                            PReLU (one slope per channel)
 *   denseskips.N.weight [emb, C_N, 1]                                    1x1 conv, no bias (N < last)
 *   rnn.layers.0.linear.{weight [3 emb, 2 C_last], bias [3 emb]}         QRNN, window 2 (torchqrnn)
 *   W.weight [emb, emb, 1], W.bias [emb]                                 output 1x1 conv
 *
 * Both runtimes (tfjs for training, ONNX for inference) consume exactly this map.
 */
import { UserError } from "../errors.js";
import { makeRng, numElements, type ParamMap, type ParamTensor } from "../wav2vec2/params.js";
import type { PaseConfig } from "./config.js";

export type PaseInit = "sinc_low" | "sinc_band" | "conv_weight" | "conv_bias" | "ones" | "zeros" | "prelu";

export interface PaseParamSpec {
  name: string;
  shape: number[];
  init: PaseInit;
  fanIn: number;
  /** Not trained by gradient: BatchNorm running statistics. */
  buffer?: boolean;
}

/** Every parameter of the encoder, in state_dict order. */
export function paseParamSpecs(c: PaseConfig): PaseParamSpec[] {
  const specs: PaseParamSpec[] = [];
  const n = c.kwidths.length;
  for (let b = 0; b < n; b++) {
    const C = c.fmaps[b];
    const p = `blocks.${b}`;
    if (b === 0) {
      specs.push({ name: `${p}.conv.low_hz_`, shape: [C, 1], init: "sinc_low", fanIn: 1 });
      specs.push({ name: `${p}.conv.band_hz_`, shape: [C, 1], init: "sinc_band", fanIn: 1 });
    } else {
      const fanIn = c.fmaps[b - 1] * c.kwidths[b];
      specs.push({ name: `${p}.conv.weight`, shape: [C, c.fmaps[b - 1], c.kwidths[b]], init: "conv_weight", fanIn });
      specs.push({ name: `${p}.conv.bias`, shape: [C], init: "conv_bias", fanIn });
    }
    specs.push({ name: `${p}.norm.weight`, shape: [C], init: "ones", fanIn: 1 });
    specs.push({ name: `${p}.norm.bias`, shape: [C], init: "zeros", fanIn: 1 });
    specs.push({ name: `${p}.norm.running_mean`, shape: [C], init: "zeros", fanIn: 1, buffer: true });
    specs.push({ name: `${p}.norm.running_var`, shape: [C], init: "ones", fanIn: 1, buffer: true });
    specs.push({ name: `${p}.act.weight`, shape: [C], init: "prelu", fanIn: 1 });
  }
  if (c.denseskips) {
    for (let b = 0; b < n - 1; b++) specs.push({ name: `denseskips.${b}.weight`, shape: [c.emb_dim, c.fmaps[b], 1], init: "conv_weight", fanIn: c.fmaps[b] });
  }
  const last = c.fmaps[n - 1];
  if (c.rnn_pool) {
    specs.push({ name: "rnn.layers.0.linear.weight", shape: [3 * c.emb_dim, 2 * last], init: "conv_weight", fanIn: 2 * last });
    specs.push({ name: "rnn.layers.0.linear.bias", shape: [3 * c.emb_dim], init: "conv_bias", fanIn: 2 * last });
  }
  const wIn = c.rnn_pool ? c.emb_dim : last;
  specs.push({ name: "W.weight", shape: [c.emb_dim, wIn, 1], init: "conv_weight", fanIn: wIn });
  specs.push({ name: "W.bias", shape: [c.emb_dim], init: "conv_bias", fanIn: wIn });
  return specs;
}

export function countPaseParams(c: PaseConfig): number {
  return paseParamSpecs(c).filter((s) => !s.buffer).reduce((a, s) => a + numElements(s.shape), 0);
}

const toMel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
const toHz = (mel: number): number => 700 * (10 ** (mel / 2595) - 1);

/**
 * SincConv_fast's initial bands: edges evenly spaced on the mel scale from 30 Hz to
 * sr/2 - (min_low_hz + min_band_hz); low_hz_ = the lower edges, band_hz_ = their differences.
 */
export function sincInitialBands(c: PaseConfig): { low: Float32Array; band: Float32Array } {
  const C = c.fmaps[0];
  const lo = toMel(30);
  const hi = toMel(c.sample_rate / 2 - (c.sinc_min_low_hz + c.sinc_min_band_hz));
  const hz = Array.from({ length: C + 1 }, (_, i) => toHz(lo + ((hi - lo) * i) / C));
  return { low: Float32Array.from(hz.slice(0, C)), band: Float32Array.from(hz.slice(1).map((h, i) => h - hz[i])) };
}

/**
 * Deterministic init, PyTorch's defaults: Conv1d/Linear weight and bias U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt 5), BatchNorm 1/0, PReLU 0.25. Each tensor
 * draws from its own stream of (seed, name).
 */
export function initPaseParams(c: PaseConfig, seed: number): ParamMap {
  const bands = sincInitialBands(c);
  const out: ParamMap = new Map();
  for (const s of paseParamSpecs(c)) {
    const size = numElements(s.shape);
    let data: Float32Array;
    if (s.init === "sinc_low") data = bands.low.slice();
    else if (s.init === "sinc_band") data = bands.band.slice();
    else if (s.init === "ones") data = new Float32Array(size).fill(1);
    else if (s.init === "zeros") data = new Float32Array(size);
    else if (s.init === "prelu") data = new Float32Array(size).fill(0.25);
    else {
      const rng = makeRng(seed, s.name);
      const bound = 1 / Math.sqrt(s.fanIn);
      data = Float32Array.from({ length: size }, () => (2 * rng() - 1) * bound);
    }
    out.set(s.name, { shape: [...s.shape], data });
  }
  return out;
}

/** Throws one UserError listing what is missing or misshapen (the first 8 problems). */
export function validatePaseParams(params: ReadonlyMap<string, ParamTensor>, c: PaseConfig, source = "PASE+ parameters"): void {
  const problems: string[] = [];
  for (const s of paseParamSpecs(c)) {
    const p = params.get(s.name);
    if (p === undefined) problems.push(`missing ${s.name}`);
    else if (p.shape.length !== s.shape.length || p.shape.some((d, i) => d !== s.shape[i])) problems.push(`${s.name} has shape [${p.shape.join(", ")}], expected [${s.shape.join(", ")}]`);
    else if (p.data.length !== numElements(s.shape)) problems.push(`${s.name} has ${p.data.length} values for shape [${s.shape.join(", ")}]`);
    else if (!p.data.every(Number.isFinite)) problems.push(`${s.name} holds NaN or infinite values`);
  }
  if (problems.length > 0) throw new UserError(`${source} do not match the config: ${problems.slice(0, 8).join("; ")}${problems.length > 8 ? ` (and ${problems.length - 8} more)` : ""}`);
}
