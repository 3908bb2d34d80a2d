import { describe, expect, it } from "vitest";
import type { DatasetItem, TaskData } from "../src/dataset.js";
import { findTask } from "../src/registry.js";

const item = (id: string, label: string): DatasetItem => ({ id, path: `/x/${id}.wav`, durationSec: 1, speaker: "s", label });

describe("KS task", () => {
  it("scores accuracy over the 12 classes, with a per-class accuracy for each class in the test set", async () => {
    const ks = await findTask("ks");
    expect(ks.metric).toEqual({ name: "accuracy", higherIsBetter: true });
    expect(ks.poolsUtteranceMean).toBe(true);
    expect(ks.datasetKinds).toContain("speech_commands");
    const classes = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_unknown_", "_silence_"];
    const test = [item("a", "yes"), item("b", "yes"), item("c", "_silence_"), item("d", "_unknown_"), item("e", "go")];
    const data: TaskData = { splits: { train: test, dev: test, test }, classes };
    // Predicted class indices: a right (0 = yes), b wrong (1 = no), c right (11), d wrong (11), e right (9).
    const predictions = new Map<string, unknown>([["a", 0], ["b", 1], ["c", 11], ["d", 11], ["e", 9]]);
    const score = ks.score(predictions, test, "test", { data, inputDim: 4, frameRate: 50, seed: 0 });
    expect(score.value).toBe(60);
    expect(score.secondary).toEqual({ accuracy_yes: 50, accuracy_go: 100, accuracy__unknown_: 0, accuracy__silence_: 100 });
    // The balanced sampler keys on the class label.
    expect(ks.balanceBy?.(test[2])).toBe("_silence_");
    expect(() => ks.balanceBy?.({ ...test[0], label: undefined })).toThrow("without a class label");
  });
});
