import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadItemAudio } from "../src/audio-file.js";
import { initTensorBackend } from "../src/backend.js";
import { ensureCorpus, TINY_PROFILE } from "../src/corpus/generate.js";
import type { Dataset, Split } from "../src/dataset.js";
import { embeddedDataset } from "../src/datasets/embedded.js";
import { ensureFeatures, type FeatureStore } from "../src/feature-cache.js";
import { createUpstream, findTask, listTasks } from "../src/registry.js";
import { decodeSafetensors, encodeSafetensors } from "../src/safetensors.js";
import { trainAndEvaluate, type TrainResult } from "../src/train.js";
import type { Upstream } from "../src/upstream.js";
import { expectUserError } from "./helpers/errors.js";

const TASK_NAMES = (await listTasks()).map((t) => t.name);
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "superb-resume-"));
let dataset: Dataset;
let fbank: Upstream;

beforeAll(async () => {
  await initTensorBackend();
  // The tiny profile with enough utterances per speaker for ASV's dev trials to hold same-speaker pairs.
  const profile = { ...TINY_PROFILE, name: "tiny-resume", uttsPerSeenSpeaker: 14 };
  dataset = embeddedDataset(await ensureCorpus({ profile, seed: 7, cacheDir, progress: false }));
  fbank = await createUpstream("fbank");
});

async function storesOf(taskName: string): Promise<Record<Split, FeatureStore>> {
  const data = dataset.taskData(taskName);
  const stores = {} as Record<Split, FeatureStore>;
  for (const split of ["train", "dev", "test"] as const) {
    stores[split] = (await ensureFeatures({ upstream: fbank, items: data.splits[split], dataset: dataset.fingerprint, cacheDir, loadAudio: (item) => loadItemAudio(item), progress: false })).store;
  }
  return stores;
}

/**
 * Ten steps with a dev evaluation (and checkpoint) every five; `interruptAt` throws from inside
 * the loop, as a kill would stop it. Step 5 matters: Adam's beta2^6 computed by pow() differs in
 * float32 from the product of six beta2 factors training uses, so a resume that rebuilds it
 * instead of restoring it drifts.
 */
async function train(taskName: string, checkpointPath?: string, interruptAt?: number): Promise<TrainResult> {
  const task = await findTask(taskName);
  const context = { data: dataset.taskData(taskName), inputDim: fbank.hiddenSize, frameRate: fbank.frameRate, seed: 3 };
  let steps = 0;
  return trainAndEvaluate({
    task,
    context,
    stores: await storesOf(taskName),
    options: { learningRate: 5e-3, steps: 10, batchSize: 4, evalEvery: 5 },
    seed: 3,
    checkpointPath,
    checkpointKey: `resume-test-${taskName}`,
    progress: false,
    onStep: () => {
      steps += 1;
      if (steps === interruptAt) throw new Error("interrupted");
    },
  });
}

const checkpointIn = (name: string) => path.join(fs.mkdtempSync(path.join(cacheDir, `${name}-`)), "task.checkpoint.safetensors");

