/**
 * The dataset layer end to end through the CLI: `superb data check` and `superb run --data` on
 * small layouts built from the real recordings in ../shared/data.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildSpeechCommandsFixture } from "./fixtures/speech-commands.js";
import { buildVoxCeleb1Layout, SPEECH_COMMANDS, type VoxCeleb1Fixture } from "./fixtures/layouts.js";
import { realFlacs, writeLibriSpeech } from "./fixtures/librispeech.js";
import { superb } from "./helpers/cli.js";
import { sharedDataset } from "./helpers/shared-data.js";

const speechCommands = sharedDataset(SPEECH_COMMANDS, "dataset CLI tests");
const libriSamples = sharedDataset("librispeech-train-clean-100-samples", "dataset CLI tests (LibriSpeech)");

describe.skipIf(!speechCommands)("superb data check and run --data on real speech", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "superb-data-cli-"));
  const results = path.join(tmp, "results");
  let vox: VoxCeleb1Fixture;
  let ks: ReturnType<typeof buildSpeechCommandsFixture>;

  beforeAll(() => {
    vox = buildVoxCeleb1Layout(tmp, speechCommands!, { speakers: 8, videosPerSpeaker: 2, utterancesPerVideo: 3, testSpeakers: 3, layout: "split" });
    ks = buildSpeechCommandsFixture(speechCommands!, tmp);
  });

  it("data check prints the counts per task and split, and finds no problem in a clean layout", async () => {
    const r = await superb(["data", "check", `voxceleb1=${vox.root}`]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // 8 speakers x 6 files; SID: per speaker 4 train, 1 dev, 1 test; ASV: trains on the 5 speakers no trial names.
    expect(r.stdout).toContain(`voxceleb1 ${vox.root}: 48 items`);
    expect(r.stdout).toMatch(/│ sid\s+│ train\s+│ 32\s+│ [\d.]+\s+│ 8\s+│ 8\s+│/);
    expect(r.stdout).toMatch(/│ asv\s+│ test\s+│ 18\s+│ [\d.]+\s+│ 3\s+│/);
    expect(r.stdout).toMatch(/│ asv\s+│ trials\s+│ 36\s+│/);
    expect(r.stdout).toContain("no problems found");
  });

  it("data check of a layout without a trial list reports ASV as unavailable and SID as usable", async () => {
    const sidOnly = buildVoxCeleb1Layout(path.join(tmp, "sid-only"), speechCommands!, { speakers: 4, videosPerSpeaker: 1, utterancesPerVideo: 3, testSpeakers: 0, layout: "root" });
    fs.rmSync(path.join(sidOnly.root, "veri_test2.txt"));
    const r = await superb(["data", "check", `voxceleb1=${sidOnly.root}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/│ sid\s+│ train\s+│ 4\s+│/);
    expect(r.stdout).toContain("task asv unavailable: ");
    expect(r.stdout).toContain("veri_test2.txt");
    expect(r.stdout).toContain("no problems found");
  });

  it("data check lists every problem at once, with file and line, and exits 1", async () => {
    const broken = buildVoxCeleb1Layout(path.join(tmp, "broken"), speechCommands!, { speakers: 6, videosPerSpeaker: 1, utterancesPerVideo: 3, testSpeakers: 2, layout: "root" });
    const first = broken.trials[0];
    fs.rmSync(path.join(broken.root, "wav", first.test));
    fs.appendFileSync(path.join(broken.root, "veri_test2.txt"), "2 a b\n");
    const r = await superb(["data", "check", `voxceleb1=${broken.root}`]);
    expect(r.code).toBe(1);
    const trialFile = path.join(broken.root, "veri_test2.txt");
    expect(r.stdout).toContain(`${trialFile}:1: `);
    expect(r.stdout).toContain(`${trialFile}:${broken.trials.length + 1}: `);
    expect(r.stdout).toMatch(/\d+ problems:/);
    expect(r.stderr).toBe("superb: data check: found problems (listed above)\n");
  });

  it("run --task ks,sid,asv reads speech_commands and voxceleb1, and each result records its dataset", async () => {
    const r = await superb(["run", "--upstream", "fbank", "--task", "ks,sid,asv", "--data", `voxceleb1=${vox.root}`, "--data", `speech_commands=${ks.root}`, "--data", `speech_commands_test=${ks.testRoot}`, "--steps", "20", "--results-dir", results, "--no-progress"]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/feature cache: [\d.]+ [KM]B to extract/);
    const read = (t: string) => JSON.parse(fs.readFileSync(path.join(results, "fbank", `${t}.json`), "utf8")) as { value: number; dataset: { kind: string; name: string; hash: string; counts: Record<string, { utterances: number; speakers: number }> }; secondary: Record<string, number> };
    const ksResult = read("ks");
    expect(ksResult.dataset.kind).toBe("speech_commands");
    expect(ksResult.dataset.name).toBe("speech_commands_v0.01");
    // The fixture's test set: 2 clips of each of the 12 classes; accuracy is a multiple of 1/24.
    expect(ksResult.dataset.counts.test.utterances).toBe(24);
    expect(Math.abs(ksResult.value * 24 / 100 - Math.round(ksResult.value * 24 / 100))).toBeLessThan(1e-9);
    expect(Object.keys(ksResult.secondary)).toHaveLength(12);
    const sid = read("sid");
    const asv = read("asv");
    expect(sid.dataset.kind).toBe("voxceleb1");
    expect(sid.dataset.hash).toBe(asv.dataset.hash);
    expect(sid.dataset.counts.test).toEqual({ utterances: 8, hours: expect.any(Number), speakers: 8 });
    expect(asv.dataset.counts.train.speakers + asv.dataset.counts.dev.speakers).toBe(5);
    expect(asv.secondary.trials).toBe(36);

    // A task on the embedded corpus beside them: the leaderboard names each column's dataset.
    const r2 = await superb(["run", "--upstream", "fbank", "--task", "ic", "--steps", "10", "--results-dir", results, "--no-progress"]);
    expect(r2.code).toBe(0);
    const board = await superb(["leaderboard", "--results-dir", results, "--format", "markdown"]);
    expect(board.stdout).toContain("| upstream | IC ACCURACY ↑ (embedded synth-quick-");
    expect(board.stdout).toContain("SID ACCURACY ↑ (voxceleb1 VoxCeleb1) | ASV EER ↓ (voxceleb1 VoxCeleb1) | KS ACCURACY ↑ (speech_commands speech_commands_v0.01) |");
  });

  it("stops before extracting when the cache would exceed --cache-budget", async () => {
    const r = await superb(["run", "--upstream", "mfcc", "--task", "sid", "--data", `voxceleb1=${vox.root}`, "--cache-budget", "1KB", "--results-dir", results]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/superb: feature cache: [\d.]+ KB needed, over --cache-budget 1\.0 KB \(--cache-dtype float16 halves it; --no-cache runs the upstream per batch instead\)\n$/);
    expect(fs.existsSync(path.join(results, "mfcc", "sid.json"))).toBe(false);
  });

  it("a --data kind the task does not read, and an unknown kind, are one-line errors", async () => {
    const r = await superb(["run", "--upstream", "fbank", "--task", "pr", "--data", `voxceleb1=${vox.root}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("superb: --data voxceleb1=...: none of the tasks pr reads voxceleb1 (it serves asv, sid)\n");
    const r2 = await superb(["data", "check", `timit=${vox.root}`]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/^superb: --data timit=.*: unknown dataset kind "timit"; known kinds: .*librispeech/);
  });
});

/** Four real FLACs as a LibriSpeech tree: two train utterances, one dev, one test, with these transcripts. */
function tinyLibriSpeech(prefix: string, transcripts: [string, string, string, string]): { tmp: string; root: string } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const flacs = realFlacs(path.join(libriSamples!, "train-clean-100"));
  const root = path.join(tmp, "LibriSpeech");
  const utt = (i: number) => ({ id: `${100 + i}-1-0000`, flac: flacs[i], words: transcripts[i] });
  writeLibriSpeech(root, { "train-clean-100": [utt(0), utt(1)], "dev-clean": [utt(2)], "test-clean": [utt(3)] });
  return { tmp, root };
}

