import { cpSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatProblem, ProblemList, type Dataset } from "../src/dataset.js";
import { asvDevSpeakers, dataset } from "../src/datasets/voxceleb1.js";
import { expectUserError } from "./helpers/errors.js";
import { sharedDataset } from "./helpers/shared-data.js";
import { buildVoxCeleb1Layout, SPEECH_COMMANDS, type VoxCeleb1Fixture, type VoxCeleb1FixtureOptions } from "./fixtures/layouts.js";

describe("asvDevSpeakers", () => {
  const spk = (n: number) => Array.from({ length: n }, (_, i) => `id${10001 + i}`);
  it("holds out none below 4 training speakers, 2 up to 40, then every 20th", () => {
    expect(asvDevSpeakers(spk(3))).toEqual([]);
    expect(asvDevSpeakers(spk(4))).toEqual(["id10001", "id10003"]);
    expect(asvDevSpeakers(spk(20))).toEqual(["id10001", "id10011"]);
    expect(asvDevSpeakers(spk(21))).toEqual(["id10001", "id10021"]);
    expect(asvDevSpeakers(spk(45))).toEqual(["id10001", "id10021", "id10041"]);
    expect(asvDevSpeakers(spk(1211)).length).toBe(61);
  });
  it("sorts and deduplicates first", () => {
    expect(asvDevSpeakers(["d", "b", "a", "c", "a", "b"])).toEqual(["a", "c"]);
  });
});

const source = sharedDataset(SPEECH_COMMANDS, "VoxCeleb1 dataset tests");

