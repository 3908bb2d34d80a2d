/**
 * Distributed-layout corpora built from the real recordings in ../shared/data, for the benchmarks
 * (never inside the repository: callers pass a tmp folder). Every rule is deterministic, so the
 * same source gives the same tree, and the feature cache keyed by it is reused across runs.
 *
 * - Speech Commands v0.02 test half (CC BY 4.0, see its ATTRIBUTION.md): the speaker is the hash
 *   in the file name. Whole speakers are assigned to train/dev/test by their rank in the sorted
 *   list of hashes (see speakerSplitOf).
 * - FSDD (CC BY-SA 4.0): 6 speakers, 8 kHz (the readers resample to 16 kHz).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { readWav, writeWav16 } from "../src/audio.js";

export const SHARED_DATA = path.resolve(process.env.SUPERB_SHARED_DATA ?? path.join(process.cwd(), "..", "shared", "data"));
export const SPEECH_COMMANDS_DIR = path.join(SHARED_DATA, "speech-commands-v0.02-test-half-a");
export const FSDD_DIR = path.join(SHARED_DATA, "fsdd");

export const KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"] as const;
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One spoken clip of the Speech Commands folder. */
export interface ScClip {
  /** Its 12-class folder: a keyword or `_unknown_`. */
  cls: string;
  /** The word spoken (the class for keywords, the word before the hash for `_unknown_`). */
  word: string;
  speaker: string;
  /** The `_nohash_<n>` repetition index. */
  n: number;
  name: string;
  path: string;
}

/** Every spoken clip (keywords and `_unknown_`) and the `_silence_` clips, each list sorted by path. */
export function scanSpeechCommands(dir: string): { clips: ScClip[]; silence: string[] } {
  const clips: ScClip[] = [];
  for (const cls of [...KEYWORDS, "_unknown_"]) {
    for (const name of fs.readdirSync(path.join(dir, cls)).sort(byName)) {
      // Keyword files: <hash>_nohash_<n>.wav; _unknown_ files: <word>_<hash>_nohash_<n>.wav.wav.
      const m = cls === "_unknown_" ? /^([a-z]+)_([0-9a-f]{8})_nohash_(\d+)\.wav\.wav$/.exec(name) : /^()([0-9a-f]{8})_nohash_(\d+)\.wav$/.exec(name);
      if (!m) throw new Error(`${path.join(dir, cls, name)}: unexpected Speech Commands file name`);
      clips.push({ cls, word: m[1] || cls, speaker: m[2], n: Number(m[3]), name, path: path.join(dir, cls, name) });
    }
  }
  const silence = fs.readdirSync(path.join(dir, "_silence_")).filter((f) => f.endsWith(".wav")).sort(byName).map((f) => path.join(dir, "_silence_", f));
  return { clips, silence };
}

export type SpeakerSplit = "train" | "dev" | "test";

/** Whole speakers ~70/15/15: by rank r in the sorted hashes, r % 20 in 0..2 test, 3..5 dev, else train. */
export function speakerSplitOf(speakers: Iterable<string>): Map<string, SpeakerSplit> {
  const sorted = [...new Set(speakers)].sort(byName);
  return new Map(sorted.map((s, r) => [s, r % 20 < 3 ? "test" : r % 20 < 6 ? "dev" : "train"]));
}

function copy(src: string, dest: string): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(src, dest);
}

export interface SpeechCommandsLayout {
  /** The training archive (speech_commands=DIR). */
  root: string;
  /** The 12-class test set (speech_commands_test=DIR). */
  testRoot: string;
  speakers: Record<SpeakerSplit, number>;
  /** Silence clips concatenated into _background_noise_, and those put into the test set's _silence_. */
  silence: { noise: number; test: number; noiseFiles: number };
}

/** Every SILENCE_TEST_EVERY-th `_silence_` clip goes to the test set; the rest become noise files. */
const SILENCE_TEST_EVERY = 7;
const NOISE_FILES = 4;

/**
 * The training archive as distributed: ROOT/<word>/<hash>_nohash_<n>.wav for every spoken clip
 * (`_unknown_` clips back in their word's folder), validation_list.txt / testing_list.txt naming
 * the dev and test speakers' files, and _background_noise_/noise_<k>.wav made of the non-test
 * `_silence_` clips end to end. The test set: the test speakers' clips in the 12 class folders
 * under their original names, plus the held-out `_silence_` clips.
 */
