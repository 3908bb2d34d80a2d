import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { superb } from "./helpers/cli.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "superb-brain-cli-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const FIXTURES = path.resolve("test/fixtures/analyze/results");

describe("superb brain commands end to end", () => {
  it("simulates a cohort, scores FBANK on it, and writes JSON + SVG", async () => {
    const sim = path.join(root, "sim");
    const a = await superb(["brain", "simulate", "--out", sim, "--subjects", "2", "--minutes", "1", "--tr", "1", "--seed", "3", "--no-progress"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim()).toBe(path.join(sim, "brain.json"));
    const info = await superb(["brain", "info", sim]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/2 subjects x \d+ rows, TR 1 s/);
    const out = path.join(root, "score");
    const b = await superb(["brain-score", "--upstream", "fbank", "--brain", sim, "--out", out, "--folds", "3", "--no-progress"]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain("A1-acoustic");
    const doc = JSON.parse(fs.readFileSync(path.join(out, "brain-score.json"), "utf8")) as { kind: string; context: { upstream: string }; result: { r: number[][]; targetNames: string[] } };
    expect(doc.kind).toBe("brain-score");
    expect(doc.context.upstream).toBe("fbank");
    expect(doc.result.r).toHaveLength(1);
    expect(doc.result.r[0]).toHaveLength(doc.result.targetNames.length);
    expect(fs.readFileSync(path.join(out, "brain-score.svg"), "utf8")).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  });

  it("refuses to refine an upstream without weights, and a missing data set, in one line each", async () => {
    const a = await superb(["refine", "--upstream", "fbank", "--brain", "alice", "--out", path.join(root, "r")]);
    expect(a.code).toBe(1);
    expect(a.stderr.trim().split("\n")).toHaveLength(1);
    expect(a.stderr).toMatch(/fbank.*no stored wav2vec 2\.0 weights/);
    const b = await superb(["brain-score", "--upstream", "fbank", "--brain", path.join(root, "nope")]);
    expect(b.code).toBe(1);
    expect(b.stderr.trim().split("\n")).toHaveLength(1);
    expect(b.stderr).toContain("no such file or folder");
  });

  it("runs a SUPERB task on the shipped refined upstream", async () => {
    const results = path.join(root, "results");
    const r = await superb(["run", "--upstream", "refined", "--task", "asv", "--profile", "quick", "--steps", "20", "--results-dir", results, "--no-progress"]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(fs.readFileSync(path.join(results, "refined", "asv.json"), "utf8")) as { metric: string; value: number; layerWeights: number[] };
    expect(res.metric).toBe("eer");
    expect(res.value).toBeGreaterThanOrEqual(0);
    expect(res.value).toBeLessThanOrEqual(100);
    expect(res.layerWeights).toHaveLength(5);
  });

  it("analyzes layer weights and compares upstreams on the leaderboard", async () => {
    const a = await superb(["analyze", "layers", "--upstreams", "base,refined", "--results-dir", FIXTURES, "--svg", path.join(root, "layers.svg")]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/sid/i);
    expect(fs.existsSync(path.join(root, "layers.svg"))).toBe(true);
    const b = await superb(["leaderboard", "--results-dir", FIXTURES, "--format", "markdown"]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stdout).toContain("refined − base");
  });
});