describe.skipIf(!source)("voxceleb1 dataset on real Speech Commands clips", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "superb-voxceleb1-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  let counter = 0;
  /** 6 speakers (id10005 and id10006 the trial speakers) x 2 videos x 2 files. */
  const build = (layout: "root" | "split", extra: Partial<VoxCeleb1FixtureOptions> = {}): VoxCeleb1Fixture => {
    const dir = path.join(tmp, `r${counter++}`);
    mkdirSync(dir);
    return buildVoxCeleb1Layout(dir, source as string, { speakers: 6, videosPerSpeaker: 2, utterancesPerVideo: 2, testSpeakers: 2, layout, ...extra });
  };
  const open = async (root: string): Promise<{ ds: Dataset; problems: string[] }> => {
    const list = new ProblemList();
    const ds = await dataset.open(root, {}, list);
    return { ds, problems: list.problems.map(formatProblem) };
  };
  const ids = (items: readonly { id: string }[]) => items.map((i) => i.id);
  const filesOf = (...speakers: string[]) =>
    speakers.flatMap((s) => [`${s}/1zcIwhmdeo4/00001.wav`, `${s}/1zcIwhmdeo4/00002.wav`, `${s}/7w0IBEWc9Qw/00001.wav`, `${s}/7w0IBEWc9Qw/00002.wav`]);
  const ALL = ["id10001", "id10002", "id10003", "id10004", "id10005", "id10006"];

  async function expectStandardSplits(ds: Dataset): Promise<void> {
    expect(ds.tasks).toEqual(["sid", "asv"]);
    expect(ids(ds.items)).toEqual(filesOf(...ALL));
    for (const i of ds.items) {
      expect(i.speaker).toBe(i.id.slice(0, 7));
      expect(i.durationSec).toBe(1);
    }
    const sid = ds.taskData("sid");
    expect(sid.classes).toEqual(ALL);
    expect(ids(sid.splits.train)).toEqual(ALL.flatMap((s) => [`${s}/1zcIwhmdeo4/00001.wav`, `${s}/1zcIwhmdeo4/00002.wav`]));
    expect(ids(sid.splits.dev)).toEqual(ALL.map((s) => `${s}/7w0IBEWc9Qw/00001.wav`));
    expect(ids(sid.splits.test)).toEqual(ALL.map((s) => `${s}/7w0IBEWc9Qw/00002.wav`));

    const asv = ds.taskData("asv");
    // Trial speakers id10005-6 are test; of the 4 others (sorted) indices 0 and 2 are held out as dev.
    expect(ids(asv.splits.train)).toEqual(filesOf("id10002", "id10004"));
    expect(ids(asv.splits.dev)).toEqual(filesOf("id10001", "id10003"));
    expect(ids(asv.splits.test)).toEqual(filesOf("id10005", "id10006"));
    expect(asv.trials?.dev).toBeUndefined();
    const trials = asv.trials?.test ?? [];
    expect(trials.length).toBe(16);
    expect(trials.filter((t) => t.label === 1).length).toBe(8);
    expect(trials.slice(0, 4)).toEqual([
      { label: 1, enroll: "id10005/1zcIwhmdeo4/00001.wav", test: "id10005/1zcIwhmdeo4/00002.wav" },
      { label: 0, enroll: "id10005/1zcIwhmdeo4/00001.wav", test: "id10006/1zcIwhmdeo4/00001.wav" },
      { label: 1, enroll: "id10005/1zcIwhmdeo4/00002.wav", test: "id10005/7w0IBEWc9Qw/00001.wav" },
      { label: 0, enroll: "id10005/1zcIwhmdeo4/00002.wav", test: "id10006/1zcIwhmdeo4/00002.wav" },
    ]);
    expect(trials[15]).toEqual({ label: 0, enroll: "id10006/7w0IBEWc9Qw/00002.wav", test: "id10005/7w0IBEWc9Qw/00002.wav" });
  }

  it("root/wav layout: SID from iden_split.txt, ASV partition by trial speakers", async () => {
    const fx = build("root");
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([]);
    await expectStandardSplits(ds);
    expect(ds.items[0].path).toBe(path.join(fx.root, "wav", "id10001", "1zcIwhmdeo4", "00001.wav"));
    expect(ds.fingerprint).toMatchObject({ kind: "voxceleb1", name: "VoxCeleb1" });
  });

  it("s3prl layout dev/wav + test/wav gives the same ids and splits", async () => {
    const fx = build("split");
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([]);
    await expectStandardSplits(ds);
    const byId = new Map(ds.items.map((i) => [i.id, i.path]));
    expect(byId.get("id10004/7w0IBEWc9Qw/00002.wav")).toBe(path.join(fx.root, "dev", "wav", "id10004", "7w0IBEWc9Qw", "00002.wav"));
    expect(byId.get("id10005/1zcIwhmdeo4/00001.wav")).toBe(path.join(fx.root, "test", "wav", "id10005", "1zcIwhmdeo4", "00001.wav"));
  });

  it("reads root/wav and dev/wav side by side; a file in both is a problem", async () => {
    const fx = build("split");
    mkdirSync(path.join(fx.root, "wav"));
    renameSync(path.join(fx.root, "test", "wav", "id10006"), path.join(fx.root, "wav", "id10006"));
    const first = await open(fx.root);
    expect(first.problems).toEqual([]);
    await expectStandardSplits(first.ds);
    cpSync(path.join(fx.root, "dev", "wav", "id10001"), path.join(fx.root, "wav", "id10001"), { recursive: true });
    const dup = path.join(fx.root, "dev", "wav", "id10001", "1zcIwhmdeo4", "00001.wav");
    const { ds, problems } = await open(fx.root);
    expect(problems.length).toBe(4);
    expect(problems[0]).toBe(`${dup}: id10001/1zcIwhmdeo4/00001.wav is also at ${path.join(fx.root, "wav", "id10001", "1zcIwhmdeo4", "00001.wav")}; using that one`);
    expect(ds.items.length).toBe(24);
  });

  it("the fingerprint follows the split and trial files", async () => {
    const fx = build("root");
    const a = (await open(fx.root)).ds.fingerprint.hash;
    expect((await open(fx.root)).ds.fingerprint.hash).toBe(a);
    writeFileSync(path.join(fx.root, "veri_test2.txt"), fx.trials.slice(1).map((t) => `${t.label} ${t.enroll} ${t.test}`).join("\n"));
    expect((await open(fx.root)).ds.fingerprint.hash).not.toBe(a);
  });

  it("missing iden_split.txt: taskData('sid') throws naming it, ASV still works", async () => {
    const fx = build("root");
    unlinkSync(path.join(fx.root, "iden_split.txt"));
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([]);
    await expectUserError(() => ds.taskData("sid"), path.join(fx.root, "iden_split.txt"), "not found");
    expect(ds.taskData("asv").trials?.test.length).toBe(16);
    await expectUserError(() => ds.taskData("ic"), "voxceleb1", "sid and asv", "ic");
  });

  it("trial list: veri_test2.txt first, then voxceleb1_test_v2.txt, veri_test.txt; none is a UserError listing all three", async () => {
    const fx = build("root");
    const v2 = path.join(fx.root, "veri_test2.txt");
    writeFileSync(path.join(fx.root, "veri_test.txt"), "1 id10005/1zcIwhmdeo4/00001.wav id10005/1zcIwhmdeo4/00002.wav\n");
    expect((await open(fx.root)).ds.taskData("asv").trials?.test.length).toBe(16);
    renameSync(v2, path.join(fx.root, "voxceleb1_test_v2.txt"));
    expect((await open(fx.root)).ds.taskData("asv").trials?.test.length).toBe(16);
    unlinkSync(path.join(fx.root, "voxceleb1_test_v2.txt"));
    const one = (await open(fx.root)).ds.taskData("asv");
    expect(one.trials?.test).toEqual([{ label: 1, enroll: "id10005/1zcIwhmdeo4/00001.wav", test: "id10005/1zcIwhmdeo4/00002.wav" }]);
    expect(ids(one.splits.test)).toEqual(["id10005/1zcIwhmdeo4/00001.wav", "id10005/1zcIwhmdeo4/00002.wav"]);
    // Only id10005 is a trial speaker now: 5 training speakers, dev = indices 0 and 2.
    expect(ids(one.splits.dev)).toEqual(filesOf("id10001", "id10003"));
    expect(ids(one.splits.train)).toEqual(filesOf("id10002", "id10004", "id10006"));
    unlinkSync(path.join(fx.root, "veri_test.txt"));
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([]);
    await expectUserError(() => ds.taskData("asv"), fx.root, "veri_test2.txt", "voxceleb1_test_v2.txt", "veri_test.txt");
    expect(ds.taskData("sid").classes?.length).toBe(6);
  });

  it("split-list problems name file:line: missing file, bad split, field count, bad path, repeat, speaker without training lines", async () => {
    const fx = build("root");
    const split = path.join(fx.root, "iden_split.txt");
    writeFileSync(
      split,
      [
        "1 id10001/1zcIwhmdeo4/00001.wav",
        "1 id10001/1zcIwhmdeo4/00009.wav",
        "4 id10001/1zcIwhmdeo4/00002.wav",
        "1",
        "",
        "1 id10001/00002.wav",
        "1 id10001/1zcIwhmdeo4/00001.wav",
        "2 id10002/1zcIwhmdeo4/00001.wav",
        "3 id10001/7w0IBEWc9Qw/00002.wav",
        "1 id10001/7w0IBEWc9Qw/00001.wav extra",
      ].join("\r\n"),
    );
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([
      `${split}:2: id10001/1zcIwhmdeo4/00009.wav: no such file under ${fx.root}/wav, dev/wav or test/wav`,
      `${split}:3: split "4" is not 1 (train), 2 (dev) or 3 (test)`,
      `${split}:4: expected "<1|2|3> idXXXXX/<video>/<n>.wav", got 1 field`,
      `${split}:6: "id10001/00002.wav" is not an idXXXXX/<video>/<n>.wav path`,
      `${split}:7: id10001/1zcIwhmdeo4/00001.wav: listed twice (first at line 1)`,
      `${split}:10: expected "<1|2|3> idXXXXX/<video>/<n>.wav", got 3 fields`,
      `${split}:8: speaker id10002 of id10002/1zcIwhmdeo4/00001.wav has no training (split 1) utterance`,
    ]);
    const sid = ds.taskData("sid");
    expect(sid.classes).toEqual(["id10001"]);
    expect(ids(sid.splits.train)).toEqual(["id10001/1zcIwhmdeo4/00001.wav"]);
    expect(ids(sid.splits.dev)).toEqual([]);
    expect(ids(sid.splits.test)).toEqual(["id10001/7w0IBEWc9Qw/00002.wav"]);
  });

  it("trial-list problems name file:line: missing file, field count, label, bad path; the speakers stay out of training", async () => {
    const fx = build("root");
    const trials = path.join(fx.root, "veri_test2.txt");
    writeFileSync(
      trials,
      [
        "1 id10005/1zcIwhmdeo4/00001.wav id10005/1zcIwhmdeo4/00002.wav",
        "0 id10005/1zcIwhmdeo4/00001.wav id10006/1zcIwhmdeo4/00007.wav",
        "1 id10005/1zcIwhmdeo4/00001.wav",
        "2 id10005/1zcIwhmdeo4/00001.wav id10004/1zcIwhmdeo4/00002.wav",
        "0 id10005/1zcIwhmdeo4/00001.wav id10003.wav",
        "",
      ].join("\n"),
    );
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([
      `${trials}:2: id10006/1zcIwhmdeo4/00007.wav: no such file under ${fx.root}/wav, dev/wav or test/wav`,
      `${trials}:3: expected "<0|1> enroll.wav test.wav", got 2 fields`,
      `${trials}:4: label "2" is not 0 (different speakers) or 1 (same speaker)`,
      `${trials}:5: "id10003.wav" is not an idXXXXX/<video>/<n>.wav path`,
    ]);
    const asv = ds.taskData("asv");
    expect(asv.trials?.test).toEqual([{ label: 1, enroll: "id10005/1zcIwhmdeo4/00001.wav", test: "id10005/1zcIwhmdeo4/00002.wav" }]);
    expect(ids(asv.splits.test)).toEqual(["id10005/1zcIwhmdeo4/00001.wav", "id10005/1zcIwhmdeo4/00002.wav"]);
    // id10006 (line 2) and id10004 (line 4, bad label) are named by trials: not trained on. That
    // leaves 3 training speakers, too few to hold any out: dev is empty.
    expect(ids(asv.splits.dev)).toEqual([]);
    expect(ids(asv.splits.train)).toEqual(filesOf("id10001", "id10002", "id10003"));
  });

  it("a wav whose header does not parse is a problem naming it; lines naming it are not reported again", async () => {
    const fx = build("root");
    const bad = path.join(fx.root, "wav", "id10005", "1zcIwhmdeo4", "00001.wav");
    writeFileSync(bad, "not a wav at all");
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([`${bad}: not a WAV or FLAC file`]);
    expect(ds.items.length).toBe(23);
    expect(ds.taskData("sid").splits.train.length).toBe(11);
    // The 4 trials with it as enroll or test are dropped.
    expect(ds.taskData("asv").trials?.test.length).toBe(12);
  });

  it("empty or absent wav folders are problems; a missing root throws", async () => {
    const fx = build("split");
    rmSync(path.join(fx.root, "test", "wav"), { recursive: true });
    mkdirSync(path.join(fx.root, "test", "wav", "id10005", "1zcIwhmdeo4"), { recursive: true });
    const { ds, problems } = await open(fx.root);
    expect(problems[0]).toBe(`${path.join(fx.root, "test", "wav")}: empty wav folder: no idXXXXX/<video>/<n>.wav files`);
    // iden_split.txt lists 4 files per speaker in order: id10005's first file is line 17.
    expect(problems[1]).toBe(`${path.join(fx.root, "iden_split.txt")}:17: id10005/1zcIwhmdeo4/00001.wav: no such file under ${fx.root}/wav, dev/wav or test/wav`);
    expect(ds.items.length).toBe(16);

    rmSync(path.join(fx.root, "dev"), { recursive: true });
    rmSync(path.join(fx.root, "test"), { recursive: true });
    const none = await open(fx.root);
    expect(none.problems[0]).toMatch(new RegExp(`^${fx.root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: no wav folder: expected .*/wav/idXXXXX/<video>/<n>.wav or .*/dev/wav/\\.\\.\\. and .*/test/wav/\\.\\.\\.$`));
    expect(none.ds.items.length).toBe(0);
    await expectUserError(() => dataset.open(path.join(tmp, "nope"), {}, new ProblemList()), path.join(tmp, "nope"), "no such folder");
  });

  it("the builder repeats clips when asked and numbers speakers from firstId", () => {
    expect(() => build("root", { speakers: 2, videosPerSpeaker: 20, utterancesPerVideo: 5, testSpeakers: 0 })).toThrow(/set repeatClips/);
    const fx = build("root", { speakers: 2, videosPerSpeaker: 6, utterancesPerVideo: 20, testSpeakers: 2, repeatClips: true, firstId: 10270 });
    expect(fx.speakers.map((s) => s.id)).toEqual(["id10270", "id10271"]);
    expect(fx.files.length).toBe(240);
    expect(fx.files.some((f) => f.id === "id10270/1zcIwhmdeo41/00020.wav")).toBe(true);
    expect(new Set(fx.files.filter((f) => f.speaker === "id10271").map((f) => f.source)).size).toBeLessThan(120);
    expect(fx.trials.length).toBe(480);
  });
});