describe("a resumed training run", () => {
  it.each(TASK_NAMES)("%s: is bit-identical to the uninterrupted one", async (taskName) => {
    const straight = await train(taskName);
    const ckpt = checkpointIn(taskName);
    // Killed at step 7, two steps after the checkpoint of step 5: their work is lost and redone.
    await expect(train(taskName, ckpt, 7)).rejects.toThrow("interrupted");
    expect(fs.existsSync(ckpt)).toBe(true);
    const resumed = await train(taskName, ckpt);
    expect(resumed.resumedFromStep).toBe(5);
    expect(resumed.stepsRun).toBe(5);
    expect(resumed.test).toEqual(straight.test);
    expect(resumed.dev).toEqual(straight.dev);
    expect(resumed.layerWeights).toEqual(straight.layerWeights);
    expect(resumed.finalTrainLoss).toBe(straight.finalTrainLoss);
    expect(resumed.bestStep).toBe(straight.bestStep);
  });

  it("killed after its last checkpoint, reports the last step's loss without training again", async () => {
    const straight = await train("ic");
    const ckpt = checkpointIn("ic-last");
    // The last step saves the final checkpoint; failing right after it (in the test evaluation) leaves it in place.
    let calls = 0;
    const task = await findTask("ic");
    const failingScore: typeof task = { ...task, score: (p, u, split, c) => { if (split === "test" && ++calls === 1) throw new Error("interrupted"); return task.score(p, u, split, c); } };
    const context = { data: dataset.taskData("ic"), inputDim: fbank.hiddenSize, frameRate: fbank.frameRate, seed: 3 };
    const opts = { task: failingScore, context, stores: await storesOf("ic"), options: { learningRate: 5e-3, steps: 10, batchSize: 4, evalEvery: 5 }, seed: 3, checkpointPath: ckpt, checkpointKey: "resume-test-ic", progress: false };
    await expect(trainAndEvaluate(opts)).rejects.toThrow("interrupted");
    const resumed = await trainAndEvaluate(opts);
    expect(resumed.stepsRun).toBe(0);
    expect(resumed.finalTrainLoss).toBe(straight.finalTrainLoss);
    expect(resumed.test).toEqual(straight.test);
  });
});

describe("a malformed training checkpoint", () => {
  /** A real checkpoint of step 5, for each case to damage. */
  async function checkpoint(): Promise<{ file: string; bytes: Uint8Array }> {
    const file = checkpointIn("bad");
    await expect(train("sid", file, 6)).rejects.toThrow("interrupted");
    return { file, bytes: fs.readFileSync(file) };
  }
  function rewrite(file: string, bytes: Uint8Array, edit: (c: ReturnType<typeof decodeSafetensors>) => void): void {
    const content = decodeSafetensors(bytes, file);
    edit(content);
    fs.writeFileSync(file, encodeSafetensors(content.tensors, content.metadata));
  }
  const cases: [string, (file: string, bytes: Uint8Array) => void, RegExp][] = [
    ["truncated", (f, b) => fs.writeFileSync(f, b.subarray(0, Math.floor(b.length / 2))), /truncated/],
    ["bestDev not JSON", (f, b) => rewrite(f, b, (c) => (c.metadata.bestDev = "{value:")), /bestDev is not JSON/],
    ["optimizerNames not an array", (f, b) => rewrite(f, b, (c) => (c.metadata.optimizerNames = '"adam"')), /optimizerNames must list \d+ names/],
    ["an optimizer tensor missing", (f, b) => rewrite(f, b, (c) => c.tensors.delete("optimizer.2")), /tensor optimizer\.2 is missing/],
    ["a wrong shape", (f, b) => rewrite(f, b, (c) => c.tensors.set("current.featurizer.weights", { shape: [2], data: new Float32Array(2) })), /tensor current\.featurizer\.weights has shape \[2\], the model needs \[1\]/],
    ["a negative step", (f, b) => rewrite(f, b, (c) => (c.metadata.step = "-3")), /step "-3" is not an integer/],
    ["a huge step", (f, b) => rewrite(f, b, (c) => (c.metadata.step = "1e300")), /step "1e300" is not an integer/],
    ["NaN weights", (f, b) => rewrite(f, b, (c) => c.tensors.get("best.featurizer.weights")!.data.fill(NaN)), /best\.featurizer\.weights holds NaN/],
  ];
  it.each(cases)("%s: one line naming it, moved aside, and the rerun starts from step 0", async (_name, damage, problem) => {
    const { file, bytes } = await checkpoint();
    damage(file, bytes);
    await expectUserError(() => train("sid", file), file, "malformed training checkpoint", problem, /moved it to .*\.corrupt-/);
    expect(fs.existsSync(file)).toBe(false);
    const aside = fs.readdirSync(path.dirname(file)).filter((f) => f.includes(".corrupt-"));
    expect(aside).toHaveLength(1);
    const rerun = await train("sid", file);
    expect(rerun.resumedFromStep).toBe(0);
    expect(rerun.stepsRun).toBe(10);
  });
});