export function buildSpeechCommandsArchive(sourceDir: string, outDir: string): SpeechCommandsLayout {
  const root = path.join(outDir, "speech_commands_v0.02");
  const testRoot = path.join(outDir, "speech_commands_test_set_v0.02");
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(testRoot, { recursive: true, force: true });
  const { clips, silence } = scanSpeechCommands(sourceDir);
  const split = speakerSplitOf(clips.map((c) => c.speaker));
  const lists: Record<"dev" | "test", string[]> = { dev: [], test: [] };
  for (const c of clips) {
    const rel = `${c.word}/${c.speaker}_nohash_${c.n}.wav`;
    copy(c.path, path.join(root, rel));
    const s = split.get(c.speaker)!;
    if (s !== "train") lists[s].push(rel);
    if (s === "test") copy(c.path, path.join(testRoot, c.cls, c.name));
  }
  fs.writeFileSync(path.join(root, "validation_list.txt"), lists.dev.sort(byName).join("\n") + "\n");
  fs.writeFileSync(path.join(root, "testing_list.txt"), lists.test.sort(byName).join("\n") + "\n");

  const noiseClips = silence.filter((_, i) => i % SILENCE_TEST_EVERY !== 0);
  silence.filter((_, i) => i % SILENCE_TEST_EVERY === 0).forEach((f) => copy(f, path.join(testRoot, "_silence_", path.basename(f))));
  const noiseDir = path.join(root, "_background_noise_");
  fs.mkdirSync(noiseDir, { recursive: true });
  for (let k = 0; k < NOISE_FILES; k++) {
    // Clips k, k+4, ...: each noise file mixes the different recordings the clips were cut from.
    const parts = noiseClips.filter((_, i) => i % NOISE_FILES === k).map((f) => readWav(f));
    const out = new Float32Array(parts.reduce((n, p) => n + p.samples.length, 0));
    let at = 0;
    for (const p of parts) {
      if (p.sampleRate !== 16000) throw new Error("Speech Commands _silence_ clip not at 16 kHz");
      out.set(p.samples, at);
      at += p.samples.length;
    }
    writeWav16(path.join(noiseDir, `noise_${k}.wav`), out, 16000);
  }
  const speakers = { train: 0, dev: 0, test: 0 };
  for (const s of split.values()) speakers[s]++;
  return { root, testRoot, speakers, silence: { noise: noiseClips.length, test: silence.length - noiseClips.length, noiseFiles: NOISE_FILES } };
}

export interface VoxCelebLayout {
  root: string;
  sidSpeakers: number;
  testSpeakers: number;
  files: number;
  trials: { target: number; nonTarget: number };
}

/** One speaker's files as `<speaker>/<video>/<n>.wav` ids, with their sources. */
type SpeakerFiles = { speaker: string; files: { id: string; source: string }[] };

/** iden_split.txt's 1/2/3 (train/dev/test) of a SID speaker's k-th file: ~70/15/15. */
export const idenSplitOf = (k: number): 1 | 2 | 3 => (k % 7 === 5 ? 2 : k % 7 === 6 ? 3 : 1);

/**
 * A VoxCeleb1 layout (ROOT/wav/<speaker>/<video>/<n>.wav) from per-speaker clips, without repeats:
 * SID speakers' files get iden_split 1/2/3 by index (k % 7 == 5 dev, k % 7 == 6 test, else train:
 * ~70/15/15, and at least one of each from 7 files); test speakers' files appear only in
 * veri_test2.txt: per file two target trials (the speaker's files k+1 and k+3) and two
 * non-target trials (file k of the next two test speakers, cyclically).
 */
export function writeVoxCelebLayout(root: string, sid: SpeakerFiles[], test: SpeakerFiles[]): VoxCelebLayout {
  fs.rmSync(root, { recursive: true, force: true });
  for (const s of [...sid, ...test]) for (const f of s.files) copy(f.source, path.join(root, "wav", f.id));
  const iden = sid.flatMap((s) => s.files.map((f, k) => `${idenSplitOf(k)} ${f.id}`));
  fs.writeFileSync(path.join(root, "iden_split.txt"), iden.join("\n") + "\n");
  const trials: string[] = [];
  let target = 0;
  let nonTarget = 0;
  test.forEach((s, t) => {
    const own = s.files.map((f) => f.id);
    own.forEach((enroll, k) => {
      for (const d of [1, 3]) if (own.length > 3) (trials.push(`1 ${enroll} ${own[(k + d) % own.length]}`), target++);
      for (const d of [1, 2]) {
        const other = test[(t + d) % test.length].files;
        if (test.length > 2) (trials.push(`0 ${enroll} ${other[k % other.length].id}`), nonTarget++);
      }
    });
  });
  if (test.length > 0) fs.writeFileSync(path.join(root, "veri_test2.txt"), trials.join("\n") + "\n");
  return { root, sidSpeakers: sid.length, testSpeakers: test.length, files: iden.length + test.reduce((n, s) => n + s.files.length, 0), trials: { target, nonTarget } };
}

