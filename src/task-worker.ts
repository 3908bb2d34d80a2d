/**
 * Runs one task's training in a worker thread, so `--task all` uses both cores: the tfjs wasm
 * backend is single-threaded, and tasks are independent given their seed (the same results as a
 * sequential run).
 */
import { parentPort, workerData } from "node:worker_threads";
import { initTensorBackend } from "./backend.js";
import { loadCorpus } from "./corpus/generate.js";
import type { Split } from "./corpus/types.js";
import { FeatureStore, type FeatureIndex } from "./feature-cache.js";
import * as fs from "node:fs";
import { findTask } from "./registry.js";
import type { TrainingOptions } from "./task.js";
import { trainAndEvaluate, type TrainResult } from "./train.js";

export interface TaskJob {
  task: string;
  corpusDir: string;
  features: Record<Split, { index: string; bin: string }>;
  inputDim: number;
  frameRate: number;
  seed: number;
  options: TrainingOptions;
  checkpointPath: string;
  checkpointKey: string;
}

export type TaskWorkerMessage =
  | { type: "step"; task: string; loss: number }
  | { type: "done"; task: string; result: TrainResult }
  | { type: "error"; task: string; message: string; userError: boolean };

export function openStores(features: TaskJob["features"]): Record<Split, FeatureStore> {
  const stores = {} as Record<Split, FeatureStore>;
  for (const split of ["train", "dev", "test"] as const) {
    const index = JSON.parse(fs.readFileSync(features[split].index, "utf8")) as FeatureIndex;
    stores[split] = new FeatureStore(index, features[split].bin);
  }
  return stores;
}

async function runJob(job: TaskJob): Promise<void> {
  const port = parentPort!;
  try {
    await initTensorBackend();
    const corpus = await loadCorpus(job.corpusDir);
    const task = await findTask(job.task);
    const stores = openStores(job.features);
    const result = await trainAndEvaluate({
      task,
      context: { corpus, inputDim: job.inputDim, frameRate: job.frameRate, seed: job.seed },
      splits: task.splits(corpus),
      stores,
      options: job.options,
      seed: job.seed,
      checkpointPath: job.checkpointPath,
      checkpointKey: job.checkpointKey,
      progress: false,
      onStep: (loss) => port.postMessage({ type: "step", task: job.task, loss } satisfies TaskWorkerMessage),
    });
    for (const s of Object.values(stores)) s.close();
    port.postMessage({ type: "done", task: job.task, result } satisfies TaskWorkerMessage);
  } catch (err) {
    const e = err as Error;
    port.postMessage({ type: "error", task: job.task, message: e.message, userError: e.name === "UserError" } satisfies TaskWorkerMessage);
  }
}

if (parentPort && workerData) void runJob(workerData as TaskJob);
