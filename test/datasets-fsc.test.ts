import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatProblem, ProblemList, type Dataset } from "../src/dataset.js";
import { dataset, parseCsvLine } from "../src/datasets/fsc.js";
import { expectUserError } from "./helpers/errors.js";
import { sharedDataset } from "./helpers/shared-data.js";
import { buildFscLayout, type FscFixture, SPEECH_COMMANDS } from "./fixtures/layouts.js";

describe("parseCsvLine", () => {
  it("splits plain fields, keeps empty ones", () => {
    expect(parseCsvLine("a,b,c")).toEqual({ fields: ["a", "b", "c"] });
    expect(parseCsvLine(",path,speakerId")).toEqual({ fields: ["", "path", "speakerId"] });
    expect(parseCsvLine("a,,")).toEqual({ fields: ["a", "", ""] });
    expect(parseCsvLine("")).toEqual({ fields: [""] });
  });

  it("reads quoted fields with commas and doubled quotes", () => {
    expect(parseCsvLine('3,"Bring me my shoes, please",bring')).toEqual({ fields: ["3", "Bring me my shoes, please", "bring"] });
    expect(parseCsvLine('"Play ""the music"", louder",x')).toEqual({ fields: ['Play "the music", louder', "x"] });
    expect(parseCsvLine('a,""')).toEqual({ fields: ["a", ""] });
    expect(parseCsvLine('"",""')).toEqual({ fields: ["", ""] });
    // A quote inside an unquoted field is text, as pandas reads it.
    expect(parseCsvLine('say ab"c,d')).toEqual({ fields: ['say ab"c', "d"] });
  });

  it("reports an unterminated quote and text after a closing quote", () => {
    expect(parseCsvLine('a,"open, never closed').error).toBe("unterminated quoted field (field 2)");
    expect(parseCsvLine('"ab"c,d').error).toBe("text after the closing quote of field 1");
  });
});

const source = sharedDataset(SPEECH_COMMANDS, "FSC dataset tests");

