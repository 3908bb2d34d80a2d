/**
 * The PASE+ encoder of tfjs-model.ts as an ONNX graph (opset 17, standard ops), from the same
 * config + parameter map, for inference in onnxruntime-node.
 *
 * Graph: input `input_values` [batch, samples] float32; outputs `hidden_states.0` ..
 * `hidden_states.L-1`, each [batch, frames, emb_dim] (the pooled dense skips, the QRNN path and
 * the summed output, in the order of paseHiddenStates). BatchNorm uses the running statistics.
 * Export-time folding: the SincNet filters are computed from the band edges once.
 */
import * as ort from "onnxruntime-node";
import { DataType, GraphBuilder, graphProto, modelProto, valueInfo } from "../wav2vec2/onnx-proto.js";
import type { ParamTensor } from "../wav2vec2/params.js";
import { blockPadding, paseHiddenLayers, type PaseConfig } from "./config.js";
import { validatePaseParams } from "./params.js";
import { MAX_QRNN_STEPS, sincGrid } from "./tfjs-model.js";

const ONNX_OPSET = 17;
const IR_VERSION = 8;

/** SincConv_fast's filters [C, 1, K] in float64 arithmetic (see sincFilters in tfjs-model.ts). */
export function sincFilterValues(low: Float32Array, band: Float32Array, c: PaseConfig): Float32Array {
  const K = c.kwidths[0];
  const half = Math.floor(K / 2);
  const { n, window } = sincGrid(K, c.sample_rate);
  const out = new Float32Array(low.length * K);
  for (let ch = 0; ch < low.length; ch++) {
    const lo = Math.abs(low[ch]) + c.sinc_min_low_hz;
    const hi = Math.min(c.sample_rate / 2, Math.max(c.sinc_min_low_hz, lo + c.sinc_min_band_hz + Math.abs(band[ch])));
    const bw = hi - lo;
    const row = out.subarray(ch * K, (ch + 1) * K);
    for (let i = 0; i < half; i++) {
      const v = ((Math.sin(hi * n[i]) - Math.sin(lo * n[i])) / (n[i] / 2)) * window[i];
      row[i] = v / (2 * bw);
      row[K - 1 - i] = v / (2 * bw);
    }
    row[half] = 1; // 2 bw / (2 bw)
  }
  return out;
}

function transposeWeight(p: ParamTensor, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let col = 0; col < cols; col++) out[col * rows + r] = p.data[r * cols + col];
  return out;
}

