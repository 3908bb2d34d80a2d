import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadAudio16k } from "../src/audio.js";
import { loadItemAudio } from "../src/audio-file.js";
import { initTensorBackend } from "../src/backend.js";
import { ensureCorpus, TINY_PROFILE } from "../src/corpus/generate.js";
import type { Corpus } from "../src/corpus/types.js";
import type { Dataset, DatasetItem, Split, TaskData } from "../src/dataset.js";
import { embeddedDataset } from "../src/datasets/embedded.js";
import { ensureFeatures, featureCachePaths, type FeatureStore } from "../src/feature-cache.js";
import { createUpstream, findTask } from "../src/registry.js";
import { trainAndEvaluate } from "../src/train.js";
import type { Upstream } from "../src/upstream.js";

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-pipeline-"));
let corpus: Corpus;
let dataset: Dataset;
/** SID's view of the corpus: its splits are what the feature stores hold. */
let sid: TaskData;
let fbank: Upstream;

beforeAll(async () => {
  await initTensorBackend();
  corpus = await ensureCorpus({ profile: TINY_PROFILE, seed: 7, cacheDir, progress: false });
  dataset = embeddedDataset(corpus);
  sid = dataset.taskData("sid");
  fbank = await createUpstream("fbank");
});

async function featuresOf(upstream: Upstream): Promise<{ stores: Record<Split, FeatureStore>; extracted: boolean[] }> {
  const stores = {} as Record<Split, FeatureStore>;
  const extracted: boolean[] = [];
  for (const split of ["train", "dev", "test"] as const) {
    const r = await ensureFeatures({ upstream, items: sid.splits[split], dataset: dataset.fingerprint, cacheDir, loadAudio: (item) => loadItemAudio(item), progress: false });
    stores[split] = r.store;
    extracted.push(r.extracted);
  }
  return { stores, extracted };
}

describe("feature cache", () => {
  it("extracts once, then reuses; the stored frames equal the upstream's output", async () => {
    const first = await featuresOf(fbank);
    expect(first.extracted).toEqual([true, true, true]);
    const second = await featuresOf(fbank);
    expect(second.extracted).toEqual([false, false, false]);
    const utt = sid.splits.dev[0];
    const direct = await fbank.extractHiddenStates(loadAudio16k(utt.path));
    const cached = second.stores.dev.readSync(utt.id);
    expect(second.stores.dev.numFrames(utt.id)).toBe(direct.numFrames);
    expect(Array.from(cached)).toEqual(Array.from(direct.layers[0]));
    // Train-split statistics: mean of the first dimension over all train frames.
    let sum = 0;
    let frames = 0;
    for (const u of sid.splits.train) {
      const block = second.stores.train.readSync(u.id);
      const T = second.stores.train.numFrames(u.id);
      for (let t = 0; t < T; t++) sum += block[t * 80];
      frames += T;
    }
    expect(second.stores.train.index.mean[0]).toBeCloseTo(sum / frames, 3);
  });

  it("a different upstream gets its own entry", async () => {
    const mfcc = await createUpstream("mfcc");
    const r = await featuresOf(mfcc);
    expect(r.extracted).toEqual([true, true, true]);
    expect(r.stores.train.dim).toBe(39);
    const pathOf = (u: Upstream) => featureCachePaths(cacheDir, u.identity, dataset.fingerprint, sid.splits.train, "frames", "float32").dir;
    expect(pathOf(mfcc)).not.toBe(pathOf(fbank));
  });

  it("an interrupted extraction resumes from its last checkpoint, and the result equals a clean run", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-resume-"));
    const train = sid.splits.train.length;
    expect(train).toBeGreaterThan(6);
    let calls = 0;
    const counting = (failAt: number): Upstream => ({
      ...fbank,
      extractHiddenStates: async (audio) => {
        calls += 1;
        if (calls === failAt) throw new Error("killed");
        return fbank.extractHiddenStates(audio);
      },
    });
    const opts = { items: sid.splits.train, dataset: dataset.fingerprint, cacheDir: dir, loadAudio: (item: DatasetItem) => loadItemAudio(item), progress: false, checkpointEvery: 3 };
    await expect(ensureFeatures({ ...opts, upstream: counting(6) })).rejects.toThrow("killed");
    expect(fs.existsSync(featureCachePaths(dir, fbank.identity, dataset.fingerprint, sid.splits.train, "frames", "float32").index)).toBe(false);
    calls = 0;
    const resumed = await ensureFeatures({ ...opts, upstream: counting(-1) });
    // 5 utterances were done, the checkpoint holds 3: 3 are not extracted again.
    expect(calls).toBe(train - 3);
    const clean = (await featuresOf(fbank)).stores.train;
    expect(resumed.store.index.items).toEqual(clean.index.items);
    for (const item of clean.index.items) expect(Array.from(resumed.store.readSync(item.id))).toEqual(Array.from(clean.readSync(item.id)));
  });
});

