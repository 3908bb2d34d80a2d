import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { analyzeParamChange, checkSameArchitecture, formatParamAnalysis, LAYER_PARAM_TYPES, loadUpstreamParams, paramChangeHeatmapSvg } from "../src/analyze/params.js";
import { UserError } from "../src/errors.js";
import { presetConfig } from "../src/wav2vec2/config.js";
import { saveHfFolder } from "../src/wav2vec2/hf-io.js";
import { initParams, type ParamMap } from "../src/wav2vec2/params.js";

const config = presetConfig("tiny");

function copy(m: ParamMap): ParamMap {
  return new Map([...m].map(([k, t]) => [k, { shape: [...t.shape], data: Float32Array.from(t.data) }]));
}

function scale(m: ParamMap, name: string, f: number): void {
  const t = m.get(name)!;
  for (let i = 0; i < t.data.length; i++) t.data[i] *= f;
}

describe("analyzeParamChange", () => {
  const a = initParams(config, 7);

  it("is 0 everywhere for identical parameters", () => {
    const x = analyzeParamChange(a, copy(a), config);
    expect(x.layers).toHaveLength(2);
    for (const l of x.layers) for (const t of LAYER_PARAM_TYPES) expect(l.cells[t].percent).toBe(0);
    expect(x.model.map((m) => m.label)).toEqual([
      ...config.conv_dim.map((_, i) => `conv encoder ${i}`),
      "feature projection",
      "positional conv",
      "encoder layer norm",
    ]);
    expect(x.model.every((m) => m.change.percent === 0)).toBe(true);
    expect(x.overall.percent).toBe(0);
    expect(x.notes).toContain("A and B are identical in every compared parameter.");
  });

  it("puts a known perturbation in exactly its cell", () => {
    const b = copy(a);
    // q_proj bias is 0 at init, so the cell's ||A|| is the weight's: scaling it by 1.1 is +10 %.
    scale(b, "encoder.layers.1.attention.q_proj.weight", 1.1);
    // LayerNorm weight is ones(64) (||A|| = 8); a bias of 0.5 everywhere is ||Δ|| = 4: 50 %.
    b.get("encoder.layers.0.layer_norm.bias")!.data.fill(0.5);
    // Conv 3 has no bias and no norm in "group" mode: scaling its weight by 0.98 is 2 %.
    scale(b, "feature_extractor.conv_layers.3.conv.weight", 0.98);
    const x = analyzeParamChange(a, b, config);
    for (const l of x.layers) {
      for (const t of LAYER_PARAM_TYPES) {
        const want = l.layer === 1 && t === "attention.q" ? 10 : l.layer === 0 && t === "layer_norm" ? 50 : 0;
        expect(l.cells[t].percent, `layer ${l.layer} ${t}`).toBeCloseTo(want, 4);
      }
    }
    for (const m of x.model) expect(m.change.percent, m.label).toBeCloseTo(m.label === "conv encoder 3" ? 2 : 0, 4);
    const q = x.layers[1].cells["attention.q"];
    expect(q.numel).toBe(64 * 64 + 64);
    const groups = Object.fromEntries(x.groups.map((g) => [g.group, g.change.percent]));
    expect(groups.feed_forward).toBe(0);
    expect(groups.attention).toBeGreaterThan(0);
    expect(groups.attention).toBeLessThan(10);
    expect(groups).not.toHaveProperty("masking");
    // The layer's "all" mixes its cells: ||Δ|| of layer 1 is the q weight's alone.
    expect(x.layers[1].overall.normDiff).toBeCloseTo(q.normDiff, 6);
  });

  it("compares the positional conv through its effective weight", () => {
    const b = copy(a);
    scale(b, "encoder.pos_conv_embed.conv.weight_v", 2); // g * v / ||v|| is unchanged
    const same = analyzeParamChange(a, b, config).model.find((m) => m.component === "positional conv")!;
    expect(same.change.percent).toBeCloseTo(0, 4);
    scale(b, "encoder.pos_conv_embed.conv.weight_g", 1.5); // effective weight x 1.5, bias 0
    const moved = analyzeParamChange(a, b, config).model.find((m) => m.component === "positional conv")!;
    expect(moved.change.percent).toBeCloseTo(50, 4);
  });

  it("rejects a shape mismatch or a missing tensor with a UserError naming it", () => {
    const b = copy(a);
    b.set("encoder.layers.0.attention.k_proj.weight", { shape: [32, 128], data: new Float32Array(32 * 128) });
    expect(() => analyzeParamChange(a, b, config)).toThrow(UserError);
    expect(() => analyzeParamChange(a, b, config)).toThrow("encoder.layers.0.attention.k_proj.weight: shape [64, 64] in A but [32, 128] in B");
    const c = copy(a);
    c.delete("encoder.layer_norm.bias");
    expect(() => analyzeParamChange(a, c, config)).toThrow("encoder.layer_norm.bias: missing from upstream B");
  });

  it("formats tables and a heatmap with layers as rows and parameter types as columns", () => {
    const b = copy(a);
    scale(b, "encoder.layers.1.attention.q_proj.weight", 1.1);
    const x = analyzeParamChange(a, b, config);
    const md = formatParamAnalysis(x, "markdown");
    expect(md).toContain(`| layer | ${LAYER_PARAM_TYPES.join(" | ")} | all |`);
    expect(md).toContain("| 1 | 10.00 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |");
    expect(md).toContain("| conv encoder 0 | 0 |");
    expect(formatParamAnalysis(x, "table")).toContain("feed_forward.intermediate");
    const json = JSON.parse(formatParamAnalysis(x, "json")) as { layers: { cells: Record<string, { percent: number }> }[] };
    expect(json.layers[1].cells["attention.q"].percent).toBeCloseTo(10, 4);
    const svg = paramChangeHeatmapSvg(x);
    expect(svg).toContain("layer 1");
    expect(svg).toContain(">10.00</text>");
    // 2 layers x 8 types + 10 model-level modules.
    expect([...svg.matchAll(/stroke="#ffffff"><title>/g)].length).toBe(2 * 8 + 10);
  });
});

