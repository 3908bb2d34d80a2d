import { describe, expect, it } from "vitest";
import { batchForStep, standardisedLayerMeans } from "../src/train.js";
import type { DatasetItem } from "../src/dataset.js";
import { Rng } from "../src/random.js";

// 160 utterances with lengths 50..449 frames in a scrambled order.
const rng = new Rng(11);
const utterances: DatasetItem[] = Array.from({ length: 160 }, (_, i) => ({
  id: `u${i}`,
  path: `u${i}.wav`,
  speaker: "s",
  durationSec: 0.5 + rng.uniform(0, 4),
}));
const lengthOf = (u: DatasetItem) => Math.round(u.durationSec * 100);
/** Frames a batch pads to, over frames it holds. */
const padding = (batch: DatasetItem[]) => (batch.length * Math.max(...batch.map(lengthOf))) / batch.reduce((s, u) => s + lengthOf(u), 0);
const epoch = (e: number, bucketed: boolean) => Array.from({ length: 10 }, (_, k) => batchForStep(utterances, 16, 3, e * 10 + k, false, bucketed ? lengthOf : undefined));

describe("training batches", () => {
  it("a bucketed epoch uses every utterance once and is reproducible", () => {
    const ids = epoch(1, true).flat().map((u) => u.id);
    expect(new Set(ids).size).toBe(160);
    expect(epoch(1, true).flat().map((u) => u.id)).toEqual(ids);
    expect(epoch(2, true).flat().map((u) => u.id)).not.toEqual(ids);
  });

  it("bucketing cuts the padding of random batches", () => {
    const mean = (bs: DatasetItem[][]) => bs.reduce((s, b) => s + padding(b), 0) / bs.length;
    const random = mean([1, 2, 3].flatMap((e) => epoch(e, false)));
    const bucketed = mean([1, 2, 3].flatMap((e) => epoch(e, true)));
    // Uniform lengths 50..450: a random batch of 16 pads to ~1.6x; sorted pools to ~1.2x.
    expect(random).toBeGreaterThan(1.4);
    expect(bucketed - 1).toBeLessThan((random - 1) / 2);
  });

  it("the SortaGrad epoch keeps the given order", () => {
    expect(batchForStep(utterances, 16, 3, 1, true, lengthOf).map((u) => u.id)).toEqual(utterances.slice(16, 32).map((u) => u.id));
  });
});

describe("standardisedLayerMeans", () => {
  it("averages each layer over frames, then standardises with the training statistics", () => {
    // 2 layers x 2 frames x 1 dim; layer means 2 and 15; (2 - 1) / 1 = 1 and (15 - 5) / 10 = 1.
    const m = standardisedLayerMeans(Float32Array.from([1, 3, 10, 20]), 2, 2, 1, { mean: Float32Array.from([1, 5]), invStd: Float32Array.from([1, 0.1]) });
    expect(Array.from(m)).toEqual([1, 1]);
  });
});

