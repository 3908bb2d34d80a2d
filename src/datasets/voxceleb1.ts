/**
 * VoxCeleb1 (SID and ASV). Audio at ROOT/wav/idXXXXX/<video>/<n>.wav as distributed, or under
 * ROOT/dev/wav and ROOT/test/wav as s3prl lays it out; every folder present is read. An item's id
 * is `idXXXXX/<video>/<n>.wav`, the name iden_split.txt and the trial lists use, so the two
 * layouts give the same ids. SID and ASV split the same files differently (see taskData).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readAudioHeader } from "../audio-file.js";
import { entryKind, TaskUnavailable, type AsvTrial, type Dataset, type DatasetDefinition, type DatasetItem, type DatasetOptions, fingerprintDataset, ProblemList, readDirOrProblem, readLinesOrProblem, requireRootFolder, type Split, type TaskData } from "../dataset.js";
import { UserError } from "../errors.js";
import { startProgress } from "../progress.js";

export const IDEN_SPLIT_FILE = "iden_split.txt";
/** ASV trial lists in order of preference: the cleaned list (v2) first, as SUPERB uses. */
export const TRIAL_FILES = ["veri_test2.txt", "voxceleb1_test_v2.txt", "veri_test.txt"] as const;
const WAV_FOLDERS = ["wav", path.join("dev", "wav"), path.join("test", "wav")];
const ID_SHAPE = /^[^/\\\s]+\/[^/\\\s]+\/[^/\\\s]+\.wav$/;
const SID_SPLITS: Record<string, Split> = { "1": "train", "2": "dev", "3": "test" };

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const speakerOf = (id: string) => id.slice(0, id.indexOf("/"));

const sortedEntries = (dir: string, problems: ProblemList, what: string, kind: "dir" | "file") =>
  readDirOrProblem(dir, problems, what)
    .filter((d) => entryKind(dir, d) === kind)
    .map((d) => d.name)
    .sort(compare);

/**
 * Lists ROOT's wav folders and reads every file's header (header only: a file cut short after
 * its header is counted by its bytes on disk, corruption later in the file is not seen here).
 */
function listItems(root: string, problems: ProblemList, progress: boolean): { items: Map<string, DatasetItem>; unreadable: Set<string> } {
  const folders = WAV_FOLDERS.map((f) => path.join(root, f)).filter((f) => fs.existsSync(f));
  if (folders.length === 0) problems.add(root, `no wav folder: expected ${root}/wav/idXXXXX/<video>/<n>.wav or ${root}/dev/wav/... and ${root}/test/wav/...`);
  const files: { id: string; file: string }[] = [];
  for (const folder of folders) {
    const before = files.length;
    for (const spk of sortedEntries(folder, problems, "VoxCeleb1 wav folder", "dir")) {
      const spkDir = path.join(folder, spk);
      for (const video of sortedEntries(spkDir, problems, "speaker folder", "dir")) {
        const videoDir = path.join(spkDir, video);
        for (const name of sortedEntries(videoDir, problems, "video folder", "file")) {
          if (/\.wav$/i.test(name)) files.push({ id: `${spk}/${video}/${name}`, file: path.join(videoDir, name) });
        }
      }
    }
    if (files.length === before) problems.add(folder, "empty wav folder: no idXXXXX/<video>/<n>.wav files");
  }
  const items = new Map<string, DatasetItem>();
  const unreadable = new Set<string>();
  const bar = startProgress({ label: "reading VoxCeleb1 wav headers", total: files.length, unit: "files", enabled: progress });
  for (const { id, file } of files) {
    bar.increment();
    const other = items.get(id);
    if (other) {
      problems.add(file, `${id} is also at ${other.path}; using that one`);
      continue;
    }
    try {
      items.set(id, { id, path: file, durationSec: readAudioHeader(file).durationSec, speaker: speakerOf(id) });
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      const prefix = `${file}: `;
      problems.add(file, err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message);
      unreadable.add(id);
    }
  }
  bar.stop();
  return { items, unreadable };
}