describe("loadUpstreamParams", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-analyze-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("reads a HuggingFace folder given as a path or hf:<dir>", () => {
    const dir = path.join(tmp, "tiny");
    saveHfFolder(dir, config, initParams(config, 3));
    for (const spec of [dir, `hf:${dir}`]) {
      const u = loadUpstreamParams(spec);
      expect(u.source).toBe(dir);
      expect(u.config.hidden_size).toBe(64);
      expect(u.params.get("encoder.layers.0.attention.q_proj.weight")!.shape).toEqual([64, 64]);
    }
  });

  it("refuses upstreams without parameters and unknown names in one line", () => {
    expect(() => loadUpstreamParams("fbank")).toThrow('upstream "fbank" has no stored wav2vec 2.0 weights');
    expect(() => loadUpstreamParams("mfcc")).toThrow(UserError);
    expect(() => loadUpstreamParams("onnx:/x.onnx")).toThrow("an ONNX graph has no trainable weights here");
    expect(() => loadUpstreamParams("no-such-upstream")).toThrow('unknown upstream "no-such-upstream"');
    expect(() => loadUpstreamParams(`hf:${path.join(tmp, "missing")}`)).toThrow("no such folder");
  });
});

describe("checkSameArchitecture", () => {
  it("accepts training-only differences and names the structural ones", () => {
    expect(() => checkSameArchitecture(config, presetConfig("tiny", { mask_time_prob: 0.5 }))).not.toThrow();
    expect(() => checkSameArchitecture(config, presetConfig("tiny", { num_hidden_layers: 3 }), "a", "b")).toThrow("a and b have different architectures (num_hidden_layers 2 vs 3)");
  });
});

describe("analyze params CLI", () => {
  it("prints the per-layer table for two folders and writes the heatmap", async () => {
    const { Command } = await import("commander");
    const { registerAnalyzeCommands } = await import("../src/cli/analyze.js");
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-params-"));
    try {
      const a = initParams(config, 5);
      const b = copy(a);
      scale(b, "encoder.layers.0.feed_forward.output_dense.weight", 1.25);
      saveHfFolder(path.join(tmp, "a"), config, a);
      saveHfFolder(path.join(tmp, "b"), config, b);
      const program = new Command().exitOverride();
      registerAnalyzeCommands(program);
      let out = "";
      const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
      const e = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
      try {
        await program.parseAsync(["node", "superb", "analyze", "params", path.join(tmp, "a"), `hf:${path.join(tmp, "b")}`, "--format", "json", "--svg", path.join(tmp, "p.svg")]);
      } finally {
        o.mockRestore();
        e.mockRestore();
      }
      const json = JSON.parse(out) as { layers: { cells: Record<string, { percent: number }> }[] };
      expect(json.layers[0].cells["feed_forward.output"].percent).toBeCloseTo(25, 4);
      expect(json.layers[1].cells["feed_forward.output"].percent).toBe(0);
      expect(fs.readFileSync(path.join(tmp, "p.svg"), "utf8")).toContain("Relative parameter change");
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
