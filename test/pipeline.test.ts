import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadAudio16k } from "../src/audio.js";
import { initTensorBackend } from "../src/backend.js";
import { ensureCorpus, TINY_PROFILE } from "../src/corpus/generate.js";
import type { Corpus, Split } from "../src/corpus/types.js";
import { ensureFeatures, featureCachePaths, type FeatureStore } from "../src/feature-cache.js";
import { createUpstream, findTask } from "../src/registry.js";
import { trainAndEvaluate } from "../src/train.js";
import type { Upstream } from "../src/upstream.js";

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-pipeline-"));
let corpus: Corpus;
let fbank: Upstream;

beforeAll(async () => {
  await initTensorBackend();
  corpus = await ensureCorpus({ profile: TINY_PROFILE, seed: 7, cacheDir, progress: false });
  fbank = await createUpstream("fbank");
});

async function featuresOf(upstream: Upstream): Promise<{ stores: Record<Split, FeatureStore>; extracted: boolean[] }> {
  const stores = {} as Record<Split, FeatureStore>;
  const extracted: boolean[] = [];
  for (const split of ["train", "dev", "test"] as const) {
    const r = await ensureFeatures({ upstream, corpus, split, cacheDir, loadAudio: (f) => loadAudio16k(f), progress: false });
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
    const utt = corpus.manifest.utterances.find((u) => u.split === "dev")!;
    const direct = await fbank.extractHiddenStates(loadAudio16k(path.join(corpus.dir, utt.path)));
    const cached = second.stores.dev.read(utt.id);
    expect(second.stores.dev.numFrames(utt.id)).toBe(direct.numFrames);
    expect(Array.from(cached)).toEqual(Array.from(direct.layers[0]));
    // Train-split statistics: mean of the first dimension over all train frames.
    let sum = 0;
    let frames = 0;
    for (const u of corpus.manifest.utterances.filter((x) => x.split === "train")) {
      const block = second.stores.train.read(u.id);
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
    expect(featureCachePaths(cacheDir, mfcc.identity, corpus, "train").dir).not.toBe(featureCachePaths(cacheDir, fbank.identity, corpus, "train").dir);
  });

  it("an interrupted extraction resumes from its last checkpoint, and the result equals a clean run", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-resume-"));
    const train = corpus.manifest.utterances.filter((u) => u.split === "train").length;
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
    const opts = { corpus, split: "train" as const, cacheDir: dir, loadAudio: (f: string) => loadAudio16k(f), progress: false, checkpointEvery: 3 };
    await expect(ensureFeatures({ ...opts, upstream: counting(6) })).rejects.toThrow("killed");
    expect(fs.existsSync(featureCachePaths(dir, fbank.identity, corpus, "train").index)).toBe(false);
    calls = 0;
    const resumed = await ensureFeatures({ ...opts, upstream: counting(-1) });
    // 5 utterances were done, the checkpoint holds 3: 3 are not extracted again.
    expect(calls).toBe(train - 3);
    const clean = (await featuresOf(fbank)).stores.train;
    expect(resumed.store.index.items).toEqual(clean.index.items);
    for (const item of clean.index.items) expect(Array.from(resumed.store.read(item.id))).toEqual(Array.from(clean.read(item.id)));
  });
});

describe("training", () => {
  it("is reproducible from the seed, and a run resumed from its checkpoint equals an uninterrupted one", async () => {
    const { stores } = await featuresOf(fbank);
    const task = await findTask("sid");
    const context = { corpus, inputDim: 80, frameRate: 100, seed: 5 };
    const splits = task.splits(corpus);
    const options = { learningRate: 5e-3, steps: 8, batchSize: 4, evalEvery: 4 };
    const run = (steps: number, checkpointPath?: string) =>
      trainAndEvaluate({ task, context, splits, stores, options: { ...options, steps }, seed: 5, checkpointPath, checkpointKey: "k", progress: false });
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
    expect(resumed.finalTrainLoss).toBeCloseTo(straight.finalTrainLoss, 5);
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
    const sid = await findTask("sid");
    expect(sid.poolsUtteranceMean).toBe(true);
    const context = { corpus, inputDim: 80, frameRate: 100, seed: 3 };
    const splits = sid.splits(corpus);
    const options = { learningRate: 1e-2, steps: 6, batchSize: 4, evalEvery: 3 };
    const run = (task: typeof sid) => trainAndEvaluate({ task, context, splits, stores, options, seed: 3, progress: false });
    const pooled = await run(sid);
    const frames = await run({ ...sid, poolsUtteranceMean: false });
    expect(pooled.finalTrainLoss).toBeCloseTo(frames.finalTrainLoss, 4);
    pooled.layerWeights.forEach((w, l) => expect(w).toBeCloseTo(frames.layerWeights[l], 5));
    expect(new Set(pooled.layerWeights.map((w) => w.toFixed(4))).size).toBeGreaterThan(1); // the weights did move
    expect(pooled.dev.value).toBe(frames.dev.value);
    expect(pooled.test.value).toBe(frames.test.value);
  });
});
