import { describe, expect, it } from "vitest";
import { buildLeaderboard, formatLeaderboard } from "../src/leaderboard.js";
import { UserError } from "../src/errors.js";
import type { TaskResult } from "../src/results.js";

function result(upstream: string, task: string, metric: TaskResult["metric"], value: number): TaskResult {
  return {
    upstream, upstreamIdentity: upstream, task, metric, value, higherIsBetter: metric === "accuracy", secondary: {}, devValue: value,
    layerWeights: [1], dataset: { kind: "embedded", name: "c", hash: "h", counts: { train: { utterances: 1, hours: 0, speakers: 1 }, dev: { utterances: 1, hours: 0, speakers: 1 }, test: { utterances: 1, hours: 0, speakers: 1 } } }, seed: 0,
    training: { learningRate: 1e-3, steps: 1, batchSize: 1, bestStep: 1, finalTrainLoss: 0, resumedFromStep: 0 },
    seconds: { extract: 0, train: 0, evaluate: 0 }, backend: "wasm", version: "0", gitCommit: null, createdAt: "",
  };
}

describe("leaderboard", () => {
  const results = [
    result("mfcc", "sid", "accuracy", 80),
    result("fbank", "asv", "eer", 10),
    result("fbank", "pr", "per", 30),
    result("mfcc", "pr", "per", 25),
    result("fbank", "sid", "accuracy", 90),
  ];

  it("orders tasks as SUPERB does and marks each column's best by its direction", () => {
    const board = buildLeaderboard(results);
    expect(board.tasks.map((t) => t.task)).toEqual(["pr", "sid", "asv"]);
    const md = formatLeaderboard(board, "markdown");
    expect(md).toContain("| upstream | PR PER ↓ | SID ACCURACY ↑ | ASV EER ↓ |");
    expect(md).toContain("| fbank | 30.00 | 90.00 * | 10.00 * |");
    expect(md).toContain("| mfcc | 25.00 * | 80.00 | – |");
  });

  it("keeps one row per upstream; a cell on another test set than its column's is shown with † and not ranked", () => {
    const onVox = (r: TaskResult): TaskResult => ({ ...r, dataset: { ...r.dataset, kind: "voxceleb1", name: "VoxCeleb1", hash: "v1" } });
    // SID: fbank and wav2vec on VoxCeleb1 (the column's test set), mfcc on the embedded corpus.
    const board = buildLeaderboard([...results.filter((r) => !(r.upstream === "fbank" && r.task === "sid")), onVox(result("fbank", "sid", "accuracy", 70)), onVox(result("w2v", "sid", "accuracy", 60))]);
    expect(board.rows.map((r) => r.upstream)).toEqual(["fbank", "mfcc", "w2v"]);
    const sid = board.tasks.find((t) => t.task === "sid")!;
    expect(sid.dataset).toBe("voxceleb1 VoxCeleb1");
    const md = formatLeaderboard(board, "markdown");
    expect(md).toContain("| upstream | PR PER ↓ (embedded c) | SID ACCURACY ↑ (voxceleb1 VoxCeleb1) | ASV EER ↓ (embedded c) |");
    // mfcc's 80 on the embedded corpus would be best; it is not ranked with the VoxCeleb1 cells.
    expect(md).toContain("| mfcc | 25.00 * | 80.00 † | – |");
    expect(md).toContain("| fbank | 30.00 | 70.00 * | 10.00 * |");
    expect(board.notes).toEqual(["† mfcc SID was computed on embedded c (h), not on the column's voxceleb1 VoxCeleb1: not ranked."]);
  });

  it("reads results written before the dataset layer (a corpus field) as the embedded corpus", () => {
    const { dataset: _dropped, ...legacy } = result("fbank", "pr", "per", 50);
    void _dropped;
    const old = { ...legacy, corpus: { name: "c", profile: "quick", hash: "h", seed: 1 } } as TaskResult;
    const board = buildLeaderboard([old, result("mfcc", "pr", "per", 40)]);
    expect(board.rows.map((r) => r.offColumn)).toEqual([[], []]);
    expect(formatLeaderboard(board, "markdown")).toContain("| mfcc | 40.00 * |");
  });

  it("json keeps missing cells as null", () => {
    const parsed = JSON.parse(formatLeaderboard(buildLeaderboard(results), "json")) as { rows: { upstream: string; values: Record<string, number | null> }[] };
    expect(parsed.rows.find((r) => r.upstream === "mfcc")!.values.asv).toBeNull();
  });
});

