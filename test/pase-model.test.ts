import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { blockFrames, paseFrames, paseHiddenLayers, PASE_PLUS, PASE_PLUS_SMALL, PASE_PLUS_TINY, type PaseConfig } from "../src/pase/config.js";
import { createPaseSession, sincFilterValues } from "../src/pase/onnx-export.js";
import { countPaseParams, initPaseParams, sincInitialBands } from "../src/pase/params.js";
import { linearRecurrence, paseHiddenStates, poolFrames, sincConv, sincFilters } from "../src/pase/tfjs-model.js";
import { makeRng, type ParamMap } from "../src/wav2vec2/params.js";
import { conv1dChannelsLast, createTfVariables } from "../src/wav2vec2/tfjs-model.js";

beforeAll(async () => {
  await tf.setBackend("wasm");
  await tf.ready();
});

/** Init, then running statistics and PReLU slopes moved off their defaults so eval-mode BN and PReLU are exercised. */
function perturbedParams(c: PaseConfig, seed: number): ParamMap {
  const params = initPaseParams(c, seed);
  const rng = makeRng(seed, "perturb");
  for (const [name, p] of params) {
    if (name.endsWith("running_mean")) p.data.forEach((_, i) => (p.data[i] = 0.2 * (rng() - 0.5)));
    if (name.endsWith("running_var") || name.endsWith("norm.weight")) p.data.forEach((_, i) => (p.data[i] = 0.5 + rng()));
    if (name.endsWith("act.weight")) p.data.forEach((_, i) => (p.data[i] = rng() * 0.5));
  }
  return params;
}

function speechLike(samples: number, seed: number): Float32Array {
  const rng = makeRng(seed, "audio");
  return Float32Array.from({ length: samples }, (_, i) => Math.sin((2 * Math.PI * 140 * i) / 16000) * 0.5 + 0.2 * Math.sin((2 * Math.PI * 1100 * i) / 16000) + 0.1 * (rng() * 2 - 1));
}

async function onnxStates(c: PaseConfig, params: ParamMap, audio: Float32Array): Promise<ort.Tensor[]> {
  const { session, outputNames } = await createPaseSession(c, params);
  try {
    const out = await session.run({ input_values: new ort.Tensor("float32", audio, [1, audio.length]) });
    return outputNames.map((n) => out[n]);
  } finally {
    await session.release();
  }
}

describe("PASE+ geometry (pase's published encoder)", () => {
  it("1 s of 16 kHz audio gives 100 frames (10 ms); block lengths are the ceil chain of the strides", () => {
    expect(paseFrames(PASE_PLUS, 16000)).toBe(100);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((b) => blockFrames(PASE_PLUS, 16001, b))).toEqual([16001, 1601, 801, 801, 401, 401, 201, 101]);
    expect(paseHiddenLayers(PASE_PLUS)).toBe(9); // 7 dense skips, the QRNN path, the sum
  });

  it("parameter counts: 64..512 channels is about 6.9 M; the shipped half-width model fits 20 MB in float32", () => {
    // Hand count for PASE+: sinc 2*64; convs 64*64*20 + 64*128*11 + 128*128*11 + 128*256*11 + 256*256*11 + 256*512*11 + 512*512*11 (+ biases);
    // BN/PReLU 3 per channel; skips 256*(64+64+128+128+256+256+512); QRNN 1024*768 + 768; W 256*256 + 256.
    const convs = 64 * 64 * 20 + 64 * 128 * 11 + 128 * 128 * 11 + 128 * 256 * 11 + 256 * 256 * 11 + 256 * 512 * 11 + 512 * 512 * 11;
    const biases = 64 + 128 + 128 + 256 + 256 + 512 + 512;
    const perChannel = 3 * (64 + 64 + 128 + 128 + 256 + 256 + 512 + 512);
    const skips = 256 * (64 + 64 + 128 + 128 + 256 + 256 + 512);
    expect(countPaseParams(PASE_PLUS)).toBe(128 + convs + biases + perChannel + skips + 1024 * 768 + 768 + 256 * 256 + 256);
    expect(countPaseParams(PASE_PLUS_SMALL) * 4).toBeLessThan(20e6);
  });

  it("SincNet init: mel-spaced edges from 30 Hz to 7900 Hz, each filter's centre tap 1 and symmetric", () => {
    const { low, band } = sincInitialBands(PASE_PLUS);
    expect(low[0]).toBeCloseTo(30, 3);
    expect(low[63] + band[63]).toBeCloseTo(8000 - 100, 2);
    const f = sincFilterValues(low, band, PASE_PLUS);
    const K = 251;
    for (const ch of [0, 31, 63]) {
      expect(f[ch * K + 125]).toBe(1);
      expect(f[ch * K + 10]).toBeCloseTo(f[ch * K + K - 1 - 10], 6);
    }
    // Hand value for channel 0's centre-adjacent tap: (sin(hi n) - sin(lo n)) / (n / 2) * w / (2 bw) with n = -2 pi / 16000.
    const lo = Math.abs(low[0]) + 50;
    const hi = lo + 50 + Math.abs(band[0]);
    const n = (-2 * Math.PI) / 16000;
    const w = 0.54 - 0.46 * Math.cos((2 * Math.PI * 124.5) / 251);
    expect(f[124]).toBeCloseTo((((Math.sin(hi * n) - Math.sin(lo * n)) / (n / 2)) * w) / (2 * (hi - lo)), 6);
  });
});

