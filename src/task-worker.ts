/**
 * Runs one task's training in a worker thread, so `--task all` uses both cores: the tfjs wasm
 * backend is single-threaded, and tasks are independent given their seed (the same results as a
 * sequential run).
 */
import { parentPort, workerData } from "node:worker_threads";
import { initTensorBackend } from "./backend.js";
import type { Split, TaskData } from "./dataset.js";
import { openFeatureStore, type FeatureStore } from "./feature-cache.js";
import { findTask } from "./registry.js";
import type { TrainingOptions } from "./task.js";
import { trainAndEvaluate, type TrainResult } from "./train.js";

export interface TaskJob {
  /** The upstream spec whose features these are. */
  upstream: string;
  task: string;
  /** The task's splits and label sets (structured-cloned to the worker). */
  data: TaskData;
  /** Index file of each split's feature store. */
  features: Record<Split, string>;
  inputDim: number;
  frameRate: number;
  seed: number;
  options: TrainingOptions;
  checkpointPath: string;
  checkpointKey: string;
}

export type TaskWorkerMessage =
  | { type: "step"; task: string; loss: number }
  | { type: "notice"; task: string; message: string }
  | { type: "done"; task: string; result: TrainResult }
  | { type: "error"; task: string; message: string; userError: boolean };

export function openStores(features: TaskJob["features"]): Record<Split, FeatureStore> {
  return { train: openFeatureStore(features.train), dev: openFeatureStore(features.dev), test: openFeatureStore(features.test) };
}

async function runJob(job: TaskJob): Promise<void> {
  const port = parentPort!;
  try {
    await initTensorBackend();
    const task = await findTask(job.task);
    const stores = openStores(job.features);
    const result = await trainAndEvaluate({
      task,
      context: { data: job.data, inputDim: job.inputDim, frameRate: job.frameRate, seed: job.seed },
      stores,
      options: job.options,
      seed: job.seed,
      checkpointPath: job.checkpointPath,
      checkpointKey: job.checkpointKey,
      progress: false,
      onStep: (loss) => port.postMessage({ type: "step", task: job.task, loss } satisfies TaskWorkerMessage),
      onNotice: (message) => port.postMessage({ type: "notice", task: job.task, message } satisfies TaskWorkerMessage),
    });
    for (const s of new Set(Object.values(stores))) s.close();
    port.postMessage({ type: "done", task: job.task, result } satisfies TaskWorkerMessage);
  } catch (err) {
    const e = err as Error;
    port.postMessage({ type: "error", task: job.task, message: e.message, userError: e.name === "UserError" } satisfies TaskWorkerMessage);
  }
}

if (parentPort && workerData) void runJob(workerData as TaskJob);
