import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { analyzeLayerWeights, formatLayerAnalysis, layerAnalysisSvg, summarizeLayerWeights } from "../src/analyze/layers.js";
import { UserError } from "../src/errors.js";
import { readResults, type TaskResult } from "../src/results.js";

const RESULTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "analyze", "results");

describe("layer weight summaries", () => {
  it("entropy, normalised entropy, mean layer and argmax match hand-computed values", () => {
    // -(2 * 0.1 ln 0.1 + 2 * 0.2 ln 0.2 + 0.4 ln 0.4) = 0.460517 + 0.643775 + 0.366516
    const s = summarizeLayerWeights([0.1, 0.2, 0.4, 0.2, 0.1]);
    expect(s.entropy).toBeCloseTo(1.470808, 5);
    expect(s.normalizedEntropy).toBeCloseTo(1.470808 / Math.log(5), 6);
    expect(s.meanLayer).toBeCloseTo(2.0, 12);
    expect(s.argmax).toBe(2);
    const u = summarizeLayerWeights([0.25, 0.25, 0.25, 0.25]);
    expect(u.normalizedEntropy).toBeCloseTo(1, 12);
    expect(u.argmax).toBe(0); // first on ties
    const one = summarizeLayerWeights([0, 1, 0]);
    expect(one).toEqual({ entropy: 0, normalizedEntropy: 0, meanLayer: 1, argmax: 1 });
    expect(summarizeLayerWeights([1]).normalizedEntropy).toBe(0);
  });
});

describe("analyzeLayerWeights on fixture results", () => {
  const results = readResults(RESULTS);

  it("compares each task both sides have, in SUPERB order, and notes the others", () => {
    const a = analyzeLayerWeights(results, ["base", "refined"]);
    expect(a.tasks.map((t) => t.task)).toEqual(["pr", "sid"]);
    expect(a.notes).toEqual(["ic: skipped, no result for refined."]);
    const pr = a.tasks[0];
    expect(pr.numLayers).toBe(5);
    expect(pr.diff.map((d) => Number(d.toFixed(6)))).toEqual([-0.05, -0.05, -0.1, 0.1, 0.1]);
    expect(pr.summaryA.meanLayer).toBeCloseTo(2.0, 9);
    expect(pr.summaryB.meanLayer).toBeCloseTo(2.45, 9); // 0.15 + 0.6 + 0.9 + 0.8
    expect(pr.summaryB.argmax).toBe(2); // 0.3 at layers 2 and 3: the first
    const sid = a.tasks[1];
    expect(sid.summaryA.entropy).toBeCloseTo(Math.log(5), 9);
    expect(sid.summaryA.normalizedEntropy).toBeCloseTo(1, 9);
    // -(0.5 ln 0.5 + 0.2 ln 0.2 + 3 * 0.1 ln 0.1) = 0.346574 + 0.321888 + 0.690776
    expect(sid.summaryB.entropy).toBeCloseTo(1.359237, 5);
    expect(sid.summaryB.meanLayer).toBeCloseTo(1.1, 9);
    expect(sid.summaryB.argmax).toBe(0);
  });

  it("restricts to the requested tasks and notes a requested task missing on one side", () => {
    const a = analyzeLayerWeights(results, ["base", "refined"], ["sid", "ic"]);
    expect(a.tasks.map((t) => t.task)).toEqual(["sid"]);
    expect(a.notes).toEqual(["ic: skipped, no result for refined."]);
  });

  it("fails clearly on an unknown upstream, differing layer counts, or nothing to compare", () => {
    expect(() => analyzeLayerWeights(results, ["base", "nope"])).toThrow(UserError);
    expect(() => analyzeLayerWeights(results, ["base", "nope"])).toThrow('nope: no results for this upstream (have: base, refined)');
    const short: TaskResult = { ...results.find((r) => r.upstream === "refined" && r.task === "pr")!, layerWeights: [0.5, 0.5] };
    const mixed = [...results.filter((r) => !(r.upstream === "refined" && r.task === "pr")), short];
    expect(() => analyzeLayerWeights(mixed, ["base", "refined"])).toThrow("pr: base has 5 layer weights but refined has 2");
    expect(() => analyzeLayerWeights(results, ["base", "refined"], ["ic"])).toThrow("no task has results for both base and refined among ic");
    const bad: TaskResult = { ...short, layerWeights: [0.5, 0.6, 0, 0, 0] };
    expect(() => analyzeLayerWeights([...mixed.filter((r) => r !== short), bad], ["base", "refined"])).toThrow("refined/pr: layerWeights sum to 1.1000");
  });

  it("formats as table, markdown and json, and draws one SVG with a chart per task", () => {
    const a = analyzeLayerWeights(results, ["base", "refined"]);
    const md = formatLayerAnalysis(a, "markdown");
    expect(md).toContain("| task | layers | H base (nats) | H refined (nats) |");
    expect(md).toContain("| pr | 5 | 1.471 | ");
    expect(md).toContain("| refined − base | -0.050 | -0.050 | -0.100 | +0.100 | +0.100 |");
    expect(md).toContain("ic: skipped, no result for refined.");
    const table = formatLayerAnalysis(a, "table");
    expect(table).toContain("layer 4");
    const json = JSON.parse(formatLayerAnalysis(a, "json")) as { upstreams: string[]; tasks: { task: string; b: number[] }[] };
    expect(json.upstreams).toEqual(["base", "refined"]);
    expect(json.tasks[1].b).toEqual([0.5, 0.2, 0.1, 0.1, 0.1]);
    const svg = layerAnalysisSvg(a);
    expect(svg.match(/<svg\b/g)!.length).toBe(3); // the page and one chart per task
    expect(svg).toContain("PR: layer weights");
    expect(svg).toContain("SID: layer weights");
  });
});

