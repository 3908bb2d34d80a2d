import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type { ItemOutput, MetricName } from "./task.js";
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
  /** The scored test items (trials for ASV): a hash of what they are and their labels, and their count. */
  testSet?: { hash: string; items: number };
  training: {
    learningRate: number; steps: number; batchSize: number; bestStep: number; finalTrainLoss: number; resumedFromStep: number;
    /** A learning-rate sweep's grid: every rate's dev score; `learningRate` is the one selected on dev. */
    lrSweep?: { learningRate: number; devValue: number; bestStep: number }[];
  };
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

/** True when the result is of upstream `name`: its spec ("hf:/m/x") or its results-folder name ("hf__m_x"). */
export function isUpstream(r: Pick<TaskResult, "upstream">, name: string): boolean {
  return r.upstream === name || upstreamFolderName(r.upstream) === name;
}

/** The training seed of a plain `superb run`; its results keep the short name <task>.json. */
export const DEFAULT_TRAINING_SEED = 0;

/** <results>/<upstream>/<task>.json for the default seed, <task>.seed-<n>.json for another. */
export function resultPath(resultsDir: string, upstream: string, task: string, seed: number = DEFAULT_TRAINING_SEED): string {
  return path.join(resultsDir, upstreamFolderName(upstream), `${task}${seed === DEFAULT_TRAINING_SEED ? "" : `.seed-${seed}`}.json`);
}

/** The per-item outputs beside a result: <task>[.seed-<n>].items.jsonl. */
export function itemsPath(resultFile: string): string {
  return resultFile.replace(/\.json$/, ".items.jsonl");
}

/** What identifies a test item independently of any system's prediction (its id and truth). */
function itemIdentity(item: ItemOutput): string {
  if (item.kind === "trial") return `trial\t${item.enroll}\t${item.test}\t${item.label}`;
  return `${item.kind}\t${item.id}\t${item.kind === "sequence" ? item.reference : item.truth}`;
}

/** sha256 prefix over the sorted identities of the test items: equal exactly when two results scored the same items against the same truth. */
export function testSetHash(items: readonly ItemOutput[]): string {
  const h = createHash("sha256");
  for (const line of items.map(itemIdentity).sort()) h.update(`${line}\n`);
  return h.digest("hex").slice(0, 16);
}

export interface ItemsHeader {
  format: "superb-items";
  version: 1;
  upstream: string;
  task: string;
  metric: MetricName;
  seed: number;
  testSet: { hash: string; items: number };
}

/** JSON Lines: a header line, then one item per line (greppable, streamable, diffable). */
export function formatItemsFile(result: TaskResult, items: readonly ItemOutput[]): string {
  const header: ItemsHeader = { format: "superb-items", version: 1, upstream: result.upstream, task: result.task, metric: result.metric, seed: result.seed, testSet: { hash: testSetHash(items), items: items.length } };
  return [header, ...items].map((x) => JSON.stringify(x)).join("\n") + "\n";
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

/** Writes the per-item outputs, then the result (whose presence marks the pair complete). */
export function writeResult(resultsDir: string, result: TaskResult, items?: readonly ItemOutput[]): string {
  const file = resultPath(resultsDir, result.upstream, result.task, result.seed);
  ensureWritableDir(path.dirname(file));
  if (items && items.length > 0) writeFileAtomic(itemsPath(file), formatItemsFile(result, items));
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
export function saveResult(resultsDir: string, fallbackDir: string, result: TaskResult, items: readonly ItemOutput[] = []): SavedResult {
  const file = resultPath(resultsDir, result.upstream, result.task, result.seed);
  let problem: string;
  try {
    writeResult(resultsDir, result, items);
    return { file };
  } catch (err) {
    problem = `cannot write the result (${(err as NodeJS.ErrnoException).code ?? oneLine(err)})`;
  }
  for (const dir of [fallbackDir, path.join(os.tmpdir(), "superb-unsaved-results")]) {
    try {
      return { file, savedTo: writeResult(dir, result, items), problem };
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

function isItem(x: unknown): x is ItemOutput {
  if (typeof x !== "object" || x === null) return false;
  const o = x as Record<string, unknown>;
  const str = (k: string) => typeof o[k] === "string";
  const num = (k: string) => typeof o[k] === "number" && Number.isFinite(o[k]);
  if (o.kind === "sequence") return str("id") && str("reference") && str("hypothesis") && num("errors") && num("length");
  if (o.kind === "label") return str("id") && str("truth") && str("predicted");
  if (o.kind === "trial") return str("enroll") && str("test") && (o.label === 0 || o.label === 1) && num("score") && str("speaker");
  return false;
}

/** Reads a per-item file written by writeResult; every problem names file:line. */
export function readItemsFile(file: string): { header: ItemsHeader; items: ItemOutput[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(file, code === "ENOENT" ? "no per-item outputs (results written before they existed have none: rerun the task)" : `cannot read (${code ?? oneLine(err)})`);
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const parse = (line: string, n: number): unknown => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new UserError(`${file}:${n}`, "not a JSON line");
    }
  };
  const header = parse(lines[0] ?? "", 1) as Partial<ItemsHeader> | null;
  if (header?.format !== "superb-items" || typeof header.testSet?.hash !== "string") throw new UserError(`${file}:1`, "not a superb per-item file (no superb-items header)");
  const items = lines.slice(1).map((l, i) => {
    const item = parse(l, i + 2);
    if (!isItem(item)) throw new UserError(`${file}:${i + 2}`, "not a per-item record (sequence, label or trial)");
    return item;
  });
  if (items.length !== header.testSet.items) throw new UserError(file, `the header announces ${header.testSet.items} items, the file holds ${items.length} (truncated?)`);
  return { header: header as ItemsHeader, items };
}
