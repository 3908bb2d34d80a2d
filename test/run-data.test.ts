import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadItemAudio } from "../src/audio-file.js";
import { initTensorBackend } from "../src/backend.js";
import { ensureCorpus, TINY_PROFILE } from "../src/corpus/generate.js";
import type { DatasetItem, Split, TaskData } from "../src/dataset.js";
import { embeddedDataset } from "../src/datasets/embedded.js";
import { ensureFeatures, estimateCacheBytes, formatBytes, parseByteSize, type FeatureSource } from "../src/feature-cache.js";
import { createUpstream, findTask } from "../src/registry.js";
import { checkCachePlan, parseDataSpecs, planTaskData, UpstreamFeatureSource, type TaskDataPlan } from "../src/run-data.js";
import { balancedBatchForStep, trainAndEvaluate } from "../src/train.js";
import type { Upstream } from "../src/upstream.js";
import { expectUserError } from "./helpers/errors.js";

const item = (id: string, durationSec: number, label?: string): DatasetItem => ({ id, path: `/x/${id}.wav`, durationSec, speaker: "s", label });

describe("cache sizes", () => {
  it("parses and formats byte sizes", () => {
    expect(parseByteSize("50GB")).toBe(50e9);
    expect(parseByteSize("512MiB")).toBe(512 * 1024 ** 2);
    expect(parseByteSize("1.5t")).toBe(1.5e12);
    expect(parseByteSize("1000")).toBe(1000);
    expect(formatBytes(1234)).toBe("1.2 KB");
    expect(formatBytes(2.5e12)).toBe("2.5 TB");
    expect(() => parseByteSize("lots")).toThrow("--cache-budget lots: expected a size");
  });

  it("estimates frames x layers x dims x bytes, or one frame per item for means", () => {
    const up = { numLayers: 13, hiddenSize: 768, frameRate: 50 };
    // 2.0 s -> 100 frames, 1.01 s -> ceil(50.5) = 51 frames: 151 frames x 13 x 768 x 4 bytes.
    const items = [item("a", 2), item("b", 1.01)];
    expect(estimateCacheBytes(up, items, "frames", "float32")).toBe(151 * 13 * 768 * 4);
    expect(estimateCacheBytes(up, items, "frames", "float16")).toBe(151 * 13 * 768 * 2);
    expect(estimateCacheBytes(up, items, "means", "float32")).toBe(2 * 13 * 768 * 4);
    // LibriSpeech train-clean-100 (100.6 h) through wav2vec2-base: 18.1 M frames x 13 x 768 x 4 = 723 GB.
    const hours = [item("ls", 100.6 * 3600)];
    expect(formatBytes(estimateCacheBytes(up, hours, "frames", "float32"))).toBe("723 GB");
  });
});

describe("class-balanced batches (KS)", () => {
  it("draw every class about equally however unbalanced the split is", () => {
    // 90 items of class a, 9 of b, 1 of c.
    const train = [...Array.from({ length: 90 }, (_, i) => item(`a${i}`, 1, "a")), ...Array.from({ length: 9 }, (_, i) => item(`b${i}`, 1, "b")), item("c0", 1, "c")];
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (let step = 0; step < 300; step++) for (const u of balancedBatchForStep(train, (x) => x.label!, 10, 1, step)) counts[u.label!]++;
    // 3000 draws, a third each: binomial sd ~26, so 1000 +- 100 holds with a wide margin.
    for (const c of ["a", "b", "c"]) expect(Math.abs(counts[c] - 1000)).toBeLessThan(100);
    expect(balancedBatchForStep(train, (x) => x.label!, 10, 1, 7).map((u) => u.id)).toEqual(balancedBatchForStep(train, (x) => x.label!, 10, 1, 7).map((u) => u.id));
  });
});

