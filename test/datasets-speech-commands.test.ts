import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Dataset, type DatasetItem, type DatasetOptions, formatProblem, ProblemList, type Split } from "../src/dataset.js";
import { CLASSES, dataset, hashPercentage, speakerOf, whichSet } from "../src/datasets/speech-commands.js";
import { expectUserError } from "./helpers/errors.js";
import { sharedDataset } from "./helpers/shared-data.js";
import { buildSpeechCommandsFixture, SC_SHARED_NAME, type SpeechCommandsFixture } from "./fixtures/speech-commands.js";

const KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"];

describe("whichSet (the Speech Commands README's hash rule)", () => {
  it("matches Python's which_set on hand-checked names", () => {
    // python3 -c "import hashlib,re; M=2**27-1; h=re.sub(r'_nohash_.*$','','0a7c2a8d_nohash_0.wav');
    //   print(repr((int(hashlib.sha1(h.encode()).hexdigest(),16)%(M+1))*(100.0/M)))"  -> 56.836387193474074
    expect(hashPercentage("0a7c2a8d_nohash_0.wav")).toBe(56.836387193474074);
    expect(whichSet("0a7c2a8d_nohash_0.wav")).toBe("training");
    // Same command with '022cd682' -> 12.083593845990254 (a real test-set speaker: testing).
    expect(hashPercentage("022cd682_nohash_0.wav")).toBe(12.083593845990254);
    expect(whichSet("022cd682_nohash_0.wav")).toBe("testing");
    // 'c0ffee08' -> 0.5801014645405222; 'c0ffee04' -> 12.647591625508603.
    expect(hashPercentage("c0ffee08_nohash_3.wav")).toBe(0.5801014645405222);
    expect(whichSet("c0ffee08_nohash_3.wav")).toBe("validation");
    expect(whichSet("c0ffee04_nohash_0.wav")).toBe("testing");
  });

  it("hashes only the part before _nohash_, of the base name, with the given percentages", () => {
    expect(hashPercentage("yes/0a7c2a8d_nohash_4.wav")).toBe(56.836387193474074);
    // 'noname.wav' (no _nohash_: the whole name is hashed) -> 39.26442741799673.
    expect(hashPercentage("noname.wav")).toBe(39.26442741799673);
    expect(whichSet("c0ffee04_nohash_0.wav", 13, 10)).toBe("validation");
    expect(whichSet("c0ffee04_nohash_0.wav", 10, 2)).toBe("training");
    expect(whichSet("0a7c2a8d_nohash_0.wav", 50, 10)).toBe("testing");
  });

  it("parses speakers from archive and test-set names", () => {
    expect(speakerOf("0a7c2a8d_nohash_0.wav")).toBe("0a7c2a8d");
    expect(speakerOf("backward_0c540988_nohash_0.wav.wav")).toBe("0c540988");
    expect(speakerOf("1024.wav")).toBe("1024");
  });
});

const shared = sharedDataset(SC_SHARED_NAME, "speech_commands dataset tests");

