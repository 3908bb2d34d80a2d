import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../src/errors.js";
import {
  configToJson,
  forwardMacs,
  frameHop,
  numFrames,
  parseWav2Vec2Config,
  presetConfig,
  receptiveField,
} from "../src/wav2vec2/config.js";
import {
  countParams,
  initParams,
  makeRng,
  normalizeHfParamName,
  paramSpecs,
  validateParams,
  weightNormG,
  weightNormWeight,
} from "../src/wav2vec2/params.js";
import { conv1dChannelsLast } from "../src/wav2vec2/tfjs-model.js";

describe("wav2vec2 config", () => {
  it("counts the multiply-adds of a forward pass by hand", () => {
    const c = {
      ...presetConfig("wav2vec2-base"),
      conv_dim: [4, 6], conv_kernel: [4, 2], conv_stride: [2, 2],
      hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16,
      num_conv_pos_embeddings: 4, num_conv_pos_embedding_groups: 2,
    };
    // 20 samples -> 9 frames (9 x 4 x 1 x 4 = 144) -> 4 frames (4 x 6 x 4 x 2 = 192).
    // Projection 4 x 6 x 8; pos conv 4 x 8 x 4 x 4; layer 4*4*64 + 2*16*8 + 2*4*8*16.
    expect(forwardMacs(c, 20)).toEqual({ featureEncoder: 336, featureProjection: 192, positionalConv: 512, transformer: 2304, total: 3344 });
    // wav2vec2-base on 10 s: about 74 G multiply-adds (148 GFLOP), a third of them in the CNN.
    const base = forwardMacs(presetConfig("wav2vec2-base"), 160000);
    expect(base.total).toBe(74061804544);
    expect(base.featureEncoder / base.total).toBeCloseTo(0.331, 3);
  });

  it("base preset has the published geometry", () => {
    const c = presetConfig("wav2vec2-base");
    expect([c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size]).toEqual([768, 12, 12, 3072]);
    expect(receptiveField(c)).toBe(400);
    expect(frameHop(c)).toBe(320);
    expect(numFrames(c, 16000)).toBe(49);
    expect(numFrames(c, 400)).toBe(1);
    expect(numFrames(c, 399)).toBe(0);
    // HF Wav2Vec2Model(wav2vec2-base) has 94,371,712 parameters (masked_spec_embed included).
    expect(countParams(c)).toBe(94_371_712);
  });

  it("tiny preset keeps the base frame geometry", () => {
    const c = presetConfig("tiny");
    expect(receptiveField(c)).toBe(400);
    expect(numFrames(c, 16000)).toBe(49);
  });

  it("parses a HF config.json, ignoring unrelated fields and defaulting missing ones", () => {
    const c = parseWav2Vec2Config({
      model_type: "wav2vec2",
      architectures: ["Wav2Vec2ForPreTraining"],
      hidden_dropout: 0.1,
      feat_extract_norm: "layer",
      do_stable_layer_norm: true,
      conv_bias: true,
      hidden_size: 1024,
      num_hidden_layers: 24,
      num_attention_heads: 16,
      intermediate_size: 4096,
      num_conv_pos_embeddings: 128,
      feat_extract_activation: "gelu",
      num_feat_extract_layers: 7,
      conv_dim: [512, 512, 512, 512, 512, 512, 512],
    });
    expect(c.hidden_size).toBe(1024);
    expect(c.do_stable_layer_norm).toBe(true);
    expect(c.conv_kernel).toEqual([10, 3, 3, 3, 3, 2, 2]);
    expect(c.num_codevectors_per_group).toBe(320);
    // Round trip.
    expect(parseWav2Vec2Config(configToJson(c))).toEqual(c);
  });

  it.each([
    [{ feat_extract_norm: "batch" }, /feat_extract_norm/],
    [{ conv_kernel: [10, 3] }, /same length/],
    [{ hidden_size: 100, num_attention_heads: 12 }, /divisible by num_attention_heads/],
    [{ hidden_act: "relu" }, /hidden_act/],
    [{ model_type: "hubert" }, /model_type/],
    [{ num_hidden_layers: 2.5 }, /num_hidden_layers/],
    [{ conv_dim: "512" }, /conv_dim/],
    [{ mask_time_prob: 2 }, /mask_time_prob/],
  ])("rejects %j with a clear UserError", (bad, message) => {
    expect(() => parseWav2Vec2Config(bad)).toThrow(UserError);
    expect(() => parseWav2Vec2Config(bad)).toThrow(message);
  });

  // Each of these used to pass (or reach paramSpecs, which would loop 2^32 times) before a bound was checked.
  it.each([
    ["num_hidden_layers", { num_hidden_layers: 2 ** 32 }, "num_hidden_layers must be an integer in [0, 256], got 4294967296"],
    ["hidden_size", { hidden_size: -1 }, "hidden_size must be an integer in [1, 16384], got -1"],
    ["hidden_size", { hidden_size: "768" }, 'hidden_size must be an integer in [1, 16384], got "768"'],
    ["intermediate_size", { intermediate_size: 1e9 }, "intermediate_size must be an integer in [1, 65536], got 1000000000"],
    ["num_attention_heads", { num_attention_heads: 0 }, "num_attention_heads must be an integer in [1, 1024], got 0"],
    ["conv_stride", { conv_stride: [1e308, 2, 2, 2, 2, 2, 2] }, "conv_stride must be a list of 1 to 32 integers in [1, 1024], got 1e+308 at index 0"],
    ["conv_kernel", { conv_kernel: [10, 3, 3, 3, 3, 2, 2000] }, "conv_kernel must be a list of 1 to 32 integers in [1, 1024], got 2000 at index 6"],
    ["conv_dim", { conv_dim: new Array(1_000_000).fill(512) }, "conv_dim must be a list of 1 to 32 integers in [1, 16384], got a list of 1000000 entries"],
    ["conv list lengths", { conv_dim: [512, 512], conv_kernel: [10, 3], conv_stride: [5, 2, 2] }, "conv_dim, conv_kernel and conv_stride must have the same length (got 2, 2, 3)"],
    ["layer_norm_eps", { layer_norm_eps: 0 }, "layer_norm_eps must be a number in (0, 1], got 0"],
    ["layer_norm_eps", { layer_norm_eps: "1e-5" }, 'layer_norm_eps must be a number in (0, 1], got "1e-5"'],
    ["contrastive_logits_temperature", { contrastive_logits_temperature: 1e308 }, "contrastive_logits_temperature must be a number in (0, 1000000], got 1e+308"],
    ["mask_time_length", { mask_time_length: 1e6 }, "mask_time_length must be an integer in [1, 4096], got 1000000"],
    ["num_negatives", { num_negatives: 2 ** 31 }, "num_negatives must be an integer in [0, 4096], got 2147483648"],
    ["hidden_dropout", { hidden_dropout: 1.5 }, "hidden_dropout must be a number in [0, 1], got 1.5"],
    ["layerdrop", { layerdrop: "0.1" }, 'layerdrop must be a number in [0, 1], got "0.1"'],
  ])("bounds every numeric field: %s", (_field, bad, problem) => {
    let caught: unknown;
    try {
      parseWav2Vec2Config(bad);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).message).toBe(`wav2vec2 config: ${problem}`);
  });

  it("the largest published geometry (XLS-R 2B: 48 x 1920, 16 heads) is within the bounds", () => {
    const c = parseWav2Vec2Config({ hidden_size: 1920, num_hidden_layers: 48, num_attention_heads: 16, intermediate_size: 7680, hidden_dropout: 0, layerdrop: null });
    expect([c.hidden_size, c.num_hidden_layers]).toEqual([1920, 48]);
  });
});

