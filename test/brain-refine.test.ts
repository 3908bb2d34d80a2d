import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend } from "../src/backend.js";
import { convolveCausal, hrfKernelAtTr } from "../src/brain/hrf.js";
import { L2_GRID, REFINE_CHECKPOINT_FILE, refineUpstream, refinementTargets, splitRows, type RefineOptions } from "../src/brain/refine.js";
import type { BrainDataset } from "../src/brain/types.js";
import { Rng } from "../src/random.js";
import { presetConfig } from "../src/wav2vec2/config.js";
import { loadHfFolder, saveHfFolder } from "../src/wav2vec2/hf-io.js";
import { initParams } from "../src/wav2vec2/params.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-refine-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TR = 1;
const SECONDS = 60;

/**
 * A stimulus of noise bursts and tones whose loudness and pitch vary slowly, and two "ROIs": one
 * follows the HRF-convolved loudness, the other the HRF-convolved tone fraction; three subjects
 * with independent noise.
 */
function syntheticDataset(): BrainDataset {
  const rng = new Rng(42);
  const sr = 16000;
  const n = SECONDS * sr;
  const audio = new Float32Array(n);
  const loud: number[] = [];
  const tonal: number[] = [];
  let phase = 0;
  for (let s = 0; s < SECONDS * 4; s++) {
    const amp = 0.05 + 0.4 * rng.float();
    const isTone = rng.float() < 0.5;
    const f0 = 150 + 300 * rng.float();
    loud.push(amp);
    tonal.push(isTone ? 1 : 0);
    for (let i = s * 4000; i < (s + 1) * 4000; i++) {
      phase += (2 * Math.PI * f0) / sr;
      audio[i] = amp * (isTone ? Math.sin(phase) : 2 * (rng.float() - 0.5));
    }
  }
  const firstRowTime = 3;
  const rows = SECONDS - firstRowTime;
  const kernel = hrfKernelAtTr(0.25);
  const loudBold = convolveCausal(loud, kernel);
  const toneBold = convolveCausal(tonal, kernel);
  const subjects = [0, 1, 2].map((si) => {
    const bold = new Float32Array(rows * 2);
    for (let k = 0; k < rows; k++) {
      const q = Math.round(((firstRowTime + k * TR) / 0.25)) - 1;
      bold[k * 2] = loudBold[q] * 10 + 0.3 * rng.normal();
      bold[k * 2 + 1] = toneBold[q] * 3 + 0.3 * rng.normal();
    }
    return { id: `s${si}`, bold, rows, source: `synthetic s${si}` };
  });
  return {
    name: "synthetic",
    targetNames: ["loudness", "tonality"],
    runs: [{ id: "run1", stimulus: audio, stimulusSource: "synthetic", tr: TR, firstRowTime, subjects }],
    skipped: [],
    hash: "synthetic-v1",
  };
}

let upstreamDir = "";
let data: BrainDataset;

beforeAll(async () => {
  await initTensorBackend();
  upstreamDir = path.join(tmp, "tiny");
  const config = presetConfig("tiny");
  saveHfFolder(upstreamDir, config, initParams(config, 3, { pretraining: true }));
  data = syntheticDataset();
});

describe("splitRows and refinementTargets", () => {
  it("holds out the last block after a gap of `history` rows", () => {
    expect(splitRows(100, 0.2, 6)).toEqual({ trainEnd: 74, heldOutStart: 80 });
    expect(() => splitRows(8, 0.2, 6)).toThrow(/too few/);
  });

  it("z-scores with training-row statistics only", () => {
    const ds = syntheticDataset();
    const { y, names } = refinementTargets(ds, "mean", (_r, k) => k < 40);
    expect(names).toEqual(["loudness", "tonality"]);
    for (let v = 0; v < 2; v++) {
      let m = 0;
      for (let k = 0; k < 40; k++) m += y[0][k * 2 + v];
      expect(Math.abs(m / 40)).toBeLessThan(1e-5);
    }
    const all = refinementTargets(ds, "subjects", (_r, k) => k < 40);
    expect(all.names).toEqual(["s0:loudness", "s0:tonality", "s1:loudness", "s1:tonality", "s2:loudness", "s2:tonality"]);
  });
});