describe.skipIf(!shared)("speech_commands dataset on real clips", () => {
  let tmp: string;
  let n = 0;
  const fresh = (): SpeechCommandsFixture => {
    const dir = path.join(tmp, `f${n++}`);
    fs.mkdirSync(dir);
    return buildSpeechCommandsFixture(shared as string, dir);
  };
  const openIt = async (root: string, options: DatasetOptions = {}): Promise<{ ds: Dataset; problems: ProblemList }> => {
    const problems = new ProblemList();
    const ds = await dataset.open(root, options, problems);
    return { ds, problems };
  };
  const countByLabel = (items: readonly DatasetItem[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const i of items) out[i.label ?? "?"] = (out[i.label ?? "?"] ?? 0) + 1;
    return out;
  };
  const expected = (keyword: number, unknown: number, silence: number): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const k of KEYWORDS) out[k] = keyword;
    if (unknown) out._unknown_ = unknown;
    if (silence) out._silence_ = silence;
    return out;
  };
  const messages = (p: ProblemList): string[] => p.problems.map(formatProblem);

  let fx: SpeechCommandsFixture;
  let full: Dataset;
  let fullProblems: ProblemList;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-sc-"));
    fx = fresh();
    ({ ds: full, problems: fullProblems } = await openIt(fx.root, { subsets: { test: fx.testRoot } }));
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("reads the fixture without problems: 12 classes in s3prl's order", () => {
    expect(messages(fullProblems)).toEqual([]);
    expect(full.kind).toBe("speech_commands");
    expect(full.tasks).toEqual(["ks"]);
    const data = full.taskData("ks");
    expect(data.classes).toEqual(["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_unknown_", "_silence_"]);
    expect(CLASSES.length).toBe(12);
  });

  it("follows symlinked word folders and files, as a corpus linked in from a shared disk is", async () => {
    const linked = path.join(tmp, "linked");
    fs.mkdirSync(linked);
    for (const e of fs.readdirSync(fx.root, { withFileTypes: true })) {
      const target = path.join(fx.root, e.name);
      if (e.name === "yes") {
        // One folder of symlinked files, the other folders symlinked whole.
        fs.mkdirSync(path.join(linked, e.name));
        for (const f of fs.readdirSync(target)) fs.symlinkSync(path.join(target, f), path.join(linked, e.name, f));
      } else fs.symlinkSync(target, path.join(linked, e.name));
    }
    const { ds, problems } = await openIt(linked, { subsets: { test: fx.testRoot } });
    expect(messages(problems)).toEqual([]);
    for (const split of ["train", "dev", "test"] as const) {
      expect(countByLabel(ds.taskData("ks").splits[split])).toEqual(countByLabel(full.taskData("ks").splits[split]));
    }
  });

  it("splits by the lists: exact counts per split and class", () => {
    const { splits } = full.taskData("ks");
    // train: c0ffee01 x2 per keyword; bed/c0ffee01, cat/c0ffee01, cat/c0ffee02; 11 + 18 silence crops.
    expect(countByLabel(splits.train)).toEqual(expected(2, 3, 29));
    // dev: the validation list (c0ffee08 and c0ffee02 per keyword, bed/c0ffee08) + crops #9, #19.
    expect(countByLabel(splits.dev)).toEqual(expected(2, 1, 3));
    // test: 2 files of each of the 12 test-set folders.
    expect(countByLabel(splits.test)).toEqual(expected(2, 2, 2));
    expect(splits.dev.filter((i) => i.label === "yes").map((i) => i.id)).toEqual(["yes/c0ffee02_nohash_0.wav", "yes/c0ffee08_nohash_0.wav"]);
    // The archive's testing files are in no split when the separate test set is given.
    const ids = new Set(full.items.map((i) => i.id));
    expect(ids.has("bird/0fa1e7a9_nohash_0.wav")).toBe(false);
    expect(full.items.length).toBe(52 + 24 + 24);
    for (const s of ["train", "dev", "test"] as Split[]) expect(new Set(splits[s].map((i) => i.id)).size).toBe(splits[s].length);
  });

  it("items: ids, speakers, labels, paths and header durations", () => {
    const { splits } = full.taskData("ks");
    const bed = splits.train.find((i) => i.id === "bed/c0ffee01_nohash_0.wav");
    expect(bed).toMatchObject({ speaker: "c0ffee01", label: "_unknown_", path: path.join(fx.root, "bed", "c0ffee01_nohash_0.wav") });
    expect(bed?.segment).toBeUndefined();
    expect(new Set(splits.train.map((i) => i.speaker))).toEqual(new Set(["c0ffee01", "c0ffee02", "_background_noise_"]));
    const unk = splits.test.filter((i) => i.label === "_unknown_");
    expect(unk.map((i) => [i.id, i.speaker])).toEqual([
      ["test/_unknown_/backward_0c540988_nohash_0.wav.wav", "0c540988"],
      ["test/_unknown_/backward_0cb74144_nohash_2.wav.wav", "0cb74144"],
    ]);
    expect(splits.test.filter((i) => i.label === "yes").map((i) => [i.id, i.speaker])).toEqual([
      ["test/yes/022cd682_nohash_0.wav", "022cd682"],
      ["test/yes/03401e93_nohash_0.wav", "03401e93"],
    ]);
    expect(splits.test.filter((i) => i.label === "_silence_").map((i) => i.id)).toEqual(["test/_silence_/1024.wav", "test/_silence_/1050.wav"]);
    for (const i of full.items) expect(i.durationSec).toBeCloseTo(1, 6);
  });

  it("silence: non-overlapping 1 s crops of each noise file, every 10th to dev", () => {
    const { splits } = full.taskData("ks");
    const dev = splits.dev.filter((i) => i.label === "_silence_");
    expect(dev.map((i) => i.id)).toEqual(["_background_noise_/running_tap.wav#9", "_background_noise_/running_tap.wav#19", "_background_noise_/white_noise.wav#9"]);
    const train = splits.train.filter((i) => i.label === "_silence_");
    // white_noise.wav is 12 s: crops 0..11 less #9; running_tap.wav is 20.5 s: crops 0..19 less #9, #19 (the half second is dropped).
    const white = train.filter((i) => i.id.startsWith("_background_noise_/white_noise.wav#"));
    expect(white.map((i) => i.segment?.startSec)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11]);
    expect(train.filter((i) => i.id.startsWith("_background_noise_/running_tap.wav#")).length).toBe(18);
    for (const i of [...train, ...dev]) {
      expect(i.segment?.durationSec).toBe(1);
      expect(i.durationSec).toBe(1);
      expect(i.speaker).toBe("_background_noise_");
      expect(i.id.endsWith(`#${i.segment?.startSec}`)).toBe(true);
    }
    expect(white[0].path).toBe(path.join(fx.root, "_background_noise_", "white_noise.wav"));
  });

  it("without validation_list.txt and testing_list.txt the hash rule decides", async () => {
    const f = fresh();
    fs.rmSync(f.validationList);
    fs.rmSync(f.testingList);
    const { ds, problems } = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(messages(problems)).toEqual([]);
    const { splits } = ds.taskData("ks");
    // Per keyword: c0ffee08 -> validation; c0ffee01 x2, c0ffee02 -> training; the 2 real speakers -> testing.
    expect(countByLabel(splits.train)).toEqual(expected(3, 3, 29));
    expect(countByLabel(splits.dev)).toEqual(expected(1, 1, 3));
    expect(splits.dev.filter((i) => i.label !== "_silence_").every((i) => i.speaker === "c0ffee08")).toBe(true);
    expect(ds.fingerprint.hash).not.toBe(full.fingerprint.hash);
  });

  it("without a test set, test is the testing list mapped to the 12 classes (no silence)", async () => {
    const { ds, problems } = await openIt(fx.root);
    expect(messages(problems)).toEqual([]);
    const { splits } = ds.taskData("ks");
    expect(countByLabel(splits.test)).toEqual(expected(2, 1, 0));
    expect(splits.test.find((i) => i.label === "_unknown_")).toMatchObject({ id: "bird/0fa1e7a9_nohash_0.wav", speaker: "0fa1e7a9" });
    expect(countByLabel(splits.train)).toEqual(expected(2, 3, 29));
  });

  it("fingerprint: stable, and changed by a list file", async () => {
    const again = await openIt(fx.root, { subsets: { test: fx.testRoot } });
    expect(again.ds.fingerprint).toEqual(full.fingerprint);
    expect(full.fingerprint.name).toBe("speech_commands_v0.01");
    const f = fresh();
    fs.appendFileSync(f.validationList, "\n");
    const changed = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(changed.ds.fingerprint.hash).not.toBe(full.fingerprint.hash);
  });

  it("refuses other tasks", async () => {
    await expectUserError(() => full.taskData("asr"), "ks task only", "asr");
  });

  it("problem: a root with no word folders (and no _background_noise_)", async () => {
    const dir = path.join(tmp, "empty-root");
    fs.mkdirSync(dir);
    const { ds, problems } = await openIt(dir);
    expect(messages(problems)).toEqual([
      `${dir}: no word folders (expected ROOT/<word>/<speaker>_nohash_<n>.wav, e.g. ROOT/yes/): is this the extracted speech_commands_v0.01 archive?`,
      `${path.join(dir, "_background_noise_")}: _background_noise_ folder not found: train and dev would have no _silence_ class (its 1 s crops come from these noise files)`,
    ]);
    expect(ds.items.length).toBe(0);
    await expectUserError(() => problems.throwIfAny(), dir, "no word folders", "1 more problem");
  });

  it("problem: an empty word folder, named; a missing keyword folder", async () => {
    const f = fresh();
    fs.mkdirSync(path.join(f.root, "dog"));
    fs.rmSync(path.join(f.root, "stop"), { recursive: true });
    fs.writeFileSync(f.validationList, "");
    fs.writeFileSync(f.testingList, "");
    const { problems } = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(messages(problems)).toEqual([`${path.join(f.root, "stop")}: keyword folder "stop" not found`, `${path.join(f.root, "dog")}: word folder "dog" holds no .wav files`]);
  });

  it("problem: no _background_noise_, so no silence in train/dev", async () => {
    const f = fresh();
    fs.rmSync(path.join(f.root, "_background_noise_"), { recursive: true });
    const { ds, problems } = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(problems.length).toBe(1);
    expect(problems.problems[0].file).toBe(path.join(f.root, "_background_noise_"));
    expect(problems.problems[0].message).toMatch(/not found.*no _silence_/);
    const { splits } = ds.taskData("ks");
    expect(countByLabel(splits.train)).toEqual(expected(2, 3, 0));
    expect(countByLabel(splits.dev)).toEqual(expected(2, 1, 0));
  });

  it("problem: a list line naming a missing file (file:line)", async () => {
    const f = fresh();
    // The validation list has 21 lines (2 per keyword + bed); the appended one is line 22.
    fs.appendFileSync(f.validationList, "yes/deadbeef_nohash_0.wav\n");
    fs.writeFileSync(f.testingList, "no/03401e93_nohash_0.wav\n\nup/nothere_nohash_0.wav\n");
    const { problems } = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(messages(problems)).toEqual([
      `${f.validationList}:22: names yes/deadbeef_nohash_0.wav, which is not among the word folders' .wav files`,
      `${f.testingList}:3: names up/nothere_nohash_0.wav, which is not among the word folders' .wav files`,
    ]);
  });

  it("problem: a file in both lists", async () => {
    const f = fresh();
    fs.appendFileSync(f.testingList, "yes/c0ffee08_nohash_0.wav\n");
    const { problems } = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(messages(problems)).toEqual([`${f.testingList}:22: yes/c0ffee08_nohash_0.wav is also in validation_list.txt (line 1)`]);
  });

  it("problem: the test set lacks a class folder, or has a foreign one", async () => {
    const f = fresh();
    fs.rmSync(path.join(f.testRoot, "_silence_"), { recursive: true });
    fs.mkdirSync(path.join(f.testRoot, "bed"));
    const { ds, problems } = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(messages(problems)).toEqual([
      `${path.join(f.testRoot, "bed")}: test set folder "bed" is not one of the 12 classes (yes no up down left right on off stop go _unknown_ _silence_)`,
      `${path.join(f.testRoot, "_silence_")}: test set class folder "_silence_" not found (the 12-class test set has one folder per class)`,
    ]);
    expect(countByLabel(ds.taskData("ks").splits.test)).toEqual(expected(2, 2, 0));
  });

  it("problem: a test set folder that does not exist", async () => {
    const missing = path.join(tmp, "no-such-test-set");
    const { ds, problems } = await openIt(fx.root, { subsets: { test: missing } });
    expect(messages(problems)).toEqual([`${missing}: Speech Commands test set folder (speech_commands_test=DIR) not found`]);
    expect(ds.taskData("ks").splits.test).toEqual([]);
  });

  it("problem: corrupt WAV headers are recorded and the items left out", async () => {
    const f = fresh();
    const bad = path.join(f.root, "yes", "c0ffee01_nohash_0.wav");
    fs.writeFileSync(bad, "not audio at all");
    const badNoise = path.join(f.root, "_background_noise_", "white_noise.wav");
    fs.writeFileSync(badNoise, Buffer.concat([Buffer.from("RIFF\0\0\0\0WAVE"), Buffer.alloc(4)]));
    const badTest = path.join(f.testRoot, "go", fs.readdirSync(path.join(f.testRoot, "go")).sort()[0]);
    fs.truncateSync(badTest, 20);
    const { ds, problems } = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(messages(problems)).toEqual([
      `${bad}: not a WAV or FLAC file`,
      `${badNoise}: corrupt WAV (no fmt or data chunk in the header)`,
      `${badTest}: corrupt WAV (no fmt or data chunk in the header)`,
    ]);
    const { splits } = ds.taskData("ks");
    expect(countByLabel(splits.train)).toEqual({ ...expected(2, 3, 18), yes: 1 });
    expect(countByLabel(splits.test)).toEqual({ ...expected(2, 2, 2), go: 1 });
  });

  it("problem: test-set class folders inside the training root", async () => {
    const f = fresh();
    fs.mkdirSync(path.join(f.root, "_unknown_"));
    const { problems } = await openIt(f.root, { subsets: { test: f.testRoot } });
    expect(messages(problems)).toEqual([
      `${path.join(f.root, "_unknown_")}: a "_unknown_" folder belongs to the 12-class test set, not the training archive: pass that folder as --data speech_commands_test=DIR`,
    ]);
  });

  it("a root that is not a folder throws at once", async () => {
    await expectUserError(() => dataset.open(path.join(tmp, "nope"), {}, new ProblemList()), "no such folder", "speech_commands");
  });
});