describe.skipIf(!libriSamples)("data check of librispeech with and without a lexicon", () => {
  it("without --lexicon PR is unavailable; a word the lexicon lacks is a problem (exit 1)", async () => {
    const { tmp, root } = tinyLibriSpeech("superb-ls-check-", ["A B", "B ZED", "A", "B"]);
    const plain = await superb(["data", "check", `librispeech=${root}`]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/│ asr\s+│ train\s+│ 2\s+│/);
    expect(plain.stdout).toContain("task pr unavailable: ");
    const lexicon = path.join(tmp, "lexicon.txt");
    fs.writeFileSync(lexicon, "A\tAH0\nB\tB IY1\n");
    const withLexicon = await superb(["data", "check", `librispeech=${root}`, "--lexicon", lexicon]);
    expect(withLexicon.code).toBe(1);
    expect(withLexicon.stdout).toContain(`${lexicon}: 1 word of the transcripts is not in the lexicon`);
    expect(withLexicon.stdout).toContain("ZED");
  });
});

describe.skipIf(!libriSamples)("run --data librispeech with a corrupt FLAC", () => {
  it("fails with one line naming the file, and writes no result", async () => {
    const { tmp, root } = tinyLibriSpeech("superb-ls-cli-", ["A B", "B A", "A", "B"]);
    // Replace one file by its first 2000 bytes: the header survives, the audio does not.
    const victim = path.join(root, "dev-clean", "102", "1", "102-1-0000.flac");
    const bytes = fs.readFileSync(victim).subarray(0, 2000);
    fs.rmSync(victim);
    fs.writeFileSync(victim, bytes);
    const results = path.join(tmp, "results");
    const r = await superb(["run", "--upstream", "fbank", "--task", "asr", "--data", `librispeech=${root}`, "--steps", "2", "--results-dir", results]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(new RegExp(`^superb: ${victim.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: (truncated FLAC \\(\\d+ of \\d+ samples decoded\\)|corrupt FLAC \\(no audio decoded\\))$`));
    expect(fs.existsSync(path.join(results, "fbank", "asr.json"))).toBe(false);
  });
});
