/**
 * Speech Commands (v0.01, as SUPERB's KS uses it; v0.02 reads the same way), following s3prl's
 * `speech_commands` downstream (v0.4.x).
 *
 * ROOT is the extracted training archive:
 *   ROOT/<word>/<speaker>_nohash_<n>.wav     ~30 word folders
 *   ROOT/_background_noise_/*.wav            a few long noise recordings
 *   ROOT/validation_list.txt, ROOT/testing_list.txt   lines `word/file.wav`
 *
 * Classes (fixed order): the 10 keywords, `_unknown_` (every other word folder), `_silence_`.
 * Splits:
 * - dev: the files of validation_list.txt; train: every other word file except those of
 *   testing_list.txt (the archive's own test split, which SUPERB does not use: it tests on the
 *   separate 12-class test set). A missing list falls back to the README's `which_set` hash rule
 *   (`whichSet` below), the rule the lists were generated with, so the split is the same.
 * - `_silence_` in train/dev: non-overlapping 1 s crops of each `_background_noise_` file (every
 *   10th crop to dev). s3prl instead adds each noise file whole and draws a random 1 s crop per
 *   step; fixed crops keep the item list (and the feature cache keyed by it) deterministic.
 * - test: the separate 12-class test set (`speech_commands_test_set_v0.01`:
 *   DIR/<class>/*.wav, `_unknown_` and `_silence_` included as folders), read from
 *   `options.subsets.test` taken as a folder path: DatasetOptions has no field of its own for a
 *   second root, so the CLI passes `--data speech_commands_test=DIR` as `subsets.test`. Without
 *   it, test is the testing_list.txt files (or the hash rule's "testing" files) mapped to the 12
 *   classes; that split has no `_silence_` items and is NOT SUPERB's test set.
 *
 * Item ids are paths relative to ROOT (`yes/0a7c2a8d_nohash_0.wav`), `test/<class>/<file>` for
 * the test set, `_background_noise_/<file>#<k>` for the k-th silence crop. Speaker = the hash
 * before `_nohash_` (`_unknown_` test files carry the word in front: `bed_<hash>_nohash_0.wav.wav`).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type AudioHeader, readAudioHeader } from "../audio-file.js";
import type { Dataset, DatasetDefinition, DatasetItem, DatasetOptions, Split, TaskData } from "../dataset.js";
import { entryKind, fingerprintDataset, TaskUnavailable, ProblemList, readDirOrProblem, readLinesOrProblem, requireRootFolder } from "../dataset.js";
import { UserError } from "../errors.js";

export const KIND = "speech_commands";
export const KEYWORDS: readonly string[] = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];
export const UNKNOWN = "_unknown_";
export const SILENCE = "_silence_";
/** s3prl's CLASSES: keywords, then `_unknown_`, then `_silence_` (the order of the output layer). */
export const CLASSES: readonly string[] = [...KEYWORDS, UNKNOWN, SILENCE];
export const BACKGROUND_NOISE = "_background_noise_";
/** Every n-th silence crop of a noise file goes to dev (the 10 % dev share of the word files). */
export const SILENCE_DEV_EVERY = 10;

/** The README's constant: the hash is taken modulo MAX + 1 and scaled to [0, 100]. */
export const MAX_NUM_WAVS_PER_CLASS = 2 ** 27 - 1;

export type WhichSet = "training" | "validation" | "testing";

/** The README's hash percentage of a file: sha1 of the name before `_nohash_`, as a 160-bit integer. */
export function hashPercentage(filename: string): number {
  const hashName = path.basename(filename).replace(/_nohash_.*$/s, "");
  // The hex digest is 160 bits: only BigInt keeps it exact before the modulo.
  const hashed = BigInt(`0x${createHash("sha1").update(hashName, "utf8").digest("hex")}`);
  const bucket = Number(hashed % BigInt(MAX_NUM_WAVS_PER_CLASS + 1));
  return bucket * (100.0 / MAX_NUM_WAVS_PER_CLASS);
}

/** The Speech Commands README's `which_set`: the set a file belongs to, stable across dataset versions. */
export function whichSet(filename: string, validationPct = 10, testingPct = 10): WhichSet {
  const p = hashPercentage(filename);
  if (p < validationPct) return "validation";
  if (p < testingPct + validationPct) return "testing";
  return "training";
}

/**
 * The speaker of a file: the hash before `_nohash_`, without the word the test set's `_unknown_`
 * files put in front (words have no underscore). A name without `_nohash_` is its own speaker.
 */
export function speakerOf(filename: string): string {
  const base = path.basename(filename);
  const hashName = base.replace(/_nohash_.*$/s, "");
  if (hashName === base) return base.replace(/(\.wav)+$/i, "");
  return hashName.slice(hashName.lastIndexOf("_") + 1);
}