describe("PASE+ building blocks in tfjs", () => {
  it("linearRecurrence (doubling scan) equals the sequential c_t = a_t c_{t-1} + b_t", () => {
    const T = 37;
    const rng = makeRng(5, "scan");
    const a = Float32Array.from({ length: T * 2 }, () => rng());
    const b = Float32Array.from({ length: T * 2 }, () => rng() - 0.5);
    const got = linearRecurrence(tf.tensor3d(a, [1, T, 2]), tf.tensor3d(b, [1, T, 2])).dataSync();
    for (let ch = 0; ch < 2; ch++) {
      let c = 0;
      for (let t = 0; t < T; t++) {
        c = a[t * 2 + ch] * c + b[t * 2 + ch];
        expect(got[t * 2 + ch]).toBeCloseTo(c, 5);
      }
    }
  });

  it("poolFrames averages windows of the factor, the last partial window over the frames it has", () => {
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7], [1, 7, 1]);
    expect(Array.from(poolFrames(x, 3, 3).dataSync())).toEqual([2, 5, 7]);
  });

  it("tfjs SincNet filters equal the float64 export values", () => {
    const { low, band } = sincInitialBands(PASE_PLUS);
    const t = sincFilters(tf.tensor2d(low, [64, 1]), tf.tensor2d(band, [64, 1]), PASE_PLUS).dataSync();
    const ref = sincFilterValues(low, band, PASE_PLUS);
    let max = 0;
    for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(t[i] - ref[i]));
    expect(max).toBeLessThan(1e-4);
  });
});

describe("sincConv (native Conv2D forward, filter gradient by correlation)", () => {
  // Reference: the im2col convolution that every other block uses, and its own gradient.
  it("value and filter gradient equal the im2col convolution's", () => {
    const B = 3, S = 203, C = 5, K = 31;
    const rng = makeRng(7, "sinc-conv");
    const x = tf.tensor3d(Float32Array.from({ length: B * S }, () => rng() * 2 - 1), [B, S, 1]);
    const w = tf.tensor3d(Float32Array.from({ length: C * K }, () => rng() * 2 - 1), [C, 1, K]);
    const dy = tf.tensor3d(Float32Array.from({ length: B * S * C }, () => rng() * 2 - 1), [B, S, C]);
    const loss = (conv: (w: tf.Tensor3D) => tf.Tensor3D) => (ww: tf.Tensor) => tf.sum(tf.mul(conv(ww as tf.Tensor3D), dy));
    const ours = (ww: tf.Tensor3D) => sincConv(x, ww, 15, 15);
    const ref = (ww: tf.Tensor3D) => conv1dChannelsLast(x, ww, null, 1, 1, 15, 15);
    expect(ours(w).shape).toEqual([B, S, C]);
    const close = (a: tf.Tensor, b: tf.Tensor) => {
      const d = a.dataSync();
      const e = b.dataSync();
      const scale = Math.max(...Array.from(e, Math.abs));
      expect(scale).toBeGreaterThan(0.1);
      for (let i = 0; i < e.length; i++) expect(Math.abs(d[i] - e[i])).toBeLessThan(1e-5 * scale * K);
    };
    close(ours(w), ref(w));
    close(tf.grad(loss(ours))(w), tf.grad(loss(ref))(w));
  });
});

describe.each([
  { label: "tiny, 1.2 s (lengths not multiples of the strides)", config: PASE_PLUS_TINY, samples: 19_357 },
  { label: "tiny, an odd length at every strided block", config: PASE_PLUS_TINY, samples: 16_001 },
  { label: "tiny without skips or QRNN", config: { ...PASE_PLUS_TINY, denseskips: false, rnn_pool: false }, samples: 8000 },
])("PASE+ tfjs vs ONNX: $label", ({ config, samples }) => {
  it("every hidden state agrees", async () => {
    const params = perturbedParams(config, 42);
    const audio = speechLike(samples, 3);
    const vars = createTfVariables(params, false);
    const tfStates = paseHiddenStates(vars, config, tf.tensor2d(audio, [1, samples]));
    const onnx = await onnxStates(config, params, audio);
    const frames = paseFrames(config, samples);
    expect(onnx.length).toBe(paseHiddenLayers(config));
    for (let i = 0; i < onnx.length; i++) {
      expect(onnx[i].dims).toEqual([1, frames, config.emb_dim]);
      expect(tfStates[i].shape).toEqual([1, frames, config.emb_dim]);
      const a = tfStates[i].dataSync();
      const b = onnx[i].data as Float32Array;
      let maxDiff = 0;
      let maxAbs = 0;
      for (let j = 0; j < a.length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[j] - b[j]));
        maxAbs = Math.max(maxAbs, Math.abs(b[j]));
      }
      expect(maxAbs).toBeGreaterThan(1e-3); // not trivially zero
      expect(maxDiff / maxAbs).toBeLessThan(2e-4);
    }
  });
});
