import { describe, expect, it } from "vitest";
import { buildLeaderboard, formatLeaderboard } from "../src/leaderboard.js";
import { UserError } from "../src/errors.js";
import type { TaskResult } from "../src/results.js";

function result(upstream: string, task: string, metric: TaskResult["metric"], value: number): TaskResult {
  return {
    upstream, upstreamIdentity: upstream, task, metric, value, higherIsBetter: metric === "accuracy", secondary: {}, devValue: value,
    layerWeights: [1], corpus: { name: "c", profile: "quick", hash: "h", seed: 1 }, seed: 0,
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

  it("names the corpus on each row when results come from different corpora", () => {
    const other = { ...result("fbank", "pr", "per", 50), corpus: { name: "other", profile: "full", hash: "x", seed: 1 } };
    const board = buildLeaderboard([...results, other]);
    expect(board.rows.map((r) => r.upstream)).toEqual(["fbank (c)", "fbank (other)", "mfcc (c)"]);
  });

  it("json keeps missing cells as null", () => {
    const parsed = JSON.parse(formatLeaderboard(buildLeaderboard(results), "json")) as { rows: { upstream: string; values: Record<string, number | null> }[] };
    expect(parsed.rows.find((r) => r.upstream === "mfcc")!.values.asv).toBeNull();
  });
});

describe("leaderboard comparisons", () => {
  const onCorpus = (r: TaskResult, name: string): TaskResult => ({ ...r, corpus: { ...r.corpus, name } });
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
    expect(c).toMatchObject({ upstream: "refined − base", a: "base", b: "refined", corpus: "c" });
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

  it("never differences results from different corpora", () => {
    const split = [result("base", "pr", "per", 30), onCorpus(result("refined", "pr", "per", 20), "other")];
    const board = buildLeaderboard(split);
    expect(board.comparisons).toEqual([]);
    expect(board.notes).toEqual(["refined − base: not compared, the results come from different corpora (c vs other)."]);
    expect(formatLeaderboard(board, "markdown")).toContain("refined − base: not compared");

    // Both on corpus c, refined also on "other": one row for c, named with its corpus, and a note.
    const mixed = [...results, onCorpus(result("refined", "pr", "per", 20), "other")];
    const b2 = buildLeaderboard(mixed);
    expect(b2.comparisons.map((c) => c.upstream)).toEqual(["refined − base (c)"]);
    expect(b2.comparisons[0].values.pr!.difference).toBeCloseTo(-1.2, 9);
    expect(b2.notes).toEqual(["refined − base: not compared on corpus other, only refined has results there."]);
  });
});