describe("wav2vec2 params", () => {
  it("uses HF names and PyTorch shapes", () => {
    const c = presetConfig("wav2vec2-base");
    const shapes = new Map(paramSpecs(c).map((s) => [s.name, s.shape]));
    expect(shapes.get("feature_extractor.conv_layers.0.conv.weight")).toEqual([512, 1, 10]);
    expect(shapes.get("feature_extractor.conv_layers.1.conv.weight")).toEqual([512, 512, 3]);
    expect(shapes.get("feature_extractor.conv_layers.0.layer_norm.weight")).toEqual([512]);
    expect(shapes.has("feature_extractor.conv_layers.1.layer_norm.weight")).toBe(false);
    expect(shapes.has("feature_extractor.conv_layers.0.conv.bias")).toBe(false);
    expect(shapes.get("feature_projection.projection.weight")).toEqual([768, 512]);
    expect(shapes.get("encoder.pos_conv_embed.conv.weight_g")).toEqual([1, 1, 128]);
    expect(shapes.get("encoder.pos_conv_embed.conv.weight_v")).toEqual([768, 48, 128]);
    expect(shapes.get("encoder.layers.11.feed_forward.intermediate_dense.weight")).toEqual([3072, 768]);
    expect(shapes.get("encoder.layers.11.final_layer_norm.bias")).toEqual([768]);
    expect(shapes.get("masked_spec_embed")).toEqual([768]);
    const large = presetConfig("wav2vec2-base", { feat_extract_norm: "layer", conv_bias: true });
    const names = new Set(paramSpecs(large).map((s) => s.name));
    expect(names.has("feature_extractor.conv_layers.6.layer_norm.bias")).toBe(true);
    expect(names.has("feature_extractor.conv_layers.6.conv.bias")).toBe(true);
    const pre = new Map(paramSpecs(c, { pretraining: true }).map((s) => [s.name, s.shape]));
    expect(pre.get("quantizer.codevectors")).toEqual([1, 640, 128]);
    expect(pre.get("quantizer.weight_proj.weight")).toEqual([640, 512]);
    expect(pre.get("project_hid.weight")).toEqual([256, 768]);
  });

  it("initialises deterministically, with g = ||v|| per kernel tap", () => {
    const c = presetConfig("tiny");
    const a = initParams(c, 42);
    const b = initParams(c, 42);
    const d = initParams(c, 43);
    for (const [name, p] of a) expect(b.get(name)?.data).toEqual(p.data);
    expect(d.get("encoder.layers.0.attention.q_proj.weight")?.data).not.toEqual(a.get("encoder.layers.0.attention.q_proj.weight")?.data);
    const v = a.get("encoder.pos_conv_embed.conv.weight_v");
    const g = a.get("encoder.pos_conv_embed.conv.weight_g");
    if (v === undefined || g === undefined) throw new Error("missing");
    expect(Array.from(g.data)).toEqual(Array.from(weightNormG(v).data));
    const w = weightNormWeight(g, v);
    for (let i = 0; i < w.data.length; i++) expect(w.data[i]).toBeCloseTo(v.data[i], 5);
    expect(() => validateParams(a, c)).not.toThrow();
  });

  it("reports missing and mis-shaped parameters", () => {
    const c = presetConfig("tiny");
    const p = initParams(c, 1);
    p.delete("encoder.layer_norm.bias");
    p.set("feature_projection.projection.weight", { shape: [32, 64], data: new Float32Array(32 * 64) });
    expect(() => validateParams(p, c)).toThrow(/feature_projection\.projection\.weight has shape \[32, 64\], expected \[64, 32\]; missing encoder\.layer_norm\.bias/);
  });

  it("maps HF state_dict names", () => {
    expect(normalizeHfParamName("wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0")).toBe("encoder.pos_conv_embed.conv.weight_g");
    expect(normalizeHfParamName("wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1")).toBe("encoder.pos_conv_embed.conv.weight_v");
    expect(normalizeHfParamName("quantizer.codevectors")).toBe("quantizer.codevectors");
  });
});

