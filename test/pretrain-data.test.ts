import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeWav16 } from "../src/audio.js";
import type { DatasetItem, Split } from "../src/dataset.js";
import { encodeFlacVerbatim } from "../src/fuzz/seed-audio.js";
import { arrayPretrainData, concatPretrainData, listAudioFiles, openPretrainSource, pretrainItemsOf } from "../src/pretrain-data.js";
import { expectUserError } from "./helpers/errors.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-pretrain-data-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const item = (id: string): DatasetItem => ({ id, path: `/x/${id}.wav`, durationSec: 1, speaker: "s" });
const splits = (train: string[], dev: string[], test: string[]): Record<Split, DatasetItem[]> => ({ train: train.map(item), dev: dev.map(item), test: test.map(item) });
const noCorpus = { embeddedCorpus: () => Promise.reject(new Error("not used")) };

describe("pre-training data sources", () => {
  it("a dataset gives its tasks' train and dev items minus every item any task tests on", () => {
    // SID tests on c; ASV trains on every file (c included) and tests on its trial speakers' e.
    const sid = splits(["a", "b"], ["d"], ["c"]);
    const asv = splits(["a", "b", "c", "d"], [], ["e"]);
    expect(pretrainItemsOf([sid, asv]).map((i) => i.id)).toEqual(["a", "b", "d"]);
  });

  it("a folder gives every .wav and .flac under it, symlinks followed, in path order, at 16 kHz", async () => {
    const dir = path.join(tmp, "audio");
    fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
    writeWav16(path.join(dir, "b.wav"), new Float32Array(800).fill(0.25), 8000); // resampled to 1600 samples
    fs.writeFileSync(path.join(dir, "sub", "a.flac"), encodeFlacVerbatim(new Float32Array(1024).fill(0.5), 16000));
    fs.writeFileSync(path.join(dir, "notes.txt"), "not audio");
    fs.symlinkSync(path.join(dir, "b.wav"), path.join(dir, "c-link.wav"));
    expect(listAudioFiles(dir).map((f) => path.relative(dir, f))).toEqual(["b.wav", "c-link.wav", "sub/a.flac"]);
    const notices: string[] = [];
    const ds = await openPretrainSource(dir, { ...noCorpus, onNotice: (m) => notices.push(m) });
    expect(ds.size).toBe(3);
    expect([0, 1, 2].map((i) => ds.length(i))).toEqual([1600, 1600, 1024]);
    expect(notices).toEqual([`${dir}: 2 files resampled 8000 Hz -> 16000 Hz`]);
  });

  it("sources concatenate in order; the id joins the parts' ids", () => {
    const a = arrayPretrainData([new Float32Array(3), new Float32Array(5)], "A");
    const b = arrayPretrainData([new Float32Array(7)], "B");
    const ab = concatPretrainData([a, b]);
    expect(ab.size).toBe(3);
    expect([0, 1, 2].map((i) => ab.length(i))).toEqual([3, 5, 7]);
    expect(ab.load(2)).toBe(b.load(0));
    expect(ab.id).toBe("A|B");
  });

  it("bad sources are one-line errors naming them", async () => {
    const missing = path.join(tmp, "nope");
    await expectUserError(() => openPretrainSource(missing, noCorpus), `${missing}: not a folder`);
    const empty = path.join(tmp, "empty");
    fs.mkdirSync(empty);
    await expectUserError(() => openPretrainSource(empty, noCorpus), `${empty}: no .wav or .flac files found`);
    await expectUserError(() => openPretrainSource("nokind=/tmp", noCorpus), 'unknown dataset kind "nokind"');
  });
});