describe("training", () => {
  it("is reproducible from the seed, and a run resumed from its checkpoint equals an uninterrupted one", async () => {
    const { stores } = await featuresOf(fbank);
    const task = await findTask("sid");
    const context = { data: sid, inputDim: 80, frameRate: 100, seed: 5 };
    const options = { learningRate: 5e-3, steps: 8, batchSize: 4, evalEvery: 4 };
    const run = (steps: number, checkpointPath?: string) =>
      trainAndEvaluate({ task, context, stores, options: { ...options, steps }, seed: 5, checkpointPath, checkpointKey: "k", progress: false });
    const straight = await run(8);
    const again = await run(8);
    expect(again.layerWeights).toEqual(straight.layerWeights);
    expect(again.finalTrainLoss).toBe(straight.finalTrainLoss);

    const ckpt = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "superb-ckpt-")), "sid.safetensors");
    const half = await run(4, ckpt); // "interrupted" after 4 steps: its checkpoint stays
    expect(half.resumedFromStep).toBe(0);
    expect(fs.existsSync(ckpt)).toBe(true);
    const resumed = await run(8, ckpt);
    expect(resumed.resumedFromStep).toBe(4);
    expect(resumed.stepsRun).toBe(4);
    expect(resumed.finalTrainLoss).toBe(straight.finalTrainLoss);
    expect(resumed.test.value).toBe(straight.test.value);
    expect(resumed.dev.value).toBe(straight.dev.value);
  });

  it("a mean-pooling task trains on per-utterance layer means exactly as on the frames", async () => {
    // Three layers, so the featurizer's weights matter: fbank, a scaled and shifted copy, its square.
    const layered: Upstream = {
      ...fbank,
      name: "fbank-x3",
      identity: `${fbank.identity}-x3`,
      numLayers: 3,
      extractHiddenStates: async (audio) => {
        const h = await fbank.extractHiddenStates(audio);
        const [x] = h.layers;
        return { ...h, layers: [x, x.map((v) => 0.5 * v + 3), x.map((v) => (v * v) / 10)] };
      },
    };
    const { stores } = await featuresOf(layered);
    const sidTask = await findTask("sid");
    expect(sidTask.poolsUtteranceMean).toBe(true);
    const context = { data: sid, inputDim: 80, frameRate: 100, seed: 3 };
    const options = { learningRate: 1e-2, steps: 6, batchSize: 4, evalEvery: 3 };
    const run = (task: typeof sidTask, st = stores) => trainAndEvaluate({ task, context, stores: st, options, seed: 3, progress: false });
    const pooled = await run(sidTask);
    const frames = await run({ ...sidTask, poolsUtteranceMean: false });
    expect(pooled.finalTrainLoss).toBeCloseTo(frames.finalTrainLoss, 4);
    pooled.layerWeights.forEach((w, l) => expect(w).toBeCloseTo(frames.layerWeights[l], 5));
    expect(new Set(pooled.layerWeights.map((w) => w.toFixed(4))).size).toBeGreaterThan(1); // the weights did move
    expect(pooled.dev.value).toBe(frames.dev.value);
    expect(pooled.test.value).toBe(frames.test.value);
    // A "means" store (what a run caches for pooling tasks) trains to the same model, in float16 too.
    for (const dtype of ["float32", "float16"] as const) {
      const meansStores = {} as Record<Split, FeatureStore>;
      for (const split of ["train", "dev", "test"] as const) {
        meansStores[split] = (await ensureFeatures({ upstream: layered, items: sid.splits[split], dataset: dataset.fingerprint, cacheDir, mode: "means", dtype, loadAudio: (item) => loadItemAudio(item), progress: false })).store;
      }
      expect(meansStores.train.numFrames(sid.splits.train[0].id)).toBe(1);
      expect(meansStores.train.sourceFrames(sid.splits.train[0].id)).toBe(stores.train.numFrames(sid.splits.train[0].id));
      const fromMeans = await run(sidTask, meansStores);
      const digits = dtype === "float32" ? 4 : 2;
      expect(fromMeans.finalTrainLoss).toBeCloseTo(pooled.finalTrainLoss, digits);
      fromMeans.layerWeights.forEach((w, l) => expect(w).toBeCloseTo(pooled.layerWeights[l], digits + 1));
      if (dtype === "float32") expect(fromMeans.test.value).toBe(pooled.test.value);
    }
  });
});