interface Listed {
  file: string;
  line: number;
  item: DatasetItem;
}

/**
 * Resolves an id from a split or trial line to its item: a problem when the line names a
 * file that is not there (an unreadable file was reported already, so it is only skipped).
 */
function lookUp(id: string, file: string, line: number, ctx: { items: Map<string, DatasetItem>; unreadable: Set<string>; root: string }, problems: ProblemList): DatasetItem | undefined {
  const item = ctx.items.get(id);
  if (!item && !ctx.unreadable.has(id)) problems.add(file, `${id}: no such file under ${ctx.root}/wav, dev/wav or test/wav`, line);
  return item;
}

type Outcome = { data: TaskData; metadata: string } | { error: string; metadata?: undefined };

function readSid(root: string, ctx: Parameters<typeof lookUp>[3], problems: ProblemList): Outcome {
  const file = path.join(root, IDEN_SPLIT_FILE);
  if (!fs.existsSync(file)) return { error: `${file}: not found (SID reads its train/dev/test split from ${IDEN_SPLIT_FILE})` };
  const lines = readLinesOrProblem(file, problems, "SID split list");
  if (!lines) return { error: `${file}: cannot be read` };
  const listed: Record<Split, Listed[]> = { train: [], dev: [], test: [] };
  const firstLine = new Map<string, number>();
  lines.forEach((text, i) => {
    const line = i + 1;
    const t = text.trim();
    if (t === "") return;
    const parts = t.split(/\s+/);
    if (parts.length !== 2) return problems.add(file, `expected "<1|2|3> idXXXXX/<video>/<n>.wav", got ${parts.length} field${parts.length === 1 ? "" : "s"}`, line);
    const split = SID_SPLITS[parts[0]];
    if (!split) return problems.add(file, `split "${parts[0]}" is not 1 (train), 2 (dev) or 3 (test)`, line);
    const id = parts[1];
    if (!ID_SHAPE.test(id)) return problems.add(file, `"${id}" is not an idXXXXX/<video>/<n>.wav path`, line);
    const first = firstLine.get(id);
    if (first !== undefined) return problems.add(file, `${id}: listed twice (first at line ${first})`, line);
    firstLine.set(id, line);
    const item = lookUp(id, file, line, ctx, problems);
    if (item) listed[split].push({ file, line, item });
  });
  const classes = [...new Set(listed.train.map((l) => l.item.speaker))].sort(compare);
  const known = new Set(classes);
  // A closed-set classifier cannot name a speaker it never trained on: report and drop such lines.
  const keep = (l: Listed): boolean => {
    if (known.has(l.item.speaker)) return true;
    problems.add(l.file, `speaker ${l.item.speaker} of ${l.item.id} has no training (split 1) utterance`, l.line);
    return false;
  };
  return {
    metadata: file,
    data: { splits: { train: listed.train.map((l) => l.item), dev: listed.dev.filter(keep).map((l) => l.item), test: listed.test.filter(keep).map((l) => l.item) }, classes },
  };
}

/**
 * The ASV dev speakers: every 20th of the sorted training speakers from index 0 (~5%), and the
 * middle one too when that leaves fewer than 2 of at least 4 (balanced dev trials need two
 * speakers); none below 4, where holding out would leave too few to train on.
 */
export function asvDevSpeakers(trainingSpeakers: readonly string[]): string[] {
  const sorted = [...new Set(trainingSpeakers)].sort(compare);
  if (sorted.length < 4) return [];
  const picked = sorted.filter((_, i) => i % 20 === 0);
  if (picked.length < 2) picked.push(sorted[Math.floor(sorted.length / 2)]);
  return picked;
}

/**
 * ASV as SUPERB runs it: train on every file of the speakers no trial names (s3prl: all of
 * dev/wav), score the trial list's pairs on test. s3prl picks its ASV checkpoint on those same
 * test trials; we hold out ~5% of the training speakers as dev instead (no dev trials given: the
 * trainer draws balanced ones), so the reported test EER is not selected on the test set.
 */
