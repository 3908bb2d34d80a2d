import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeFlacFile, readAudioHeader } from "../src/audio-file.js";
import { ProblemList, formatProblem, type Dataset, type DatasetOptions } from "../src/dataset.js";
import { dataset, parseLexicon } from "../src/datasets/librispeech.js";
import { expectUserError } from "./helpers/errors.js";
import { sharedDataset } from "./helpers/shared-data.js";
import { realFlacs, writeLibriSpeech, type FixtureUtterance } from "./fixtures/librispeech.js";

const tmp = mkdtempSync(path.join(tmpdir(), "superb-librispeech-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => {
  const d = path.join(tmp, `r${counter++}`);
  mkdirSync(d);
  return d;
};

const LEXICON = [
  "HELLO\tHH AH0 L OW1",
  "HELLO\tHH EH0 L OW1", // a second pronunciation: ignored, but EH0 is still in the phone set
  "WORLD\tW ER1 L D",
  "",
  "THE DH AH0", // no tab: whitespace after the word
  "CAT'S\tK AE1 T S",
  "HAT\tHH AE1 T",
  "A\tAH0",
  "CAT\tK AE1 T",
  "",
].join("\n");

describe("parseLexicon", () => {
  it("keeps the first pronunciation, accepts a space instead of a tab, skips blank lines", () => {
    const lex = parseLexicon(LEXICON, "lex.txt");
    expect(lex.pronunciations.get("HELLO")).toEqual(["HH", "AH0", "L", "OW1"]);
    expect(lex.pronunciations.get("THE")).toEqual(["DH", "AH0"]);
    expect(lex.pronunciations.get("CAT'S")).toEqual(["K", "AE1", "T", "S"]);
    expect(lex.pronunciations.size).toBe(7);
    expect(lex.alternatives).toBe(1);
    expect(lex.phoneSet).toEqual(["AE1", "AH0", "D", "DH", "EH0", "ER1", "HH", "K", "L", "OW1", "S", "T", "W"]);
  });

  it("reads CRLF lines and several spaces or tabs between phones", () => {
    const lex = parseLexicon("GO\tG \t OW1\r\nNO   N  OW1\r\n", "lex.txt");
    expect(lex.pronunciations.get("GO")).toEqual(["G", "OW1"]);
    expect(lex.pronunciations.get("NO")).toEqual(["N", "OW1"]);
    expect(lex.phoneSet).toEqual(["G", "N", "OW1"]);
  });

  it("a line separator other than \\n inside a tab-less line is whitespace, not a crash (fuzz finding)", () => {
    const lex = parseLexicon("HELLO HH AH0\u2028L OW1\nBYE B\rAY1\n", "lex.txt");
    expect(lex.pronunciations.get("HELLO")).toEqual(["HH", "AH0", "L", "OW1"]);
    expect(lex.pronunciations.get("BYE")).toEqual(["B", "AY1"]);
  });

  it("a word without a pronunciation is a UserError naming file:line and the count of the others", async () => {
    await expectUserError(() => parseLexicon("A\tAH0\nB\n\nC\t\n", "lex.txt"), "lex.txt:2: malformed lexicon line", 'word "B" has no pronunciation', "(and 1 more malformed line)");
    await expectUserError(() => parseLexicon("A\tAH0\n\tAH0\n", "lex.txt"), /^lex\.txt:2: malformed lexicon line \(no word before the pronunciation\)$/);
    await expectUserError(() => parseLexicon("OPEN DOOR\tOW1 P\n", "lex.txt"), "lex.txt:1:", 'word "OPEN DOOR" contains a space');
  });

  it("an empty lexicon is a UserError", async () => {
    await expectUserError(() => parseLexicon("\n\n", "lex.txt"), "lex.txt: the lexicon is empty");
  });
});

const samples = sharedDataset("librispeech-train-clean-100-samples", "LibriSpeech dataset tests");

describe.skipIf(!samples)("librispeech dataset on real FLACs", () => {
  const flacs = samples ? realFlacs(samples) : [];
  const [f0, f1, f2, f3, f4, f5] = flacs;

  /** The good corpus: 3 train utterances over 2 speakers, 1 dev, 1 test. */
  const good = (): Record<string, FixtureUtterance[]> => ({
    "train-clean-100": [
      { id: "83-11691-0000", flac: f0, words: "HELLO WORLD" },
      { id: "83-11691-0001", flac: f1, words: "THE CAT'S HAT" },
      { id: "909-131041-0000", flac: f2, words: "HELLO THE WORLD" },
    ],
    "dev-clean": [{ id: "248-130644-0000", flac: f3, words: "A CAT" }],
    "test-clean": [{ id: "1246-124548-0000", flac: f4, words: "the hat" }],
  });

  function build(subsets: Record<string, FixtureUtterance[]>, lexicon?: string): { root: string; lexiconFile: string } {
    const root = path.join(freshDir(), "LibriSpeech");
    writeLibriSpeech(root, subsets);
    const lexiconFile = path.join(path.dirname(root), "lexicon.txt");
    writeFileSync(lexiconFile, lexicon ?? LEXICON);
    return { root, lexiconFile };
  }

  async function open(root: string, options: DatasetOptions = {}): Promise<{ ds: Dataset; problems: string[] }> {
    const list = new ProblemList();
    const ds = await dataset.open(root, options, list);
    return { ds, problems: list.problems.map(formatProblem) };
  }

  it("has at least six real FLACs to build from", () => {
    expect(flacs.length).toBeGreaterThanOrEqual(6);
  });

  it("reads items, speakers, texts and header durations", async () => {
    const { root } = build(good());
    const { ds, problems } = await open(root);
    expect(problems).toEqual([]);
    expect(ds.kind).toBe("librispeech");
    expect(ds.tasks).toEqual(["pr", "asr"]);
    expect(ds.fingerprint.name).toBe("LibriSpeech");
    expect(ds.items.map((i) => i.id)).toEqual(["83-11691-0000", "83-11691-0001", "909-131041-0000", "248-130644-0000", "1246-124548-0000"]);
    const asr = ds.taskData("asr");
    expect(asr.splits.train.map((i) => i.id)).toEqual(["83-11691-0000", "83-11691-0001", "909-131041-0000"]);
    expect(asr.splits.train.map((i) => i.speaker)).toEqual(["83", "83", "909"]);
    expect(asr.splits.dev.map((i) => i.id)).toEqual(["248-130644-0000"]);
    expect(asr.splits.test.map((i) => i.text)).toEqual(["THE HAT"]); // upper-cased
    expect(asr.splits.train[1].text).toBe("THE CAT'S HAT");
    expect(asr.splits.train[1].path).toBe(path.join(root, "train-clean-100", "83", "11691", "83-11691-0001.flac"));
    expect(asr.charSet).toEqual([" ", "'", "A", "C", "D", "E", "H", "L", "O", "R", "S", "T", "W"]);
    const sources = [f0, f1, f2, f3, f4];
    ds.items.forEach((item, k) => expect(item.durationSec).toBe(readAudioHeader(sources[k]).durationSec));
    // And the header agrees with the decoded length.
    const decoded = await decodeFlacFile(f3);
    expect(asr.splits.dev[0].durationSec).toBe(decoded.samples.length / 16000);
  });

  it("PR: phones through the lexicon, first pronunciation wins, phone set of the whole lexicon", async () => {
    const { root, lexiconFile } = build(good());
    const { ds, problems } = await open(root, { lexicon: lexiconFile });
    expect(problems).toEqual([]);
    const pr = ds.taskData("pr");
    expect(pr.splits.train[0].phonemes).toEqual(["HH", "AH0", "L", "OW1", "W", "ER1", "L", "D"]);
    expect(pr.splits.train[2].phonemes).toEqual(["HH", "AH0", "L", "OW1", "DH", "AH0", "W", "ER1", "L", "D"]);
    expect(pr.splits.test[0].phonemes).toEqual(["DH", "AH0", "HH", "AE1", "T"]);
    expect(pr.phoneSet).toEqual(["AE1", "AH0", "D", "DH", "EH0", "ER1", "HH", "K", "L", "OW1", "S", "T", "W"]);
    expect(pr.splits.dev.map((i) => i.id)).toEqual(["248-130644-0000"]);
    // The lexicon is parsed once: rewriting it after the first call changes nothing.
    writeFileSync(lexiconFile, "X\tY\n");
    expect(ds.taskData("pr").splits.train[0].phonemes).toEqual(["HH", "AH0", "L", "OW1", "W", "ER1", "L", "D"]);
  });

  it("PR without --lexicon is a UserError saying so", async () => {
    const { root } = build(good());
    const { ds } = await open(root);
    await expectUserError(() => ds.taskData("pr"), "PR on librispeech needs --lexicon FILE", "s3prl's g2p format");
  });

  it("words missing from the lexicon: one error with the count and the first few", async () => {
    const { root, lexiconFile } = build(good(), "A\tAH0\n");
    const { ds } = await open(root, { lexicon: lexiconFile });
    const msg = await expectUserError(() => ds.taskData("pr"));
    expect(msg).toBe(`${lexiconFile}: 6 words of the transcripts are not in the lexicon (first: HELLO, WORLD, THE, CAT'S, HAT)`);
    const one = build(good(), LEXICON.replace("CAT\tK AE1 T", ""));
    const ds1 = (await open(one.root, { lexicon: one.lexiconFile })).ds;
    await expectUserError(() => ds1.taskData("pr"), /: 1 word of the transcripts is not in the lexicon \(first: CAT\)$/);
  });

  it("a malformed lexicon line is a UserError naming file:line when PR asks for it", async () => {
    const { root, lexiconFile } = build(good(), `${LEXICON}HAT\n`);
    const { ds, problems } = await open(root, { lexicon: lexiconFile });
    expect(problems).toEqual([]); // parsed lazily: ASR never sees it
    expect(ds.taskData("asr").splits.train).toHaveLength(3);
    await expectUserError(() => ds.taskData("pr"), `${lexiconFile}:10: malformed lexicon line`, 'word "HAT" has no pronunciation');
  });

  it("ROOT may be the folder that holds LibriSpeech/; subsets can be overridden", async () => {
    const utts = good();
    utts["test-other"] = [{ id: "1246-124548-0001", flac: f5, words: "HELLO" }];
    const { root } = build(utts);
    const { ds, problems } = await open(path.dirname(root), { subsets: { test: "test-other" } });
    expect(problems).toEqual([]);
    expect(ds.root).toBe(root);
    expect(ds.taskData("asr").splits.test.map((i) => i.id)).toEqual(["1246-124548-0001"]);
    expect(ds.items).toHaveLength(5); // test-clean is no longer read
  });

  it("collects every problem: missing and empty subsets, unmatched files and lines, malformed lines, corrupt headers", async () => {
    const utts = good();
    utts["train-clean-100"].push(
      { id: "83-11691-0002", flac: f5 }, // audio without a transcript line
      { id: "909-131041-0001", words: "NO AUDIO" }, // line 2 of 909-131041.trans.txt
    );
    delete utts["test-clean"];
    utts["dev-clean"] = [];
    const { root } = build(utts);
    const chap909 = path.join(root, "train-clean-100", "909", "131041");
    writeFileSync(path.join(chap909, "909-131041.trans.txt"), "909-131041-0000 HELLO THE WORLD\n909-131041-0001 NO AUDIO\n909-131041-0009\nOTHER-1-2 WORDS\n");
    // A file named .flac that is not one, with its transcript line.
    const chap83 = path.join(root, "train-clean-100", "83", "11691");
    writeFileSync(path.join(chap83, "83-11691-0003.flac"), Buffer.alloc(100, 7));
    writeFileSync(path.join(chap83, "83-11691.trans.txt"), "83-11691-0000 HELLO WORLD\n83-11691-0001 THE CAT'S HAT\n83-11691-0003 BROKEN\n");
    const { ds, problems } = await open(root);
    const t = (...p: string[]) => path.join(root, "train-clean-100", ...p);
    expect(problems).toEqual([
      `${t("83", "11691", "83-11691-0002.flac")}: no transcript line for 83-11691-0002 in 83-11691.trans.txt`,
      `${t("83", "11691", "83-11691-0003.flac")}: not a WAV or FLAC file`,
      `${t("909", "131041", "909-131041.trans.txt")}:3: malformed transcript line (expected "UTTID WORD WORD ...", got "909-131041-0009")`,
      `${t("909", "131041", "909-131041.trans.txt")}:4: malformed transcript line (utterance id "OTHER-1-2" is not 909-131041-NNNN)`,
      `${t("909", "131041", "909-131041.trans.txt")}:2: no audio file 909-131041-0001.flac for this transcript line`,
      `${path.join(root, "dev-clean")}: subset "dev-clean" (dev split) holds no utterances (expected <spk>/<chapter>/<spk>-<chapter>-<utt>.flac with <spk>-<chapter>.trans.txt)`,
      `${path.join(root, "test-clean")}: subset folder "test-clean" for the test split not found (choose another with --subset test=NAME)`,
    ]);
    // The good items are still there.
    expect(ds.items.map((i) => i.id)).toEqual(["83-11691-0000", "83-11691-0001", "909-131041-0000"]);
  });

  it("a chapter without its transcript file is one problem naming the file", async () => {
    const { root } = build(good());
    const chap = path.join(root, "train-clean-100", "909", "131041");
    unlinkSync(path.join(chap, "909-131041.trans.txt"));
    const { problems } = await open(root);
    expect(problems).toEqual([`${path.join(chap, "909-131041.trans.txt")}: transcript file not found (909-131041-0000.flac has no transcript)`]);
    // Two files: counted, the first named.
    const chap83 = path.join(root, "train-clean-100", "83", "11691");
    unlinkSync(path.join(chap83, "83-11691.trans.txt"));
    expect((await open(root)).problems[0]).toBe(`${path.join(chap83, "83-11691.trans.txt")}: transcript file not found (2 .flac files here, first 83-11691-0000.flac, have no transcript)`);
  });

  it("a character outside A-Z, apostrophe and space is a problem at file:line and ASR refuses it", async () => {
    const utts = good();
    utts["dev-clean"][0].words = "A CAT-LIKE HAT";
    const { root } = build(utts);
    const { ds, problems } = await open(root);
    const trans = path.join(root, "dev-clean", "248", "130644", "248-130644.trans.txt");
    expect(problems).toEqual([`${trans}:1: character "-" is outside LibriSpeech's character set (A-Z, apostrophe, space)`]);
    await expectUserError(() => ds.taskData("asr"), `${trans}:1: character "-"`);
  });

  it("an unknown task is a UserError", async () => {
    const { root } = build(good());
    const { ds } = await open(root);
    await expectUserError(() => ds.taskData("sid"), "librispeech serves the tasks pr, asr, not sid");
  });

  it("a root that is not a folder throws at once", async () => {
    await expectUserError(() => dataset.open(path.join(tmp, "nope"), {}, new ProblemList()), "no such folder", "--data librispeech=DIR");
  });

  it("fingerprint: stable, changes with a transcript and with the lexicon's content, not its location", async () => {
    const { root, lexiconFile } = build(good());
    const a = (await open(root)).ds.fingerprint;
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/);
    expect((await open(root)).ds.fingerprint).toEqual(a);
    const withLex = (await open(root, { lexicon: lexiconFile })).ds.fingerprint;
    expect(withLex.hash).not.toBe(a.hash);
    const moved = path.join(tmp, `moved-lexicon-${counter++}.txt`);
    renameSync(lexiconFile, moved);
    expect((await open(root, { lexicon: moved })).ds.fingerprint).toEqual(withLex);
    writeFileSync(moved, `${LEXICON}DOG\tD AO1 G\n`);
    expect((await open(root, { lexicon: moved })).ds.fingerprint.hash).not.toBe(withLex.hash);
    writeFileSync(path.join(root, "dev-clean", "248", "130644", "248-130644.trans.txt"), "248-130644-0000 A HAT\n");
    expect((await open(root)).ds.fingerprint.hash).not.toBe(a.hash);
  });

  it("a missing lexicon file is a problem at open", async () => {
    const { root } = build(good());
    const missing = path.join(tmp, "no-such-lexicon.txt");
    const { problems } = await open(root, { lexicon: missing });
    expect(problems).toEqual([`${missing}: lexicon file not found (--lexicon)`]);
  });
});