describe("refineUpstream (tiny wav2vec2, synthetic brain data)", () => {
  const base = (out: string): RefineOptions => ({
    upstreamDir, upstreamName: "tiny", dataset: data, outDir: out, history: 3, l2: 0.1,
    stage1Steps: 60, stage2Steps: 12, stage2LearningRate: 3e-4, segmentRows: 8, batchSegments: 2, evalEvery: 4, seed: 1, progress: false,
  });

  it("lowers the held-out MSE in stage 2 and writes a loadable refined upstream", async () => {
    const out = path.join(tmp, "refined");
    const s = await refineUpstream(base(out));
    expect(s.completed).toBe(true);
    expect(s.before).not.toBeNull();
    expect(s.after).not.toBeNull();
    // The frozen random upstream already tracks loudness; training it must predict better still.
    expect(s.before!.r).toBeGreaterThan(0.2);
    expect(s.after!.mse).toBeLessThan(s.before!.mse);
    expect(s.parameterChangePercent).toBeGreaterThan(0);
    expect(s.layerWeights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    for (const f of ["config.json", "model.safetensors", "preprocessor_config.json", "model.onnx", "encoding-head.safetensors", "refine-log.json", "MODEL_CARD.md"]) {
      expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    }
    expect(fs.existsSync(path.join(out, REFINE_CHECKPOINT_FILE))).toBe(false);
    const before = loadHfFolder(upstreamDir, { pretraining: true });
    const after = loadHfFolder(out, { pretraining: true });
    // The CNN is frozen by default and the pre-training heads are carried over unchanged.
    expect(after.params.get("feature_extractor.conv_layers.0.conv.weight")!.data).toEqual(before.params.get("feature_extractor.conv_layers.0.conv.weight")!.data);
    expect(after.params.get("quantizer.codevectors")!.data).toEqual(before.params.get("quantizer.codevectors")!.data);
    expect(after.params.get("encoder.layers.0.attention.q_proj.weight")!.data).not.toEqual(before.params.get("encoder.layers.0.attention.q_proj.weight")!.data);
  });

  it("resumes after an interruption and ends where an uninterrupted run does", async () => {
    const straight = path.join(tmp, "straight");
    const resumed = path.join(tmp, "resumed");
    // l2 "auto": the penalty is chosen on an inner split of the training segments first.
    const opts = { ...base(straight), stage1Steps: 20, stage2Steps: 8, l2: "auto" as const };
    const a = await refineUpstream(opts);
    const partial = await refineUpstream({ ...opts, outDir: resumed, stopAfter: 4 });
    expect(partial.completed).toBe(false);
    expect(fs.existsSync(path.join(resumed, REFINE_CHECKPOINT_FILE))).toBe(true);
    const b = await refineUpstream({ ...opts, outDir: resumed });
    expect(b.completed).toBe(true);
    expect(b.after!.mse).toBeCloseTo(a.after!.mse, 5);
    expect(a.l2Search.map((c) => c.l2)).toEqual([...L2_GRID]);
    expect(a.l2).toBe(a.l2Search.reduce((best, c) => (c.validationMse < best.validationMse ? c : best)).l2);
    expect(b.l2).toBe(a.l2);
    const pa = loadHfFolder(straight).params;
    const pb = loadHfFolder(resumed).params;
    let maxDiff = 0;
    for (const [k, t] of pa) {
      const u = pb.get(k)!.data;
      for (let i = 0; i < t.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(t.data[i] - u[i]));
    }
    expect(maxDiff).toBeLessThan(1e-6);
    // A checkpoint of other settings is refused, not silently reused.
    await refineUpstream({ ...opts, outDir: path.join(tmp, "other"), stopAfter: 1 });
    await expect(refineUpstream({ ...opts, l2: 0.5, outDir: path.join(tmp, "other") })).rejects.toThrow(/other settings/);
  });
});