/** A keyword is its own class; every other word is `_unknown_`. */
export function classOfWord(word: string): string {
  return KEYWORDS.includes(word) ? word : UNKNOWN;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** A .wav entry of `dir`, symlinks followed. */
const isWavIn = (dir: string) => (d: fs.Dirent): boolean => d.name.endsWith(".wav") && entryKind(dir, d) === "file";

/** The file's header, or a problem naming the file (and undefined: the item is left out). */
function headerOrProblem(file: string, problems: ProblemList): AudioHeader | undefined {
  try {
    return readAudioHeader(file);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    // readAudioHeader's message starts with the file; the problem names it already.
    problems.add(file, err.message.startsWith(`${file}: `) ? err.message.slice(file.length + 2) : err.message);
    return undefined;
  }
}

interface WordFile {
  /** `word/file.wav`, as the list files name it. */
  rel: string;
  word: string;
  name: string;
}

/** A list file's entries (relative paths), each checked against the word files; undefined when it is absent. */
function readList(file: string, known: ReadonlySet<string>, problems: ProblemList): Map<string, number> | undefined {
  if (!fs.existsSync(file)) return undefined;
  const lines = readLinesOrProblem(file, problems, path.basename(file));
  if (!lines) return new Map();
  const out = new Map<string, number>();
  lines.forEach((raw, i) => {
    const rel = raw.trim();
    if (rel === "") return;
    if (!known.has(rel)) problems.add(file, `names ${rel}, which is not among the word folders' .wav files`, i + 1);
    else out.set(rel, i + 1);
  });
  return out;
}

/** The 12-class test set: one folder per class, every one required. */
function readTestSet(dir: string, problems: ProblemList): DatasetItem[] {
  const entries = readDirOrProblem(dir, problems, "Speech Commands test set folder (speech_commands_test=DIR)");
  if (entries.length === 0 && !fs.existsSync(dir)) return [];
  const folders = new Set(entries.filter((e) => entryKind(dir, e) === "dir" && !e.name.startsWith(".")).map((e) => e.name));
  for (const f of [...folders].sort(byName)) {
    if (!CLASSES.includes(f)) problems.add(path.join(dir, f), `test set folder "${f}" is not one of the 12 classes (${CLASSES.join(" ")})`);
  }
  const items: DatasetItem[] = [];
  for (const cls of CLASSES) {
    const classDir = path.join(dir, cls);
    if (!folders.has(cls)) {
      problems.add(classDir, `test set class folder "${cls}" not found (the 12-class test set has one folder per class)`);
      continue;
    }
    const files = readDirOrProblem(classDir, problems, `test set class folder "${cls}"`).filter(isWavIn(classDir)).map((e) => e.name).sort(byName);
    if (files.length === 0) problems.add(classDir, `test set class folder "${cls}" holds no .wav files`);
    for (const name of files) {
      const file = path.join(classDir, name);
      const durationSec = headerOrProblem(file, problems)?.durationSec;
      if (durationSec === undefined) continue;
      // Test-set silence clips are cut from background noise too: the same pseudo-speaker as the train crops.
      items.push({ id: `test/${cls}/${name}`, path: file, durationSec, speaker: cls === SILENCE ? BACKGROUND_NOISE : speakerOf(name), label: cls });
    }
  }
  return items;
}

/** Non-overlapping 1 s crops of each noise file, every SILENCE_DEV_EVERY-th to dev. */
function readSilence(root: string, problems: ProblemList): { train: DatasetItem[]; dev: DatasetItem[] } {
  const dir = path.join(root, BACKGROUND_NOISE);
  const train: DatasetItem[] = [];
  const dev: DatasetItem[] = [];
  if (!fs.existsSync(dir)) {
    problems.add(dir, `${BACKGROUND_NOISE} folder not found: train and dev would have no ${SILENCE} class (its 1 s crops come from these noise files)`);
    return { train, dev };
  }
  const files = readDirOrProblem(dir, problems, `${BACKGROUND_NOISE} folder`).filter(isWavIn(dir)).map((e) => e.name).sort(byName);
  if (files.length === 0) problems.add(dir, `${BACKGROUND_NOISE} holds no .wav files: train and dev would have no ${SILENCE} class`);
  for (const name of files) {
    const file = path.join(dir, name);
    const h = headerOrProblem(file, problems);
    if (!h) continue;
    // Integer arithmetic on frames: a 12 s file gives exactly 12 crops, a partial last second none.
    const crops = Math.floor(h.frames / h.sampleRate);
    if (crops === 0) problems.add(file, `shorter than 1 s: no ${SILENCE} crop can be cut from it`);
    for (let k = 0; k < crops; k++) {
      const item: DatasetItem = { id: `${BACKGROUND_NOISE}/${name}#${k}`, path: file, durationSec: 1, speaker: BACKGROUND_NOISE, segment: { startSec: k, durationSec: 1 }, label: SILENCE };
      (k % SILENCE_DEV_EVERY === SILENCE_DEV_EVERY - 1 ? dev : train).push(item);
    }
  }
  return { train, dev };
}

async function open(root: string, options: DatasetOptions, problems: ProblemList): Promise<Dataset> {
  requireRootFolder(root, KIND);
  const entries = readDirOrProblem(root, problems, "Speech Commands root folder");
  const words: string[] = [];
  for (const e of entries) {
    if (entryKind(root, e) !== "dir" || e.name.startsWith(".") || e.name === BACKGROUND_NOISE) continue;
    if (e.name === UNKNOWN || e.name === SILENCE) {
      // Class folders are the test set's layout; its _unknown_ files would be read as a word "_unknown_".
      problems.add(path.join(root, e.name), `a "${e.name}" folder belongs to the 12-class test set, not the training archive: pass that folder as --data speech_commands_test=DIR`);
      continue;
    }
    words.push(e.name);
  }
  words.sort(byName);
  if (words.length === 0) {
    problems.add(root, "no word folders (expected ROOT/<word>/<speaker>_nohash_<n>.wav, e.g. ROOT/yes/): is this the extracted speech_commands_v0.01 archive?");
  } else {
    for (const k of KEYWORDS) if (!words.includes(k)) problems.add(path.join(root, k), `keyword folder "${k}" not found`);
    if (words.every((w) => KEYWORDS.includes(w))) problems.add(root, `no word folders besides the 10 keywords: the ${UNKNOWN} class would be empty`);
  }

  const wordFiles: WordFile[] = [];
  for (const word of words) {
    const dir = path.join(root, word);
    const names = readDirOrProblem(dir, problems, `word folder "${word}"`).filter(isWavIn(dir)).map((e) => e.name).sort(byName);
    if (names.length === 0) problems.add(dir, `word folder "${word}" holds no .wav files`);
    for (const name of names) wordFiles.push({ rel: `${word}/${name}`, word, name });
  }

  // Each list independently: present, it decides; absent, the hash rule it was generated with does.
  const known = new Set(wordFiles.map((f) => f.rel));
  const validationFile = path.join(root, "validation_list.txt");
  const testingFile = path.join(root, "testing_list.txt");
  const validationList = readList(validationFile, known, problems);
  const testingList = readList(testingFile, known, problems);
  if (validationList && testingList) {
    for (const [rel, line] of testingList) if (validationList.has(rel)) problems.add(testingFile, `${rel} is also in validation_list.txt (line ${validationList.get(rel)})`, line);
  }

  const testSetDir = options.subsets?.test !== undefined ? path.resolve(options.subsets.test) : undefined;
  const splits: Record<Split, DatasetItem[]> = { train: [], dev: [], test: [] };
  for (const f of wordFiles) {
    const set: WhichSet = (validationList ? validationList.has(f.rel) : whichSet(f.name) === "validation")
      ? "validation"
      : (testingList ? testingList.has(f.rel) : whichSet(f.name) === "testing")
        ? "testing"
        : "training";
    // With the separate test set given, the archive's testing files are used by no split: skip their headers.
    if (set === "testing" && testSetDir !== undefined) continue;
    const file = path.join(root, f.word, f.name);
    const durationSec = headerOrProblem(file, problems)?.durationSec;
    if (durationSec === undefined) continue;
    const item: DatasetItem = { id: f.rel, path: file, durationSec, speaker: speakerOf(f.name), label: classOfWord(f.word) };
    splits[set === "validation" ? "dev" : set === "testing" ? "test" : "train"].push(item);
  }

  const silence = readSilence(root, problems);
  splits.train.push(...silence.train);
  splits.dev.push(...silence.dev);
  if (testSetDir !== undefined) splits.test = readTestSet(testSetDir, problems);

  const items = [...splits.train, ...splits.dev, ...splits.test];
  const metadata = [validationList ? validationFile : undefined, testingList ? testingFile : undefined].filter((f): f is string => f !== undefined);
  const fingerprint = fingerprintDataset(KIND, root, items, metadata);

  return {
    kind: KIND,
    root,
    fingerprint,
    items,
    tasks: ["ks"],
    taskData(task: string): TaskData {
      if (task !== "ks") throw new TaskUnavailable(`${root}: a ${KIND} dataset serves the ks task only, not ${task}`);
      // Fresh arrays: a task that filters or shuffles its splits must not change the dataset's.
      return { splits: { train: [...splits.train], dev: [...splits.dev], test: [...splits.test] }, classes: [...CLASSES] };
    },
  };
}

export const dataset: DatasetDefinition = {
  kind: KIND,
  description: "Speech Commands v0.01/v0.02 training archive (ROOT/<word>/*.wav, _background_noise_, validation/testing lists); KS test set via speech_commands_test=DIR",
  tasks: ["ks"],
  open,
};
