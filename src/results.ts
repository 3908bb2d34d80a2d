import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { MetricName } from "./task.js";
import type { Split } from "./dataset.js";
import { oneLine, UserError } from "./errors.js";
import { writeFileAtomic } from "./fs-atomic.js";

/** One task's result for one upstream: the unit of the leaderboard. */
export interface TaskResult {
  upstream: string;
  upstreamIdentity: string;
  task: string;
  metric: MetricName;
  /** The metric as a percentage. */
  value: number;
  higherIsBetter: boolean;
  secondary: Record<string, number>;
  /** Dev score of the selected model (same metric). */
  devValue: number;
  /** Softmax-normalised featurizer weights, one per upstream layer (sum 1). */
  layerWeights: number[];
  /** What the task ran on: the dataset's kind, root folder name and fingerprint, and the task's split sizes. */
  dataset: ResultDataset;
  /** Results written before the dataset layer (embedded corpus only) carried this instead. */
  corpus?: { name: string; profile: string; hash: string; seed: number };
  seed: number;
  training: { learningRate: number; steps: number; batchSize: number; bestStep: number; finalTrainLoss: number; resumedFromStep: number };
  seconds: { extract: number; train: number; evaluate: number };
  backend: string;
  version: string;
  gitCommit: string | null;
  createdAt: string;
}

export interface ResultDataset {
  kind: string;
  name: string;
  /** Hash of the file list and the split/trial/label files (see fingerprintDataset). */
  hash: string;
  counts: Record<Split, { utterances: number; hours: number; speakers: number }>;
  /** Embedded corpus only: its profile and seed. */
  profile?: string;
  seed?: number;
}

/** "kind:name@hash": two results share a test set exactly when their tasks and these agree. */
export function testSetOf(r: Pick<TaskResult, "dataset" | "corpus">): string {
  const d = datasetOf(r);
  return `${d.kind}:${d.name}@${d.hash}`;
}

/** The dataset of a result, reading the pre-dataset-layer `corpus` field as the embedded corpus. */
export function datasetOf(r: Pick<TaskResult, "dataset" | "corpus">): Pick<ResultDataset, "kind" | "name" | "hash"> {
  if (r.dataset) return r.dataset;
  if (r.corpus) return { kind: "embedded", name: r.corpus.name, hash: r.corpus.hash };
  return { kind: "unknown", name: "?", hash: "?" };
}

/** A folder name for an upstream spec such as "hf:/models/x" (results/<upstream>/<task>.json). */
export function upstreamFolderName(upstream: string): string {
  return upstream.replace(/[^A-Za-z0-9_.-]+/g, "_");
}

export function resultPath(resultsDir: string, upstream: string, task: string): string {
  return path.join(resultsDir, upstreamFolderName(upstream), `${task}.json`);
}

/** Fails early, before any work, if results cannot be written. */
export function ensureWritableDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new UserError(`${dir}: results folder is not writable (${code})`);
  }
}

export function writeResult(resultsDir: string, result: TaskResult): string {
  const file = resultPath(resultsDir, result.upstream, result.task);
  ensureWritableDir(path.dirname(file));
  writeFileAtomic(file, JSON.stringify(result, null, 2) + "\n");
  return file;
}

export interface SavedResult {
  /** Where the result belongs. */
  file: string;
  /** Set when it could not be written there: where it was saved instead, and why. */
  savedTo?: string;
  problem?: string;
}

/**
 * Writes a result to the results folder, or, when that fails (the folder was removed, made
 * read-only or filled up during training), to the same relative path under `fallbackDir`
 * (then the system's temporary folder). Never throws for a write failure: the result is the
 * product of the whole training.
 */
export function saveResult(resultsDir: string, fallbackDir: string, result: TaskResult): SavedResult {
  const file = resultPath(resultsDir, result.upstream, result.task);
  let problem: string;
  try {
    writeResult(resultsDir, result);
    return { file };
  } catch (err) {
    problem = `cannot write the result (${(err as NodeJS.ErrnoException).code ?? oneLine(err)})`;
  }
  for (const dir of [fallbackDir, path.join(os.tmpdir(), "superb-unsaved-results")]) {
    try {
      return { file, savedTo: writeResult(dir, result), problem };
    } catch {
      // try the next place
    }
  }
  throw new UserError(file, `${problem}, nor in ${fallbackDir} or the temporary folder`);
}

export function readResults(resultsDir: string): TaskResult[] {
  if (!fs.existsSync(resultsDir)) throw new UserError(`${resultsDir}: no such results folder`);
  const out: TaskResult[] = [];
  for (const entry of fs.readdirSync(resultsDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(resultsDir, entry.name);
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
      const full = path.join(dir, file);
      let parsed: Partial<TaskResult>;
      try {
        parsed = JSON.parse(fs.readFileSync(full, "utf8")) as Partial<TaskResult>;
      } catch {
        throw new UserError(`${full}: not valid JSON`);
      }
      if (typeof parsed.upstream !== "string" || typeof parsed.task !== "string" || typeof parsed.value !== "number" || typeof parsed.metric !== "string") {
        throw new UserError(`${full}: not a superb result (needs upstream, task, metric, value)`);
      }
      out.push(parsed as TaskResult);
    }
  }
  return out;
}