describe("data specs", () => {
  it("reject a malformed spec, an unknown kind, a kind given twice, and a test set without its training archive", async () => {
    await expectUserError(() => parseDataSpecs(["librispeech"]), "--data librispeech: expected KIND=DIR");
    await expectUserError(() => parseDataSpecs(["timit=/x"]), 'unknown dataset kind "timit"', "librispeech");
    await expectUserError(() => parseDataSpecs(["fsc=/a", "fsc=/b"]), "fsc is given twice");
    await expectUserError(() => parseDataSpecs(["speech_commands_test=/t"]), "give --data speech_commands=DIR as well");
    const ok = await parseDataSpecs(["speech_commands=/sc", "speech_commands_test=/t"]);
    expect(ok.get("speech_commands")).toEqual({ root: path.resolve("/sc"), subsets: { test: path.resolve("/t") } });
  });

  it("a kind no selected task reads is an error, and a missing root is named", async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-plan-"));
    const tasks = await Promise.all(["ic", "sid"].map(findTask));
    await expectUserError(() => planTaskData(tasks, { data: ["librispeech=/nonexistent"], cacheDir }), "none of the tasks ic, sid reads librispeech", "it serves asr, pr");
    await expectUserError(() => planTaskData(tasks, { data: ["voxceleb1=/nonexistent/vox"], cacheDir }), "/nonexistent/vox: no such folder");
  });
});

describe("feature sources", () => {
  let fbank: Upstream;
  let plan: TaskDataPlan;
  let sid: TaskData;
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-sources-"));

  beforeAll(async () => {
    await initTensorBackend();
    const corpus = await ensureCorpus({ profile: TINY_PROFILE, seed: 11, cacheDir, progress: false });
    const dataset = embeddedDataset(corpus);
    sid = dataset.taskData("sid");
    plan = { task: await findTask("sid"), dataset, data: sid };
    fbank = await createUpstream("fbank");
  });

  it("the cache plan stops over --cache-budget with the size and what to do", () => {
    const logs: string[] = [];
    const bytes = (["train", "dev", "test"] as const).reduce((s, k) => s + estimateCacheBytes(fbank, sid.splits[k], "means", "float32"), 0);
    expect(() => checkCachePlan([fbank], [plan], cacheDir, { dtype: "float32", budgetBytes: bytes - 1 }, (m) => logs.push(m))).toThrow(`feature cache: ${formatBytes(bytes)} needed, over --cache-budget ${formatBytes(bytes - 1)} (--cache-dtype float16 halves it`);
    expect(() => checkCachePlan([fbank], [plan], cacheDir, { dtype: "float32", budgetBytes: bytes }, (m) => logs.push(m))).not.toThrow();
    // Two upstreams of a run share the budget: the same store twice is twice the bytes.
    expect(() => checkCachePlan([fbank, fbank], [plan], cacheDir, { dtype: "float32", budgetBytes: bytes }, () => {})).toThrow(`${formatBytes(2 * bytes)} needed`);
    expect(logs.at(-1)).toContain(`feature cache: ${formatBytes(bytes)} to extract for fbank (1 layers x 80 dims, float32; 0 of 3 stores already cached)`);
  });

  it("--no-cache (the upstream run per batch) trains the same model as the cache, up to the statistics' sample", async () => {
    const stores = {} as Record<Split, FeatureSource>;
    const live = {} as Record<Split, FeatureSource>;
    for (const split of ["train", "dev", "test"] as const) {
      stores[split] = (await ensureFeatures({ upstream: fbank, items: sid.splits[split], dataset: plan.dataset.fingerprint, cacheDir, loadAudio: (i) => loadItemAudio(i), progress: false })).store;
      live[split] = await UpstreamFeatureSource.create(fbank, sid.splits[split], (i) => loadItemAudio(i));
    }
    // The tiny corpus has fewer than 64 training items: the live statistics use every one, as the cache does.
    for (let k = 0; k < 80; k++) {
      expect(live.train.mean[k]).toBeCloseTo(stores.train.mean[k], 4);
      expect(live.train.std[k]).toBeCloseTo(stores.train.std[k], 4);
    }
    const u = sid.splits.dev[0];
    expect(Array.from(await live.dev.read(u.id))).toEqual(Array.from(await stores.dev.read(u.id)));
    const options = { learningRate: 5e-3, steps: 6, batchSize: 4, evalEvery: 3 };
    const run = (s: Record<Split, FeatureSource>) => trainAndEvaluate({ task: plan.task, context: { data: sid, inputDim: 80, frameRate: 100, seed: 2 }, stores: s, options, seed: 2, progress: false });
    const cached = await run(stores);
    const uncached = await run(live);
    expect(uncached.finalTrainLoss).toBeCloseTo(cached.finalTrainLoss, 3);
    expect(uncached.test.value).toBe(cached.test.value);
  });
});
