import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { compareSystems, COMMENT_MARKER, formatComparison, hasRegression } from "../src/compare.js";
import { equalErrorRate } from "../src/metrics.js";
import { testSetHash, writeResult, type TaskResult } from "../src/results.js";
import type { ItemOutput } from "../src/task.js";
import { superb } from "./helpers/cli.js";
import { expectUserError } from "./helpers/errors.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-compare-"));

/** A result and its items, as a run writes them; value and secondary follow from the items. */
function put(dir: string, upstream: string, task: string, seed: number, metric: TaskResult["metric"], items: ItemOutput[], value: number, secondary: Record<string, number> = {}): void {
  const result = {
    upstream, upstreamIdentity: upstream, task, metric, value, higherIsBetter: metric === "accuracy", secondary, devValue: value, layerWeights: [1],
    dataset: { kind: "embedded", name: "fixture", hash: "h", counts: { train: { utterances: 1, hours: 0, speakers: 1 }, dev: { utterances: 1, hours: 0, speakers: 1 }, test: { utterances: items.length, hours: 0, speakers: 1 } } },
    seed, testSet: { hash: testSetHash(items), items: items.length },
    training: { learningRate: 1e-3, steps: 1, batchSize: 1, bestStep: 1, finalTrainLoss: 0, resumedFromStep: 0 },
    seconds: { extract: 0, train: 0, evaluate: 0 }, backend: "cpu", version: "test", gitCommit: null, createdAt: "2026-12-03T00:00:00Z",
  } satisfies TaskResult;
  writeResult(dir, result, items);
}

/** 100 KS items; `right(i)` says whether item i is predicted correctly. */
function labels(right: (i: number) => boolean): { items: ItemOutput[]; accuracy: number } {
  const items: ItemOutput[] = Array.from({ length: 100 }, (_, i) => ({ kind: "label", id: `u${String(i).padStart(3, "0")}`, truth: `c${i % 4}`, predicted: right(i) ? `c${i % 4}` : `c${(i + 1) % 4}` }));
  return { items, accuracy: items.filter((x) => x.kind === "label" && x.truth === x.predicted).length };
}

