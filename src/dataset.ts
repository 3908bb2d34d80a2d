/**
 * The dataset layer: a corpus as distributed (LibriSpeech, Fluent Speech Commands, VoxCeleb1,
 * Speech Commands, or the embedded synthetic corpus) read into items and, per task, splits and
 * label sets. One file per kind in `src/datasets/`, each exporting `dataset: DatasetDefinition`,
 * found by listing the folder. A task never looks at a layout: it asks the dataset for its
 * `TaskData` and takes everything from it, so one audio file may sit in different splits for
 * different tasks (VoxCeleb1: SID's iden_split.txt against ASV's trial speakers).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "./errors.js";
import type { TrainingOptions } from "./task.js";

export type Split = "train" | "dev" | "test";
export const SPLITS: readonly Split[] = ["train", "dev", "test"];

export interface IntentSlots {
  action: string;
  object: string;
  location: string;
}

/** One utterance of a dataset: an audio file (or a segment of one) and every label it has. */
export interface DatasetItem {
  /** Unique within the dataset; trials and per-item outputs refer to it. */
  id: string;
  /** Absolute path of the audio file (WAV or FLAC). */
  path: string;
  /** Seconds of audio the item covers (of the segment when there is one). */
  durationSec: number;
  speaker: string;
  /** A part of the file: Speech Commands' `_silence_` items are 1 s crops of long noise files. */
  segment?: { startSec: number; durationSec: number };
  /** Character transcript in the dataset's character set (upper case, space between words). */
  text?: string;
  /** Phone sequence in the dataset's phone set. */
  phonemes?: string[];
  intent?: IntentSlots;
  /** A class label (KS keyword, `_unknown_`, `_silence_`). */
  label?: string;
}

export interface AsvTrial {
  enroll: string;
  test: string;
  /** 1 = same speaker, 0 = different speakers. */
  label: 0 | 1;
}

/** What one task reads from one dataset: its splits and the label sets they use. */
export interface TaskData {
  splits: Record<Split, DatasetItem[]>;
  /** PR: phone vocabulary (CTC blank excluded). */
  phoneSet?: string[];
  /** ASR: character vocabulary (CTC blank excluded); " " is the word boundary. */
  charSet?: string[];
  /** IC: slot values, taken from the training split. */
  intentSlots?: { action: string[]; object: string[]; location: string[] };
  /** SID: the closed set of speakers; KS: the classes. */
  classes?: string[];
  /** ASV: trial lists. Without dev trials the trainer draws balanced ones from the dev split. */
  trials?: { dev?: AsvTrial[]; test: AsvTrial[] };
}

/**
 * The dataset cannot serve a task because an input the task needs is absent (a trial list, a
 * split file, `--lexicon`), as opposed to a problem in the data: `superb data check` reports the
 * task as unavailable instead of failing. A UserError still, so a run stops on it in one line.
 */
export class TaskUnavailable extends UserError {}

/** One problem with a dataset on disk: the file (and line) and what is wrong. */
export interface DatasetProblem {
  file: string;
  line?: number;
  message: string;
}

/** Collects every problem a reader finds, so `superb data check` can print them all at once. */
export class ProblemList {
  readonly problems: DatasetProblem[] = [];
  add(file: string, message: string, line?: number): void {
    this.problems.push({ file, message, line });
  }
  get length(): number {
    return this.problems.length;
  }
  /** Throws the first problem as a one-line UserError (with the count of the others). */
  throwIfAny(): void {
    if (this.problems.length === 0) return;
    const more = this.problems.length - 1;
    const tail = more > 0 ? ` (and ${more} more problem${more === 1 ? "" : "s"}; \`superb data check\` lists them all)` : "";
    throw new UserError(`${formatProblem(this.problems[0])}${tail}`);
  }
}

export function formatProblem(p: DatasetProblem): string {
  return `${p.file}${p.line !== undefined ? `:${p.line}` : ""}: ${p.message}`;
}

/** Identifies exactly what a result was computed on, for the leaderboard and comparisons. */
export interface DatasetFingerprint {
  kind: string;
  /** The root folder's name (e.g. "LibriSpeech"), or the embedded corpus's name. */
  name: string;
  /** sha256 prefix over the sorted item list (id, relative path, duration) and the split/trial/label files. */
  hash: string;
}

export interface DatasetOptions {
  /** `--lexicon FILE` for PR on LibriSpeech. */
  lexicon?: string;
  /** Subset overrides, e.g. LibriSpeech `{ train: "train-clean-360" }`. */
  subsets?: Partial<Record<Split, string>>;
  /** Embedded corpus: profile, seed and cache folder. */
  profile?: string;
  corpusSeed?: number;
  cacheDir?: string;
  progress?: boolean;
}