/**
 * VoxCeleb1 from the Speech Commands speakers with at least minClips spoken clips: video = word,
 * file = repetition index. ASV test speakers: every third of them by sorted hash (rank % 3 == 2);
 * SID runs over the others.
 */
export function buildVoxCelebFromSpeechCommands(sourceDir: string, outDir: string, minClips = 8): VoxCelebLayout {
  const { sid, test } = speechCommandsVoxSpeakers(sourceDir, minClips);
  return writeVoxCelebLayout(path.join(outDir, "VoxCeleb1-sc"), sid, test);
}

/** The SID and ASV-test speakers of buildVoxCelebFromSpeechCommands, with their files in layout order. */
function speechCommandsVoxSpeakers(sourceDir: string, minClips: number): { sid: SpeakerFiles[]; test: SpeakerFiles[] } {
  const bySpeaker = new Map<string, ScClip[]>();
  for (const c of scanSpeechCommands(sourceDir).clips) bySpeaker.set(c.speaker, [...(bySpeaker.get(c.speaker) ?? []), c]);
  const speakers = [...bySpeaker.keys()].filter((s) => bySpeaker.get(s)!.length >= minClips).sort(byName);
  const filesOf = (s: string): SpeakerFiles => ({ speaker: s, files: bySpeaker.get(s)!.map((c) => ({ id: `${s}/${c.word}/${String(c.n).padStart(5, "0")}.wav`, source: c.path })) });
  const sid = speakers.filter((_, r) => r % 3 !== 2).map(filesOf);
  const test = speakers.filter((_, r) => r % 3 === 2).map(filesOf);
  return { sid, test };
}

/** FSDD takes below this are bench:real's SID-FSDD set; pre-training uses only the takes above. */
export const FSDD_BENCH_TAKES = 20;

/**
 * The source files of every clip that a bench:real test split uses (KS test speakers and test
 * `_silence_` clips, the ASV trial speakers, the SID test files, every FSDD take below
 * FSDD_BENCH_TAKES), so that pre-training can leave them out.
 */
export function benchmarkTestSources(scDir: string, fsddDir: string, minClips = 8): Set<string> {
  const out = new Set<string>();
  const { clips, silence } = scanSpeechCommands(scDir);
  const split = speakerSplitOf(clips.map((c) => c.speaker));
  for (const c of clips) if (split.get(c.speaker) === "test") out.add(c.path);
  silence.forEach((f, i) => i % SILENCE_TEST_EVERY === 0 && out.add(f));
  const { sid, test } = speechCommandsVoxSpeakers(scDir, minClips);
  for (const s of test) for (const f of s.files) out.add(f.source);
  for (const s of sid) s.files.forEach((f, k) => idenSplitOf(k) === 3 && out.add(f.source));
  const rec = path.join(fsddDir, "recordings");
  for (const name of fs.readdirSync(rec)) {
    const m = /^\d_[a-z]+_(\d+)\.wav$/.exec(name);
    if (m && Number(m[1]) < FSDD_BENCH_TAKES) out.add(path.join(rec, name));
  }
  return out;
}

/**
 * FSDD as a 6-speaker SID set: speaker = FSDD speaker, video = digit, file = take. Takes below
 * `takes` only (all 50 when omitted), each speaker's files ordered take-major so the k % 7 split
 * spreads every digit over train/dev/test. No ASV trials (6 speakers are too few to hold any out).
 */
export function buildVoxCelebFromFsdd(fsddDir: string, outDir: string, takes = 50): VoxCelebLayout {
  const rec = path.join(fsddDir, "recordings");
  const bySpeaker = new Map<string, { take: number; digit: number; source: string }[]>();
  for (const name of fs.readdirSync(rec).sort(byName)) {
    const m = /^(\d)_([a-z]+)_(\d+)\.wav$/.exec(name);
    if (!m || Number(m[3]) >= takes) continue;
    bySpeaker.set(m[2], [...(bySpeaker.get(m[2]) ?? []), { digit: Number(m[1]), take: Number(m[3]), source: path.join(rec, name) }]);
  }
  const sid = [...bySpeaker.keys()].sort(byName).map((s) => ({
    speaker: s,
    files: bySpeaker.get(s)!.sort((a, b) => a.take - b.take || a.digit - b.digit).map((f) => ({ id: `${s}/digit${f.digit}/${String(f.take).padStart(5, "0")}.wav`, source: f.source })),
  }));
  return writeVoxCelebLayout(path.join(outDir, "VoxCeleb1-fsdd"), sid, []);
}