describe("analyze CLI", () => {
  async function run(args: string[]): Promise<{ out: string; err: string }> {
    const { Command } = await import("commander");
    const { registerAnalyzeCommands } = await import("../src/cli/analyze.js");
    const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    registerAnalyzeCommands(program);
    let out = "";
    let err = "";
    const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    const e = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    try {
      await program.parseAsync(["node", "superb", ...args]);
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    return { out, err };
  }

  it("parses --compare pairs", async () => {
    const { parseComparePairs } = await import("../src/cli/analyze.js");
    expect(parseComparePairs("base,refined")).toEqual([["base", "refined"]]);
    expect(parseComparePairs("base, refined; x,y")).toEqual([["base", "refined"], ["x", "y"]]);
    expect(parseComparePairs("none")).toEqual([]);
    expect(() => parseComparePairs("base")).toThrow("expected two upstreams as A,B");
    expect(() => parseComparePairs("a,a")).toThrow("two different upstreams");
  });

  it("analyze layers prints markdown and writes an SVG", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-layers-"));
    try {
      const svg = path.join(tmp, "layers.svg");
      const { out, err } = await run(["analyze", "layers", "--upstreams", "base,refined", "--tasks", "pr", "--results-dir", RESULTS, "--format", "markdown", "--svg", svg]);
      expect(out).toContain("| pr | 5 | 1.471 |");
      expect(out).not.toContain("| sid |");
      expect(err).toContain(`wrote ${svg}`);
      expect(fs.readFileSync(svg, "utf8")).toContain("PR: layer weights");
      await expect(run(["analyze", "layers", "--upstreams", "base,nope", "--results-dir", RESULTS])).rejects.toThrow(UserError);
      await expect(run(["analyze", "layers", "--upstreams", "base,refined", "--results-dir", RESULTS, "--format", "csv"])).rejects.toThrow("--format csv: unknown format");
      await expect(run(["analyze", "layers", "--upstreams", "base,refined", "--results-dir", RESULTS, "--svg", path.join(tmp, "no", "x.svg")])).rejects.toThrow("does not exist");
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