/** A dataset read from disk. */
export interface Dataset {
  readonly kind: string;
  readonly root: string;
  readonly fingerprint: DatasetFingerprint;
  /** Every item the dataset holds (the union over tasks). */
  readonly items: readonly DatasetItem[];
  /** Tasks this dataset can serve. */
  readonly tasks: readonly string[];
  /** The task's splits and label sets; a UserError naming the file when something it needs is missing. */
  taskData(task: string): TaskData;
  /** Training defaults for a task on this dataset (merged over the task's own). */
  trainingDefaults?(task: string): Partial<TrainingOptions>;
}

export interface DatasetDefinition {
  /** The `KIND` of `--data KIND=DIR`. */
  readonly kind: string;
  readonly description: string;
  /** Tasks it can serve. */
  readonly tasks: readonly string[];
  /**
   * Reads the dataset under root. Every problem found goes into `problems` (the caller decides
   * whether to print them all or throw the first); only a root that cannot be read at all throws.
   */
  open(root: string, options: DatasetOptions, problems: ProblemList): Promise<Dataset>;
}

/** Items of a split with a given label present (the common filter of a task's splits). */
export function splitCounts(data: TaskData): Record<Split, { utterances: number; hours: number; speakers: number }> {
  const out = {} as Record<Split, { utterances: number; hours: number; speakers: number }>;
  for (const s of SPLITS) {
    const items = data.splits[s];
    out[s] = {
      utterances: items.length,
      hours: items.reduce((a, i) => a + i.durationSec, 0) / 3600,
      speakers: new Set(items.map((i) => i.speaker)).size,
    };
  }
  return out;
}

/**
 * sha256 prefix of a dataset's item list and its metadata files, so two results share a
 * fingerprint exactly when they read the same files with the same splits and labels.
 */
export function fingerprintDataset(kind: string, root: string, items: readonly DatasetItem[], metadataFiles: readonly string[], name = path.basename(path.resolve(root))): DatasetFingerprint {
  const h = createHash("sha256");
  h.update(`${kind}\n`);
  const rows = items.map((i) => `${i.id}\t${path.relative(root, i.path)}\t${i.segment ? `${i.segment.startSec}+${i.segment.durationSec}` : ""}\t${i.durationSec.toFixed(4)}`).sort();
  for (const r of rows) h.update(r + "\n");
  for (const f of [...metadataFiles].sort()) {
    h.update(`${path.relative(root, f)}\n`);
    h.update(fs.readFileSync(f));
  }
  return { kind, name, hash: h.digest("hex").slice(0, 16) };
}

/** A split's items as a stable, content-addressed key (feature-cache entries are keyed by it). */
export function itemSetHash(items: readonly DatasetItem[]): string {
  const h = createHash("sha256");
  for (const i of [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    h.update(`${i.id}\t${i.path}\t${i.segment ? `${i.segment.startSec}+${i.segment.durationSec}` : ""}\n`);
  }
  return h.digest("hex").slice(0, 16);
}

/** `KIND=DIR` of `--data`, checked against the known kinds. */
export function parseDataSpec(spec: string, knownKinds: readonly string[]): { kind: string; root: string } {
  const eq = spec.indexOf("=");
  if (eq <= 0 || eq === spec.length - 1) throw new UserError(`--data ${spec}: expected KIND=DIR (kinds: ${knownKinds.join(", ")})`);
  const kind = spec.slice(0, eq);
  const root = spec.slice(eq + 1);
  if (!knownKinds.includes(kind)) throw new UserError(`--data ${spec}: unknown dataset kind "${kind}"; known kinds: ${knownKinds.join(", ")}`);
  return { kind, root: path.resolve(root) };
}

/** Lists a folder's entries, or records a problem and returns [] when it cannot be read. */
export function readDirOrProblem(dir: string, problems: ProblemList, what: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.add(dir, code === "ENOENT" ? `${what} not found` : code === "ENOTDIR" ? `${what}: not a folder` : `cannot read ${what} (${code ?? String(err)})`);
    return [];
  }
}

/** Kind of a folder entry with symlinks followed (corpora are often linked in from a shared disk). */
export function entryKind(dir: string, d: fs.Dirent): "dir" | "file" | "other" {
  if (d.isDirectory()) return "dir";
  if (d.isFile()) return "file";
  if (d.isSymbolicLink()) {
    try {
      const s = fs.statSync(path.join(dir, d.name));
      return s.isDirectory() ? "dir" : s.isFile() ? "file" : "other";
    } catch {
      return "other";
    }
  }
  return "other";
}

/** Reads a text file's lines, or records a problem and returns undefined. */
export function readLinesOrProblem(file: string, problems: ProblemList, what: string): string[] | undefined {
  try {
    return fs.readFileSync(file, "utf8").split(/\r?\n/);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.add(file, code === "ENOENT" ? `${what} not found` : `cannot read ${what} (${code ?? String(err)})`);
    return undefined;
  }
}

/** The root folder must exist and be a folder: the one problem that stops a reader at once. */
export function requireRootFolder(root: string, kind: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new UserError(`${root}: no such folder (--data ${kind}=DIR)`);
  }
  if (!stat.isDirectory()) throw new UserError(`${root}: not a folder (--data ${kind}=DIR)`);
}