describe.skipIf(!source)("fsc dataset on real Speech Commands clips", () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "superb-fsc-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  let counter = 0;
  const build = (): FscFixture => {
    const dir = path.join(tmp, `r${counter++}`);
    mkdirSync(dir);
    return buildFscLayout(dir, source as string);
  };
  const open = async (root: string): Promise<{ ds: Dataset; problems: string[] }> => {
    const list = new ProblemList();
    const ds = await dataset.open(root, {}, list);
    return { ds, problems: list.problems.map(formatProblem) };
  };
  /** Replaces one line (1-based) of a file. */
  const setLine = (file: string, line: number, text: string) => {
    const lines = readFileSync(file, "utf8").split("\n");
    lines[line - 1] = text;
    writeFileSync(file, lines.join("\n"));
  };

  it("reads the splits, intents, transcriptions and slots from train", async () => {
    const fx = build();
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([]);
    expect(ds.kind).toBe("fsc");
    expect(ds.tasks).toEqual(["ic"]);
    expect(ds.items.length).toBe(10);
    const data = ds.taskData("ic");
    expect(data.splits.train.length).toBe(6);
    expect(data.splits.dev.length).toBe(2);
    expect(data.splits.test.length).toBe(2);
    expect(data.intentSlots).toEqual({
      action: ["activate", "bring", "deactivate", "decrease", "increase"],
      object: ["heat", "lights", "music", "shoes", "volume"],
      location: ["bedroom", "kitchen", "none"],
    });
    expect(new Set(data.splits.train.map((i) => i.speaker))).toEqual(new Set(["2BqVo8kVB2Skwgyb", "4aGjX3AG5xcxeL7a"]));
    expect(data.splits.dev.map((i) => i.speaker)).toEqual(["52XVOeXMXYuaElyw", "52XVOeXMXYuaElyw"]);
    expect(data.splits.test.map((i) => i.text)).toEqual(["Heat down in the bedroom", "Turn the volume up"]);

    const third = data.splits.train[2];
    expect(third.id).toBe("wavs/speakers/4aGjX3AG5xcxeL7a/0a3129c2-4474-11e9-a9a5-5dbec3b8816a");
    expect(third.path).toBe(path.join(fx.root, "wavs/speakers/4aGjX3AG5xcxeL7a/0a3129c2-4474-11e9-a9a5-5dbec3b8816a.wav"));
    expect(third.text).toBe("Bring me my shoes, please");
    expect(third.intent).toEqual({ action: "bring", object: "shoes", location: "none" });
    expect(data.splits.train[5].text).toBe('Play "the music", louder');
    // Speech Commands clips are 16000 samples at 16 kHz.
    for (const i of ds.items) expect(i.durationSec).toBe(1);
    expect(new Set(ds.items.map((i) => i.id)).size).toBe(10);
    expect(ds.fingerprint.name).toBe("fluent_speech_commands_dataset");
    expect(ds.fingerprint.hash).toMatch(/^[0-9a-f]{16}$/);
    await expectUserError(() => ds.taskData("sid"), "fsc", "ic", "sid");
  });

  it("finds columns by name in any order, without the index column, with CRLF lines", async () => {
    const fx = build();
    const file = fx.csv("test");
    const rows = fx.rows.test;
    writeFileSync(
      file,
      ["location,object,action,transcription,speakerId,path", ...rows.map((r) => [r.location, r.object, r.action, r.transcription, r.speakerId, r.path].join(","))].join("\r\n") + "\r\n",
    );
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([]);
    const test = ds.taskData("ic").splits.test;
    expect(test.map((i) => i.intent)).toEqual([
      { action: "decrease", object: "heat", location: "bedroom" },
      { action: "increase", object: "volume", location: "none" },
    ]);
    expect(test[0].path).toBe(path.join(fx.root, rows[0].path));
  });

  it("the fingerprint changes when a label changes", async () => {
    const fx = build();
    const before = (await open(fx.root)).ds.fingerprint.hash;
    setLine(fx.csv("train"), 2, readFileSync(fx.csv("train"), "utf8").split("\n")[1].replace(",none", ",kitchen"));
    const after = await open(fx.root);
    expect(after.problems).toEqual([]);
    expect(after.ds.fingerprint.hash).not.toBe(before);
  });

  it("a missing CSV is a problem naming it; the other splits are still read", async () => {
    const fx = build();
    unlinkSync(fx.csv("valid"));
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([`${fx.csv("valid")}: valid (dev) CSV not found`]);
    const data = ds.taskData("ic");
    expect([data.splits.train.length, data.splits.dev.length, data.splits.test.length]).toEqual([6, 0, 2]);
  });

  it("a CSV without a needed column names file and column", async () => {
    const fx = build();
    setLine(fx.csv("train"), 1, ",path,speakerId,transcription,action,obj,location");
    const { problems } = await open(fx.root);
    expect(problems.length).toBeGreaterThanOrEqual(1);
    expect(problems[0]).toBe(`${fx.csv("train")}:1: no "object" column in the header (columns: path, speakerId, transcription, action, obj, location)`);
  });

  it("row problems name file:line, all collected: missing wav, field count, empty slot, bad quote, corrupt header", async () => {
    const fx = build();
    const train = fx.rows.train;
    unlinkSync(path.join(fx.root, train[0].path));
    setLine(fx.csv("train"), 3, `1,${train[1].path},${train[1].speakerId},Turn off the kitchen lights,deactivate,lights`);
    setLine(fx.csv("train"), 4, `2,${train[2].path},${train[2].speakerId},Bring me my shoes,bring,,none`);
    setLine(fx.csv("train"), 5, `3,${train[3].path},${train[3].speakerId},"Volume up,increase,volume,none`);
    writeFileSync(path.join(fx.root, train[4].path), "RIFF\x10\x00\x00\x00WAVEjunkjunkjunk");
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([
      `${fx.csv("train")}:2: ${path.join(fx.root, train[0].path)}: wav file not found`,
      `${fx.csv("train")}:3: 6 fields, the header has 7`,
      `${fx.csv("train")}:4: empty object`,
      `${fx.csv("train")}:5: unterminated quoted field (field 4)`,
      `${fx.csv("train")}:6: ${path.join(fx.root, train[4].path)}: corrupt WAV (no fmt or data chunk in the header)`,
      // Only the "increase music none" row is left in train: every dev/test row now has unseen values.
      `${fx.csv("valid")}:2: action "activate" does not occur in train_data.csv (the classifier's actions: increase)`,
      `${fx.csv("valid")}:2: object "lights" does not occur in train_data.csv (the classifier's objects: music)`,
      `${fx.csv("valid")}:3: action "bring" does not occur in train_data.csv (the classifier's actions: increase)`,
      `${fx.csv("valid")}:3: object "shoes" does not occur in train_data.csv (the classifier's objects: music)`,
      `${fx.csv("test")}:2: action "decrease" does not occur in train_data.csv (the classifier's actions: increase)`,
      `${fx.csv("test")}:2: object "heat" does not occur in train_data.csv (the classifier's objects: music)`,
      `${fx.csv("test")}:2: location "bedroom" does not occur in train_data.csv (the classifier's locations: none)`,
      `${fx.csv("test")}:3: object "volume" does not occur in train_data.csv (the classifier's objects: music)`,
    ]);
    const data = ds.taskData("ic");
    expect(data.splits.train.map((i) => i.text)).toEqual(['Play "the music", louder']);
    expect(data.splits.dev.map((i) => i.text)).toEqual([]);
    expect(data.splits.test.map((i) => i.text)).toEqual([]);
    expect(data.intentSlots).toEqual({ action: ["increase"], object: ["music"], location: ["none"] });
  });

  it("a dev row with a slot value unseen in train names file:line and the value", async () => {
    const fx = build();
    const v = fx.rows.valid[0];
    setLine(fx.csv("valid"), 2, `0,${v.path},${v.speakerId},Turn on the lamp,activate,lamp,washroom`);
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([
      `${fx.csv("valid")}:2: object "lamp" does not occur in train_data.csv (the classifier's objects: heat, lights, music, shoes, volume)`,
      `${fx.csv("valid")}:2: location "washroom" does not occur in train_data.csv (the classifier's locations: bedroom, kitchen, none)`,
    ]);
    expect(ds.taskData("ic").splits.dev.map((i) => i.text)).toEqual(["Bring my shoes"]);
  });

  it("a path listed twice is a problem at the second line", async () => {
    const fx = build();
    const t = fx.rows.train[0];
    setLine(fx.csv("test"), 3, `1,${t.path},${t.speakerId},Turn on the lights,activate,lights,none`);
    const { ds, problems } = await open(fx.root);
    expect(problems).toEqual([`${fx.csv("test")}:3: ${t.path.replace(/\.wav$/, "")}: listed twice (first at ${fx.csv("train")}:2)`]);
    expect(ds.taskData("ic").splits.test.length).toBe(1);
  });

  it("an empty CSV and a missing root", async () => {
    const fx = build();
    writeFileSync(fx.csv("test"), "");
    expect((await open(fx.root)).problems).toEqual([`${fx.csv("test")}:1: empty file (no header line)`]);
    await expectUserError(() => dataset.open(path.join(tmp, "nope"), {}, new ProblemList()), path.join(tmp, "nope"), "no such folder");
  });
});