describe("superb compare", () => {
  const dir = path.join(tmp, "results");
  // A is right on items 0..59; B on 0..59 and 70..99 as well: 30 discordant pairs, all for B.
  const a = labels((i) => i < 60);
  const b = labels((i) => i < 60 || i >= 70);
  put(dir, "old", "ks", 0, "accuracy", a.items, a.accuracy);
  put(dir, "new", "ks", 0, "accuracy", b.items, b.accuracy);

  it("calls a clearly better system better: exact McNemar p = 2/2^30, interval on the improving side", () => {
    const [row] = compareSystems({ a: "old", b: "new", resultsDirA: dir, resultsDirB: dir, resamples: 2000 });
    expect(row).toMatchObject({ task: "ks", metric: "accuracy", a: 60, b: 90, difference: 30, test: "mcnemar-exact", verdict: "better", items: 100 });
    expect(row.pValue).toBeCloseTo(2 / 2 ** 30, 15); // n01 = 0, n10 = 30: two-sided 2 · 0.5^30
    expect(row.ci[0]).toBeGreaterThan(0);
    expect(row.ci[0]).toBeLessThan(30);
    expect(row.ci[1]).toBeGreaterThan(30);
    expect(hasRegression([row])).toBe(false);
  });

  it("against itself: difference 0, interval [0, 0], p = 1, inconclusive", () => {
    const [row] = compareSystems({ a: "new", b: "new", resultsDirA: dir, resultsDirB: dir });
    expect(row).toMatchObject({ difference: 0, ci: [0, 0], pValue: 1, pAdjusted: 1, verdict: "inconclusive" });
  });

  it("reversed, it is a regression unless the margin tolerates it", () => {
    const [worse] = compareSystems({ a: "new", b: "old", resultsDirA: dir, resultsDirB: dir });
    expect(worse.verdict).toBe("worse");
    expect(hasRegression([worse])).toBe(true);
    const [tolerated] = compareSystems({ a: "new", b: "old", resultsDirA: dir, resultsDirB: dir, margins: { ks: 60 } });
    expect(tolerated.verdict).toBe("inconclusive");
  });

  it("refuses, in one line, results computed on different test sets", async () => {
    const other = path.join(tmp, "other");
    const shifted = labels((i) => i < 60);
    shifted.items.pop(); // one item fewer: another test set
    put(other, "new", "ks", 0, "accuracy", shifted.items, (100 * 60) / 99);
    await expectUserError(() => compareSystems({ a: "old", b: "new", resultsDirA: dir, resultsDirB: other }), /^compare old new: ks: computed on different test sets \([0-9a-f]{16} vs [0-9a-f]{16}\)/);
  });

  it("refuses per-item files that do not reproduce their result's value", async () => {
    const bad = path.join(tmp, "bad");
    put(bad, "x", "ks", 0, "accuracy", a.items, 61);
    put(bad, "y", "ks", 0, "accuracy", a.items, 60);
    await expectUserError(() => compareSystems({ a: "x", b: "y", resultsDirA: bad, resultsDirB: bad }), "ks.items.jsonl: its items give accuracy 60, the result says 61");
  });

  it("markdown is one comment led by the hidden marker; JSON rows carry the documented fields", () => {
    const rows = compareSystems({ a: "old", b: "new", resultsDirA: dir, resultsDirB: dir });
    const md = formatComparison(rows, "markdown", "old", "new");
    expect(md.split("\n")[0]).toBe(COMMENT_MARKER);
    expect(md).toContain("No significant regression.");
    const json = JSON.parse(formatComparison(rows, "json", "old", "new")) as Record<string, unknown>[];
    expect(Object.keys(json[0])).toEqual(expect.arrayContaining(["task", "metric", "a", "b", "difference", "ci", "pValue", "verdict"]));
  });

  it("ASV: EER and minDCF rows, trials resampled by speaker; several seeds averaged, their spread reported", () => {
    const asv = path.join(tmp, "asv");
    // 8 speakers x 10 trials; A's scores separate targets from non-targets worse than B's.
    const trials = (separation: number, jitter: number): ItemOutput[] =>
      Array.from({ length: 80 }, (_, i) => {
        const label = (Math.floor(i / 8) % 2) as 0 | 1; // every speaker has targets and non-targets
        const noise = Math.sin(i * 12.9898 + jitter) * 0.5;
        return { kind: "trial", enroll: `spk${i % 8}-e${i}`, test: `t${i}`, label, score: label * separation + noise, speaker: `spk${i % 8}` };
      });
    const eer = (items: ItemOutput[]) => equalErrorRate(items.map((t) => (t as { score: number }).score), items.map((t) => (t as { label: 0 | 1 }).label)).eer;
    for (const [name, sep] of [["weak", 0.1], ["strong", 1.2]] as const) {
      for (const seed of [0, 1, 2]) {
        const items = trials(sep, seed);
        put(asv, name, "asv", seed, "eer", items, eer(items));
      }
    }
    const rows = compareSystems({ a: "weak", b: "strong", resultsDirA: asv, resultsDirB: asv, resamples: 500 });
    expect(rows.map((r) => r.metric)).toEqual(["eer", "minDCF"]);
    const [row] = rows;
    const mean = (sep: number) => [0, 1, 2].reduce((s, seed) => s + eer(trials(sep, seed)), 0) / 3;
    expect(row.a).toBeCloseTo(mean(0.1), 10);
    expect(row.b).toBeCloseTo(mean(1.2), 10);
    expect(row.difference).toBeCloseTo(mean(1.2) - mean(0.1), 10);
    expect(row.test).toBe("paired-bootstrap");
    expect(row.seeds).toEqual({ a: [0, 1, 2], b: [0, 1, 2] });
    expect(row.seedSd.a).not.toBeNull();
    expect(row.verdict).toBe("better");
  });

  it("--fail-on-regression exits 1 exactly on a significant regression", async () => {
    const worse = await superb(["compare", "new", "old", "-r", dir, "--fail-on-regression"]);
    expect(worse.code).toBe(1);
    expect(worse.stderr).toMatch(/old is significantly worse than new on ks/);
    const fine = await superb(["compare", "old", "new", "-r", dir, "--fail-on-regression", "--format", "json"]);
    expect(fine.code).toBe(0);
    expect((JSON.parse(fine.stdout) as { verdict: string }[])[0].verdict).toBe("better");
  });
});
