import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { extractLongHiddenStates, layerRegressors } from "../src/brain/features.js";
import { convolveHrfColumns } from "../src/brain/hrf.js";
import { lanczosResample } from "../src/brain/lanczos.js";
import { brainScoreFromRegressors, formatBrainScoreTable } from "../src/brain/score.js";
import { brainScoreSvg, writeBrainScoreJson, writeBrainScoreSvg } from "../src/brain/score-report.js";
import { mean, pearson, pearsonColumns, zscoreColumns } from "../src/brain/stats.js";
import type { HiddenStates, Upstream } from "../src/upstream.js";
import { Rng } from "../src/random.js";

describe("stats", () => {
  it("mean and pearson on hand-checked values", () => {
    expect(mean([1, 2, 3, 6])).toBe(3);
    // x = [1,2,3], y = [1,3,2]: cov = 0.5*... r = 0.5 by hand (dx = [-1,0,1], dy = [-1,1,0] -> 1/sqrt(2*2))
    expect(pearson([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 14);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBe(0);
  });

  it("zscoreColumns uses population std, zeroes constant columns and applies given stats", () => {
    // columns: [1,2,3] (mean 2, std sqrt(2/3)) and [4,4,4] (constant)
    const x = [1, 4, 2, 4, 3, 4];
    const { z, mean: m, std } = zscoreColumns(x, 3, 2);
    expect(Array.from(m)).toEqual([2, 4]);
    expect(std[0]).toBeCloseTo(Math.sqrt(2 / 3), 14);
    expect(std[1]).toBe(0);
    expect(z[0]).toBeCloseTo(-1 / Math.sqrt(2 / 3), 14);
    expect(z[1]).toBe(0);
    const applied = zscoreColumns([5, 9], 1, 2, { mean: m, std });
    expect(applied.z[0]).toBeCloseTo(3 / Math.sqrt(2 / 3), 14);
    expect(applied.z[1]).toBe(0);
  });

  it("pearsonColumns agrees with pearson per column and gives 0 for constant columns", () => {
    const pred = [1, 0, 2, 0, 4, 0];
    const actual = [2, 1, 1, 2, 5, 3];
    const r = pearsonColumns(pred, actual, 3, 2);
    expect(r[0]).toBeCloseTo(pearson([1, 2, 4], [2, 1, 5]), 14);
    expect(r[1]).toBe(0);
  });
});

/** A local fake upstream: frame i of layer 0 is the mean of samples [i*hop, i*hop+400), layer 1 its square. */
function fakeUpstream(): Upstream {
  const hop = 320;
  return {
    name: "fake",
    identity: "fake-0",
    frameRate: 50,
    numLayers: 2,
    hiddenSize: 1,
    async extractHiddenStates(audio: Float32Array): Promise<HiddenStates> {
      const numFrames = audio.length < 400 ? 0 : Math.floor((audio.length - 400) / hop) + 1;
      const l0 = new Float32Array(numFrames);
      for (let i = 0; i < numFrames; i++) {
        let s = 0;
        for (let k = 0; k < 400; k++) s += audio[i * hop + k];
        l0[i] = s / 400;
      }
      return { layers: [l0, l0.map((v) => v * v)], numFrames, dim: 1 };
    },
    async dispose(): Promise<void> {},
  };
}

describe("features", () => {
  it("chunked extraction equals one-pass extraction for a local upstream", async () => {
    const rng = new Rng(3);
    const audio = Float32Array.from({ length: 16000 * 47 + 123 }, () => rng.uniform(-1, 1));
    const up = fakeUpstream();
    const whole = await up.extractHiddenStates(audio);
    const seen: number[] = [];
    const chunked = await extractLongHiddenStates(up, audio, { chunkSeconds: 10, contextSeconds: 2, onProgress: (d) => seen.push(d) });
    expect(chunked.numFrames).toBe(whole.numFrames);
    expect(chunked.frameRate).toBe(50);
    for (let l = 0; l < 2; l++) {
      for (let i = 0; i < whole.numFrames; i++) expect(chunked.layers[l][i]).toBe(whole.layers[l][i]);
    }
    expect(seen.length).toBe(5);
    expect(seen[seen.length - 1]).toBeCloseTo(47, 1);
  });

  it("layerRegressors: Lanczos to the TR grid, then FIR delays or HRF, with history before row 0", () => {
    const frameRate = 100;
    const numFrames = frameRate * 120;
    const dim = 2;
    const layer = new Float32Array(numFrames * dim);
    for (let i = 0; i < numFrames; i++) {
      const t = i / frameRate;
      layer[i * dim] = Math.sin(2 * Math.PI * 0.02 * t);
      layer[i * dim + 1] = t > 30 && t < 31 ? 1 : 0;
    }
    const tr = 2;
    const rows = 40;
    const rowTimes = Float64Array.from({ length: rows }, (_, k) => 10 + k * tr);
    const frameTimes = Float64Array.from({ length: numFrames }, (_, i) => i / frameRate + 0.0125);
    const fir = layerRegressors(layer, numFrames, dim, frameRate, rowTimes, { hemodynamic: "fir", firDelays: [1, 3] });
    expect(fir.cols).toBe(4);
    expect(fir.rows).toBe(rows);
    // Block d at row k is the resampled layer at time rowTimes[k] - delay * TR, row 0 included.
    for (const [block, delay] of [
      [0, 1],
      [1, 3],
    ]) {
      const times = rowTimes.map((t) => t - delay * tr);
      const expected = lanczosResample(layer, numFrames, dim, frameTimes, times);
      for (let k = 0; k < rows; k++) {
        for (let c = 0; c < dim; c++) expect(fir.x[k * 4 + block * dim + c]).toBeCloseTo(expected[k * dim + c], 9);
      }
    }
    // HRF: equals convolving the resampled layer on a grid extended 16 TRs back, rows after the lead.
    const hrf = layerRegressors(layer, numFrames, dim, frameRate, rowTimes, { hemodynamic: "hrf" });
    const lead = 16;
    const ext = Float64Array.from({ length: rows + lead }, (_, k) => 10 + (k - lead) * tr);
    const conv = convolveHrfColumns(lanczosResample(layer, numFrames, dim, frameTimes, ext), rows + lead, dim, tr);
    for (let i = 0; i < rows * dim; i++) expect(hrf.x[i]).toBeCloseTo(conv[lead * dim + i], 9);
    // The 1 s event at 30 s peaks about 5 s later in the HRF regressor (row of 36 s = row 13).
    let argmax = 0;
    for (let k = 0; k < rows; k++) if (hrf.x[k * dim + 1] > hrf.x[argmax * dim + 1]) argmax = k;
    expect(rowTimes[argmax]).toBeGreaterThanOrEqual(34);
    expect(rowTimes[argmax]).toBeLessThanOrEqual(38);
    expect(() => layerRegressors(layer, numFrames, dim, frameRate, Float64Array.from([0, 2, 5]), { hemodynamic: "hrf" })).toThrow(/evenly spaced/);
  });
});

describe("brainScoreFromRegressors", () => {
  /** Three layers of white features made hemodynamic; targets driven by layer 1 through a known map. */
  function synthetic(noiseStd: number) {
    const rng = new Rng(2024);
    const rows = 240;
    const dim = 16;
    const tr = 2;
    const raw = [0, 1, 2].map(() => Float64Array.from({ length: rows * dim }, () => rng.normal(0, 1)));
    // Layer 2 is layer 1 drowned in noise: between the two in predictive power.
    for (let i = 0; i < rows * dim; i++) raw[2][i] = 0.3 * raw[1][i] + rng.normal(0, 1);
    const layers = raw.map((x) => ({ x: convolveHrfColumns(x, rows, dim, tr), rows, cols: dim }));
    const targetNames = ["A1", "STS"];
    const subjects = [0, 1, 2].map((s) => {
      const bold = new Float64Array(rows * targetNames.length);
      for (let j = 0; j < targetNames.length; j++) {
        const w = Array.from({ length: dim }, () => rng.normal(0, 1));
        const signal = new Float64Array(rows);
        for (let i = 0; i < rows; i++) for (let c = 0; c < dim; c++) signal[i] += layers[1].x[i * dim + c] * w[c];
        const sd = Math.sqrt(signal.reduce((a, v) => a + v * v, 0) / rows);
        for (let i = 0; i < rows; i++) bold[i * targetNames.length + j] = signal[i] / sd + rng.normal(0, noiseStd) + 100;
      }
      return { id: `sub-${s}`, bold, rows };
    });
    const rowTimes = Float64Array.from({ length: rows }, (_, k) => k * tr);
    return { layers, targets: { subjects, targetNames, rowTimes } };
  }

  it("ranks the generating layer first, near the noise ceiling, with a shift control near 0", () => {
    const noiseStd = 1; // signal and noise of equal variance: ceiling r = sqrt(1/2) = 0.707
    const { layers, targets } = synthetic(noiseStd);
    let steps = 0;
    const result = brainScoreFromRegressors(layers, targets, { folds: 4, innerFolds: 4, onProgress: () => steps++ });
    expect(steps).toBe(12);
    expect(result.layers).toBe(3);
    const ceiling = Math.sqrt(1 / (1 + noiseStd ** 2));
    for (let j = 0; j < 2; j++) {
      expect(result.bestLayer[j].layer).toBe(1);
      expect(result.r[1][j]).toBeGreaterThan(0.8 * ceiling);
      expect(result.r[1][j]).toBeLessThan(ceiling + 0.05);
      expect(result.r[1][j]).toBeGreaterThan(result.r[2][j]);
      expect(result.r[2][j]).toBeGreaterThan(result.r[0][j]);
      expect(Math.abs(result.r[0][j])).toBeLessThan(0.15);
      for (let l = 0; l < 3; l++) expect(Math.abs(result.controlR[l][j])).toBeLessThan(0.15);
    }
    expect(result.rPerSubject[1].length).toBe(3);
    expect(result.options.shiftRows).toBe(120);
    // Layer 1 is predictable, so its alphas are smaller than those of the pure-noise layer 0.
    expect(result.alphas[1][0]).toBeLessThan(result.alphas[0][0]);
    const table = formatBrainScoreTable(result);
    expect(table).toContain("STS: best layer 1");
    expect(table).toMatch(/\*/);
    // Report files: JSON round trip and an SVG with both charts.
    const dir = mkdtempSync(join(tmpdir(), "brain-score-"));
    try {
      writeBrainScoreJson(join(dir, "out", "brain.json"), result, { upstream: "synthetic" });
      const doc = JSON.parse(readFileSync(join(dir, "out", "brain.json"), "utf8")) as { kind: string; context: { upstream: string }; result: { r: number[][] } };
      expect(doc.kind).toBe("brain-score");
      expect(doc.context.upstream).toBe("synthetic");
      expect(doc.result.r[1][0]).toBeCloseTo(result.r[1][0], 5);
      writeBrainScoreSvg(join(dir, "out", "brain.svg"), result);
      const svg = readFileSync(join(dir, "out", "brain.svg"), "utf8");
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg).toContain("control (shifted), mean");
      expect(brainScoreSvg(result)).toContain("r per layer and target");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("permute control is near 0 too, and mismatched rows are a user error", () => {
    const { layers, targets } = synthetic(1);
    const result = brainScoreFromRegressors(layers.slice(1, 2), targets, { folds: 3, innerFolds: 3, control: "permute", seed: 7 });
    expect(result.options.permuteBlockRows).toBe(16);
    for (let j = 0; j < 2; j++) expect(Math.abs(result.controlR[0][j])).toBeLessThan(0.2);
    const none = brainScoreFromRegressors(layers.slice(1, 2), targets, { folds: 3, innerFolds: 3, control: "none" });
    expect(none.controlR).toEqual([]);
    const short = { ...targets, subjects: [{ ...targets.subjects[0], rows: 10, bold: new Float64Array(20) }] };
    expect(() => brainScoreFromRegressors(layers, short)).toThrow(/10 BOLD rows/);
  });
});
