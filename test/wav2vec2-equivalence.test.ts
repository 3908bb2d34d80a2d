import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { beforeAll, describe, expect, it } from "vitest";
import { numFrames, presetConfig, type Wav2Vec2Config } from "../src/wav2vec2/config.js";
import { createOnnxSession, runHiddenStates } from "../src/wav2vec2/onnx-export.js";
import { initParams, makeRng, paramSpecs, type ParamGroup } from "../src/wav2vec2/params.js";
import { createTfVariables, disposeTfParams, forwardHiddenStates } from "../src/wav2vec2/tfjs-model.js";

beforeAll(async () => {
  await tf.setBackend("wasm");
  await tf.ready();
});

/** The two HF architectures: base-like (group norm, post-LN) and large-like (layer norm, stable LN). */
const MODES: { label: string; config: Wav2Vec2Config }[] = [
  { label: "group norm + post-LN (even pos kernel)", config: presetConfig("tiny") },
  {
    label: "layer norm + stable-LN (conv bias, odd pos kernel)",
    config: presetConfig("tiny", { feat_extract_norm: "layer", do_stable_layer_norm: true, conv_bias: true, num_conv_pos_embeddings: 15 }),
  },
];

/** Speech-like test signal: a few harmonics plus noise. */
function testAudio(batch: number, samples: number, seed: number): Float32Array[] {
  return Array.from({ length: batch }, (_, b) => {
    const rng = makeRng(seed, `audio${b}`);
    const f0 = 110 + 40 * b;
    return Float32Array.from({ length: samples }, (_, i) => {
      const t = i / 16000;
      return 0.3 * Math.sin(2 * Math.PI * f0 * t) + 0.1 * Math.sin(2 * Math.PI * 3 * f0 * t) + 0.05 * (rng() * 2 - 1);
    });
  });
}

function packed(rows: Float32Array[]): tf.Tensor2D {
  return tf.tensor2d(
    rows.flatMap((r) => Array.from(r)),
    [rows.length, rows[0].length],
  );
}

describe.each(MODES)("wav2vec2 tfjs vs ONNX: $label", ({ config }) => {
  it("hidden states agree and have the HF frame counts", async () => {
    const params = initParams(config, 1234, { randomAffine: true });
    const audio = testAudio(2, 16000, 7);
    const vars = createTfVariables(params);
    const session = await createOnnxSession(config, params);
    try {
      const tfStates = forwardHiddenStates(vars, config, packed(audio));
      const onnx = await runHiddenStates(session, audio);
      expect(tfStates.length).toBe(config.num_hidden_layers + 1);
      expect(onnx.layers.length).toBe(config.num_hidden_layers + 1);
      expect(onnx.numFrames).toBe(49); // 1 s at 16 kHz
      const report: string[] = [];
      for (let i = 0; i < tfStates.length; i++) {
        expect(tfStates[i].shape).toEqual([2, 49, config.hidden_size]);
        const a = tfStates[i].dataSync();
        const b = onnx.layers[i];
        expect(b.length).toBe(a.length);
        let maxDiff = 0;
        let maxAbs = 0;
        for (let j = 0; j < a.length; j++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[j] - b[j]));
          maxAbs = Math.max(maxAbs, Math.abs(a[j]), Math.abs(b[j]));
        }
        expect(Number.isFinite(maxAbs)).toBe(true);
        report.push(`hs${i}: max|diff| ${maxDiff.toExponential(2)} (max|act| ${maxAbs.toFixed(2)})`);
        expect(maxDiff).toBeLessThanOrEqual(1e-4 * Math.max(1, maxAbs));
      }
      console.log(`[${config.feat_extract_norm}/${config.do_stable_layer_norm ? "stable" : "post"}] ${report.join("; ")}`);
      tf.dispose(tfStates);

      // The receptive field: 400 samples give exactly one frame; 399 are rejected.
      expect(numFrames(config, 400)).toBe(1);
      expect(numFrames(config, 16000)).toBe(49);
      const short = await runHiddenStates(session, testAudio(1, 400, 3)[0]);
      expect(short.numFrames).toBe(1);
      const tfShort = forwardHiddenStates(vars, config, packed(testAudio(1, 400, 3)));
      expect(tfShort[0].shape).toEqual([1, 1, config.hidden_size]);
      tf.dispose(tfShort);
      await expect(runHiddenStates(session, new Float32Array(399))).rejects.toThrow(/receptive field/);
    } finally {
      disposeTfParams(vars);
      await session.release();
    }
  });

  it("gradients reach every parameter group (wasm backend)", () => {
    const params = initParams(config, 99, { randomAffine: true });
    const vars = createTfVariables(params);
    const tensorsBefore = tf.memory().numTensors;
    try {
      const audio = packed(testAudio(2, 3200, 11)); // 9 frames
      const last = config.num_hidden_layers;
      const probe = tf.randomNormal([2, numFrames(config, 3200), config.hidden_size], 0, 1, "float32", 5);
      // masked_spec_embed only enters through masking, which inference does not apply.
      const used = paramSpecs(config).filter((s) => s.group !== "masking");
      const varList = used.map((s) => vars.get(s.name) as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const hs = forwardHiddenStates(vars, config, audio);
        return tf.sum(tf.mul(hs[last], probe)) as tf.Scalar;
      }, varList);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      const groupNorm = new Map<ParamGroup, number>();
      for (const spec of used) {
        const gr = grads[(vars.get(spec.name) as tf.Variable).name];
        expect(gr, `gradient for ${spec.name}`).toBeDefined();
        const d = gr.dataSync();
        let sq = 0;
        for (const v of d) {
          expect(Number.isFinite(v)).toBe(true);
          sq += v * v;
        }
        groupNorm.set(spec.group, (groupNorm.get(spec.group) ?? 0) + sq);
      }
      for (const group of ["feature_extractor", "feature_projection", "pos_conv", "encoder_layer_norm", "attention", "feed_forward", "layer_norm"] as const) {
        expect(groupNorm.get(group) ?? 0, `gradient norm of ${group}`).toBeGreaterThan(0);
      }
      tf.dispose([value, probe, audio, ...Object.values(grads)]);
      expect(tf.memory().numTensors, "no tensors leaked").toBe(tensorsBefore);
    } finally {
      disposeTfParams(vars);
    }
  });
});

describe("wav2vec2 ONNX int8-dynamic variant", () => {
  it("stays close to the float graph (not bit-equivalent by design)", async () => {
    const config = presetConfig("tiny");
    const params = initParams(config, 8, { randomAffine: true });
    const audio = testAudio(1, 16000, 2);
    const fp = await createOnnxSession(config, params);
    const q8 = await createOnnxSession(config, params, { quantize: "int8-dynamic" });
    try {
      const a = await runHiddenStates(fp, audio);
      const b = await runHiddenStates(q8, audio);
      for (let l = 0; l < a.layers.length; l++) {
        let dot = 0;
        let na = 0;
        let nb = 0;
        for (let i = 0; i < a.layers[l].length; i++) {
          dot += a.layers[l][i] * b.layers[l][i];
          na += a.layers[l][i] ** 2;
          nb += b.layers[l][i] ** 2;
        }
        expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.999);
      }
    } finally {
      await fp.release();
      await q8.release();
    }
  });
});