describe("im2col conv1d", () => {
  beforeAll(async () => {
    await tf.setBackend("wasm");
  });

  /** Direct PyTorch-semantics Conv1d on channels-last data. */
  function naiveConv(x: Float32Array, B: number, T: number, Cin: number, w: Float32Array, Cout: number, K: number, stride: number, groups: number, pad: number): Float32Array {
    const Cg = Cin / groups;
    const Og = Cout / groups;
    const L = Math.floor((T + 2 * pad - K) / stride) + 1;
    const y = new Float32Array(B * L * Cout);
    for (let b = 0; b < B; b++)
      for (let l = 0; l < L; l++)
        for (let o = 0; o < Cout; o++) {
          const gi = Math.floor(o / Og);
          let s = 0;
          for (let c = 0; c < Cg; c++)
            for (let k = 0; k < K; k++) {
              const t = l * stride + k - pad;
              if (t >= 0 && t < T) s += x[(b * T + t) * Cin + gi * Cg + c] * w[(o * Cg + c) * K + k];
            }
          y[(b * L + l) * Cout + o] = s;
        }
    return y;
  }

  it.each([
    { K: 10, stride: 5, groups: 1, pad: 0, Cin: 1, Cout: 4, T: 57 },
    { K: 3, stride: 2, groups: 1, pad: 0, Cin: 3, Cout: 5, T: 20 },
    { K: 2, stride: 2, groups: 1, pad: 0, Cin: 3, Cout: 2, T: 9 },
    { K: 6, stride: 1, groups: 2, pad: 3, Cin: 4, Cout: 6, T: 11 },
    { K: 5, stride: 3, groups: 3, pad: 2, Cin: 6, Cout: 3, T: 13 },
    { K: 3, stride: 2, groups: 1, pad: 0, Cin: 2, Cout: 3, T: 21 },
    { K: 8, stride: 1, groups: 4, pad: 4, Cin: 8, Cout: 8, T: 7 },
  ])("matches a direct convolution: %j", ({ K, stride, groups, pad, Cin, Cout, T }) => {
    const rng = makeRng(5, "conv");
    const B = 2;
    const x = Float32Array.from({ length: B * T * Cin }, () => rng() * 2 - 1);
    const w = Float32Array.from({ length: (Cout * Cin * K) / groups }, () => rng() * 2 - 1);
    const want = naiveConv(x, B, T, Cin, w, Cout, K, stride, groups, pad);
    const got = tf.tidy(() => conv1dChannelsLast(tf.tensor3d(x, [B, T, Cin]), tf.tensor3d(w, [Cout, Cin / groups, K]), null, stride, groups, pad, pad).dataSync());
    expect(got.length).toBe(want.length);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);

    // The custom gradient against the direct one, for loss = sum(y * R).
    const L = want.length / (B * Cout);
    const R = Float32Array.from({ length: want.length }, () => rng() * 2 - 1);
    const Cg = Cin / groups;
    const Og = Cout / groups;
    const dx = new Float32Array(x.length);
    const dw = new Float32Array(w.length);
    for (let b = 0; b < B; b++)
      for (let l = 0; l < L; l++)
        for (let o = 0; o < Cout; o++) {
          const gi = Math.floor(o / Og);
          const r = R[(b * L + l) * Cout + o];
          for (let c = 0; c < Cg; c++)
            for (let k = 0; k < K; k++) {
              const t = l * stride + k - pad;
              if (t < 0 || t >= T) continue;
              dw[(o * Cg + c) * K + k] += r * x[(b * T + t) * Cin + gi * Cg + c];
              dx[(b * T + t) * Cin + gi * Cg + c] += r * w[(o * Cg + c) * K + k];
            }
        }
    const [gx, gw] = tf.tidy(() => {
      const rT = tf.tensor3d(R, [B, L, Cout]);
      const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.mul(conv1dChannelsLast(xi as tf.Tensor3D, wi, null, stride, groups, pad, pad), rT)));
      return grads([tf.tensor3d(x, [B, T, Cin]), tf.tensor3d(w, [Cout, Cin / groups, K])]).map((t) => t.dataSync());
    });
    for (let i = 0; i < dx.length; i++) expect(gx[i]).toBeCloseTo(dx[i], 4);
    for (let i = 0; i < dw.length; i++) expect(gw[i]).toBeCloseTo(dw[i], 4);
  });
});
