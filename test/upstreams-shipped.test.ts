import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { PASE_PLUS } from "../src/pase/config.js";
import { countPaseParams } from "../src/pase/params.js";
import { paseHiddenStates } from "../src/pase/tfjs-model.js";
import { loadPaseFolder } from "../src/pase/upstream.js";
import { packageRoot } from "../src/package-info.js";
import { createUpstream } from "../src/registry.js";
import { loadHfFolder } from "../src/wav2vec2/hf-io.js";
import { zeroMeanUnitVariance } from "../src/wav2vec2/normalize.js";
import { countParams } from "../src/wav2vec2/params.js";
import { createTfVariables } from "../src/wav2vec2/tfjs-model.js";

beforeAll(async () => {
  await tf.setBackend("wasm");
  await tf.ready();
});

const SHIPPED = ["base", "refined"];

function speechLike(seconds: number, seed: number): Float32Array {
  const n = Math.round(seconds * 16000);
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const t = i / 16000;
    out[i] = 0.3 * Math.sin(2 * Math.PI * (140 + 40 * Math.sin(2 * Math.PI * 2 * t)) * t) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t)) + 0.02 * (s / 2147483648 - 0.5);
  }
  return out;
}

describe.each(SHIPPED)("shipped upstream %s", (name) => {
  const dir = path.join(packageRoot(), "upstreams", name);

  it("ships a HuggingFace folder under 20 MB with its model card", () => {
    let bytes = 0;
    for (const f of fs.readdirSync(dir)) bytes += fs.statSync(path.join(dir, f)).size;
    expect(bytes).toBeLessThanOrEqual(20e6);
    for (const f of ["config.json", "model.safetensors", "preprocessor_config.json", "MODEL_CARD.md"]) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    const { config, doNormalize } = loadHfFolder(dir);
    expect(doNormalize).toBe(true);
    expect(countParams(config)).toBeGreaterThan(1e6);
  });

  it("exposes every hidden state at 50 frames/s, independent of the input level (do_normalize)", async () => {
    const up = await createUpstream(name);
    try {
      expect(up.frameRate).toBe(50);
      const x = speechLike(1.5, 7);
      const a = await up.extractHiddenStates(x);
      const b = await up.extractHiddenStates(x.map((v) => 4 * v));
      expect(a.layers).toHaveLength(up.numLayers);
      expect(a.numFrames).toBe(74);
      let maxDiff = 0;
      let scale = 0;
      a.layers.forEach((l, i) => {
        for (let j = 0; j < l.length; j++) {
          maxDiff = Math.max(maxDiff, Math.abs(l[j] - b.layers[i][j]));
          scale = Math.max(scale, Math.abs(l[j]));
        }
      });
      expect(scale).toBeGreaterThan(0);
      expect(maxDiff).toBeLessThan(1e-3 * scale);
    } finally {
      await up.dispose();
    }
  });
});

describe("shipped upstream pase", () => {
  const dir = path.join(packageRoot(), "upstreams", "pase");

  it("ships a PASE+ folder under 20 MB with its model card and training log", () => {
    let bytes = 0;
    for (const f of fs.readdirSync(dir)) bytes += fs.statSync(path.join(dir, f)).size;
    expect(bytes).toBeLessThanOrEqual(20e6);
    for (const f of ["config.json", "model.safetensors", "MODEL_CARD.md", "training-log.json"]) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    const { config } = loadPaseFolder(dir);
    expect(config.kwidths).toEqual(PASE_PLUS.kwidths);
    expect(config.strides).toEqual(PASE_PLUS.strides);
    expect(countPaseParams(config)).toBeGreaterThan(1e6);
  });

  it("exposes the 9 hidden states x 256 at 100 frames/s, and its ONNX graph equals the tfjs encoder it was trained as", async () => {
    const up = await createUpstream("pase");
    const { config, params } = loadPaseFolder(dir);
    try {
      expect(up.frameRate).toBe(100);
      expect(up.numLayers).toBe(9);
      expect(up.hiddenSize).toBe(256);
      const x = speechLike(1.5, 7);
      const a = await up.extractHiddenStates(x);
      expect(a.numFrames).toBe(150);
      const vars = createTfVariables(params, false);
      const input = zeroMeanUnitVariance(x);
      const states = tf.tidy(() => paseHiddenStates(vars, config, tf.tensor2d(input, [1, input.length])).map((s) => s.dataSync()));
      vars.forEach((v) => v.dispose());
      states.forEach((s, i) => {
        let maxDiff = 0;
        let scale = 0;
        for (let j = 0; j < s.length; j++) {
          maxDiff = Math.max(maxDiff, Math.abs(s[j] - a.layers[i][j]));
          scale = Math.max(scale, Math.abs(s[j]));
        }
        expect(scale, `layer ${i}`).toBeGreaterThan(1e-3);
        expect(maxDiff, `layer ${i}`).toBeLessThan(2e-4 * scale);
      });
    } finally {
      await up.dispose();
    }
  });
});
