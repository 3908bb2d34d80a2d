import { describe, expect, it } from "vitest";
import { buildLeaderboard, formatLeaderboard } from "../src/leaderboard.js";
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