describe("leaderboard comparisons", () => {
  const onCorpus = (r: TaskResult, name: string): TaskResult => ({ ...r, dataset: { ...r.dataset, name, hash: name } });
  const results = [
    result("fbank", "pr", "per", 40),
    result("base", "pr", "per", 30),
    result("refined", "pr", "per", 28.8),
    result("base", "sid", "accuracy", 80),
    result("refined", "sid", "accuracy", 78.5),
    result("base", "asv", "eer", 10),
    result("refined", "ic", "accuracy", 50),
  ];

  it("adds refined − base by default, with the direction of each metric", () => {
    const board = buildLeaderboard(results);
    expect(board.comparisons).toHaveLength(1);
    const c = board.comparisons[0];
    expect(c).toMatchObject({ upstream: "refined − base", a: "base", b: "refined" });
    expect(c.values.pr!.difference).toBeCloseTo(-1.2, 9);
    expect(c.values.pr!.better).toBe(true); // lower PER is better
    expect(c.values.sid).toEqual({ difference: -1.5, better: false });
    expect(c.values.ic).toBeNull(); // base has no IC
    expect(c.values.asv).toBeNull();
    const md = formatLeaderboard(board, "markdown");
    expect(md).toContain("| refined − base | -1.20 ▲ | – | -1.50 ▼ | – |");
    // Comparison rows never take the best-in-column star.
    expect(md).toContain("| refined | 28.80 * | 50.00 * | 78.50 | – |");
    expect(md).toContain("▲ better, ▼ worse");
    expect(formatLeaderboard(board, "table")).toContain("-1.20 ▲");
    const json = JSON.parse(formatLeaderboard(board, "json")) as { comparisons: { values: Record<string, { difference: number; better: boolean } | null> }[] };
    expect(json.comparisons[0].values.sid).toEqual({ difference: -1.5, better: false });
  });

  it("takes explicit pairs, marks gains and equal values, and none with compare: []", () => {
    const board = buildLeaderboard(results, { compare: [["refined", "base"], ["fbank", "base"]] });
    expect(board.comparisons.map((c) => c.upstream)).toEqual(["base − refined", "base − fbank"]);
    expect(board.comparisons[0].values.sid).toEqual({ difference: 1.5, better: true });
    expect(formatLeaderboard(board, "markdown")).toContain("| base − refined | +1.20 ▼ | – | +1.50 ▲ | – |");
    const same = buildLeaderboard([result("a", "pr", "per", 5), result("b", "pr", "per", 5)], { compare: [["a", "b"]] });
    expect(formatLeaderboard(same, "markdown")).toContain("| b − a | 0.00 = |");
    expect(buildLeaderboard(results, { compare: [] }).comparisons).toEqual([]);
  });

  it("an explicit pair naming an upstream without results is a one-line UserError", () => {
    expect(() => buildLeaderboard(results, { compare: [["base", "nope"]] })).toThrow(UserError);
    expect(() => buildLeaderboard(results, { compare: [["base", "nope"]] })).toThrow('compare base,nope: no results for upstream "nope" (have: base, fbank, refined)');
  });

  it("never differences results from different test sets", () => {
    const split = [result("base", "pr", "per", 30), onCorpus(result("refined", "pr", "per", 20), "other"), result("base", "sid", "accuracy", 50), result("refined", "sid", "accuracy", 55)];
    const board = buildLeaderboard(split);
    expect(board.comparisons[0].values.pr).toBeNull();
    expect(board.comparisons[0].values.sid).toEqual({ difference: 5, better: true });
    expect(board.notes).toContain("refined − base: PR not compared, the two results come from different test sets (embedded:c@h vs embedded:other@other).");
    expect(formatLeaderboard(board, "markdown")).toContain("refined − base: PR not compared");
  });
});