/** Serialises the encoder to ONNX ModelProto bytes; the parameters are validated first. */
export function buildPaseOnnxModel(c: PaseConfig, params: ReadonlyMap<string, ParamTensor>): Uint8Array {
  validatePaseParams(params, c);
  const g = new GraphBuilder();
  const P = (name: string): ParamTensor => params.get(name)!;
  const W = (name: string): string => g.init(name, P(name).shape, P(name).data);
  const N = c.kwidths.length;
  const H = c.emb_dim;
  /** [B, T, C] -> delayed by k frames along T, the first k filled with `fill`. */
  const delay = (x: string, k: number, fill: number, T: string): string =>
    g.op("Slice", [g.op("Pad", [x, g.ints([0, k, 0, 0, 0, 0]), g.scalar(fill)]), g.ints([0]), T, g.ints([1])]);
  const framesOf = (x: string): string => g.op("Gather", [g.op("Shape", [x]), g.ints([1])], [{ name: "axis", int: 0 }]);
  /** x [B, T, in] times a 1x1 conv / linear weight [out, in(, 1)] (+ bias). */
  const matmul = (x: string, name: string, outDim: number, inDim: number, bias?: string): string => {
    const y = g.op("MatMul", [x, g.init(`${name}.T`, [inDim, outDim], transposeWeight(P(name), outDim, inDim))]);
    return bias === undefined ? y : g.op("Add", [y, W(bias)]);
  };

  let h = g.op("Unsqueeze", ["input_values", g.ints([1])]); // [B, 1, S]
  const skips: string[] = [];
  for (let n = 0; n < N; n++) {
    const pre = `blocks.${n}`;
    const [padL, padR] = blockPadding(c.kwidths[n]);
    const weight = n === 0
      ? g.init(`${pre}.conv.sinc_filters`, [c.fmaps[0], 1, c.kwidths[0]], sincFilterValues(P(`${pre}.conv.low_hz_`).data, P(`${pre}.conv.band_hz_`).data, c))
      : W(`${pre}.conv.weight`);
    const convInputs = n === 0 ? [h, weight] : [h, weight, W(`${pre}.conv.bias`)];
    h = g.op("Conv", convInputs, [{ name: "kernel_shape", ints: [c.kwidths[n]] }, { name: "strides", ints: [c.strides[n]] }, { name: "pads", ints: [padL, padR] }]);
    h = g.op("BatchNormalization", [h, W(`${pre}.norm.weight`), W(`${pre}.norm.bias`), W(`${pre}.norm.running_mean`), W(`${pre}.norm.running_var`)], [{ name: "epsilon", float: c.batch_norm_eps }]);
    h = g.op("PRelu", [h, g.init(`${pre}.act.weight.c1`, [c.fmaps[n], 1], P(`${pre}.act.weight`).data)]);
    if (c.denseskips && n < N - 1) {
      const factor = c.strides.slice(n + 1).reduce((a, s) => a * s, 1);
      // Pool, then project: the bias-free 1x1 conv commutes with a window mean, and is then run
      // on 1/factor of the frames.
      const pooled = factor > 1 ? g.op("AveragePool", [h], [{ name: "kernel_shape", ints: [factor] }, { name: "strides", ints: [factor] }, { name: "ceil_mode", int: 1 }]) : h;
      const s = g.op("Conv", [pooled, W(`denseskips.${n}.weight`)], [{ name: "kernel_shape", ints: [1] }]);
      skips.push(g.op("Transpose", [s], [{ name: "perm", ints: [0, 2, 1] }]));
    }
  }
  let top = g.op("Transpose", [h], [{ name: "perm", ints: [0, 2, 1] }]); // [B, F, C]
  const last = c.fmaps[N - 1];
  if (c.rnn_pool) {
    const T = framesOf(top);
    const source = g.op("Concat", [top, delay(top, 1, 0, T)], [{ name: "axis", int: 2 }]);
    const y = matmul(source, "rnn.layers.0.linear.weight", 3 * H, 2 * last, "rnn.layers.0.linear.bias");
    const [z, f, o] = g.opMulti("Split", [y, g.ints([H, H, H])], 3, [{ name: "axis", int: 2 }]);
    const fs = g.op("Sigmoid", [f]);
    let A = g.op("Sub", [g.scalar(1), fs]);
    let Bv = g.op("Mul", [fs, g.op("Tanh", [z])]);
    // The doubling scan of linearRecurrence; steps past the input's length are exact identities.
    for (let step = 0, k = 1; step < MAX_QRNN_STEPS; step++, k *= 2) {
      const nextB = g.op("Add", [g.op("Mul", [A, delay(Bv, k, 0, T)]), Bv]);
      A = g.op("Mul", [A, delay(A, k, 1, T)]);
      Bv = nextB;
    }
    top = g.op("Mul", [g.op("Sigmoid", [o]), Bv]);
  }
  const wIn = c.rnn_pool ? H : last;
  const out = (i: number): string => `hidden_states.${i}`;
  const L = paseHiddenLayers(c);
  top = g.op("Add", [g.op("MatMul", [top, g.init("W.weight.T", [wIn, H], transposeWeight(P("W.weight"), H, wIn))]), W("W.bias")], [], c.denseskips ? undefined : out(0));
  if (c.denseskips) {
    skips.forEach((s, i) => g.op("Identity", [s], [], out(i)));
    g.op("Identity", [top], [], out(skips.length));
    skips.reduce((acc, s, i) => g.op("Add", [acc, s], [], i === skips.length - 1 ? out(L - 1) : undefined), top);
  }
  const graph = graphProto({
    name: "pase_plus",
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [valueInfo("input_values", DataType.FLOAT, ["batch", "samples"])],
    outputs: Array.from({ length: L }, (_, i) => valueInfo(out(i), DataType.FLOAT, ["batch", "frames", H])),
  });
  return modelProto({ irVersion: IR_VERSION, opsets: [{ domain: "", version: ONNX_OPSET }], producerName: "superb", producerVersion: "0.1.0", docString: "PASE+ encoder hidden states", graph });
}

/** An onnxruntime CPU session on the encoder graph, and its output names. */
export async function createPaseSession(c: PaseConfig, params: ReadonlyMap<string, ParamTensor>, threads = 2): Promise<{ session: ort.InferenceSession; outputNames: string[] }> {
  const session = await ort.InferenceSession.create(buildPaseOnnxModel(c, params), {
    executionProviders: ["cpu"],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  return { session, outputNames: Array.from({ length: paseHiddenLayers(c) }, (_, i) => `hidden_states.${i}`) };
}