function readAsv(root: string, ctx: Parameters<typeof lookUp>[3], problems: ProblemList): Outcome {
  const name = TRIAL_FILES.find((f) => fs.existsSync(path.join(root, f)));
  if (!name) return { error: `${root}: no ASV trial list (looked for ${TRIAL_FILES.join(", ")})` };
  const file = path.join(root, name);
  const lines = readLinesOrProblem(file, problems, "ASV trial list");
  if (!lines) return { error: `${file}: cannot be read` };
  const trials: AsvTrial[] = [];
  const trialSpeakers = new Set<string>();
  const testItems = new Map<string, DatasetItem>();
  lines.forEach((text, i) => {
    const line = i + 1;
    const t = text.trim();
    if (t === "") return;
    const parts = t.split(/\s+/);
    if (parts.length !== 3) return problems.add(file, `expected "<0|1> enroll.wav test.wav", got ${parts.length} field${parts.length === 1 ? "" : "s"}`, line);
    const [label, enroll, test] = parts;
    const bad = [enroll, test].filter((id) => !ID_SHAPE.test(id));
    if (bad.length > 0) return problems.add(file, `"${bad[0]}" is not an idXXXXX/<video>/<n>.wav path`, line);
    // Even a trial that cannot be scored keeps its speakers out of training.
    trialSpeakers.add(speakerOf(enroll));
    trialSpeakers.add(speakerOf(test));
    if (label !== "0" && label !== "1") return problems.add(file, `label "${label}" is not 0 (different speakers) or 1 (same speaker)`, line);
    const a = lookUp(enroll, file, line, ctx, problems);
    const b = lookUp(test, file, line, ctx, problems);
    if (!a || !b) return;
    testItems.set(a.id, a);
    testItems.set(b.id, b);
    trials.push({ enroll, test, label: label === "1" ? 1 : 0 });
  });
  const pool = [...ctx.items.values()].filter((i) => !trialSpeakers.has(i.speaker)).sort((x, y) => compare(x.id, y.id));
  const dev = new Set(asvDevSpeakers(pool.map((i) => i.speaker)));
  return {
    metadata: file,
    data: {
      splits: {
        train: pool.filter((i) => !dev.has(i.speaker)),
        dev: pool.filter((i) => dev.has(i.speaker)),
        test: [...testItems.values()].sort((x, y) => compare(x.id, y.id)),
      },
      trials: { test: trials },
    },
  };
}

const copyData = (d: TaskData): TaskData => ({
  ...d,
  splits: { train: [...d.splits.train], dev: [...d.splits.dev], test: [...d.splits.test] },
  classes: d.classes && [...d.classes],
  trials: d.trials && { test: [...d.trials.test] },
});

async function open(root: string, options: DatasetOptions, problems: ProblemList): Promise<Dataset> {
  requireRootFolder(root, "voxceleb1");
  const { items, unreadable } = listItems(root, problems, options.progress ?? false);
  const ctx = { items, unreadable, root };
  const outcomes: Record<"sid" | "asv", Outcome> = { sid: readSid(root, ctx, problems), asv: readAsv(root, ctx, problems) };
  const all = [...items.values()].sort((a, b) => compare(a.id, b.id));
  const metadata = [outcomes.sid.metadata, outcomes.asv.metadata].filter((f): f is string => f !== undefined);
  return {
    kind: "voxceleb1",
    root,
    fingerprint: fingerprintDataset("voxceleb1", root, all, metadata),
    items: all,
    tasks: ["sid", "asv"],
    taskData(task: string): TaskData {
      if (task !== "sid" && task !== "asv") throw new TaskUnavailable(`voxceleb1 (${root}) serves the sid and asv tasks, not ${task}`);
      const o = outcomes[task];
      if ("error" in o) throw new TaskUnavailable(o.error);
      return copyData(o.data);
    },
  };
}

export const dataset: DatasetDefinition = {
  kind: "voxceleb1",
  description: "VoxCeleb1 (SID, ASV): wav/ or dev/wav + test/wav, with iden_split.txt and veri_test2.txt",
  tasks: ["sid", "asv"],
  open,
};
