/**
 * Dataset layouts in miniature for the fuzz harness (FSC, VoxCeleb1, Speech Commands,
 * LibriSpeech), with tone audio in place of speech: the harness mutates their metadata files
 * (CSVs, split and trial lists, transcripts, lexicons), and readers only look at audio headers.
 * `readDataset` reads a layout exactly as `superb run --data KIND=DIR` does.
 */
import type { DatasetOptions } from "../dataset.js";
import type { FuzzFormat } from "./format.js";
import { ProblemList } from "../dataset.js";
import { findDataset } from "../registry.js";
import { encodeFlacVerbatim, tone, toneWav16 } from "./seed-audio.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const lines = (rows: readonly string[]): Uint8Array => text(rows.join("\n") + "\n");

/** Opens the dataset, throws its first problem, and asks it for every task it serves. */
export async function readDataset(kind: string, root: string, options: DatasetOptions = {}): Promise<void> {
  const def = await findDataset(kind);
  const problems = new ProblemList();
  const ds = await def.open(root, { progress: false, ...options }, problems);
  problems.throwIfAny();
  for (const task of ds.tasks) ds.taskData(task);
}

/** A fuzz format over one dataset layout: the same files, one seed per metadata file mutated. */
export function datasetFuzzFormat(spec: { name: string; description: string; kind: string; files: () => Record<string, Uint8Array>; targets: readonly string[]; options?: (dir: string) => DatasetOptions }): FuzzFormat {
  return {
    name: spec.name,
    description: spec.description,
    textual: true,
    async seeds() {
      const files = spec.files();
      return spec.targets.map((target) => ({ name: target.split("/").pop()!, files, target }));
    },
    async read(dir) {
      await readDataset(spec.kind, dir, spec.options?.(dir));
    },
  };
}

export function fscFiles(): Record<string, Uint8Array> {
  const wav = toneWav16(0.05, 16000);
  const files: Record<string, Uint8Array> = {};
  const rows: Record<string, string[][]> = {
    train: [["spkA", "Turn on the lights", "activate", "lights", "none"], ["spkB", "Bring me my shoes, please", "bring", "shoes", "none"], ["spkA", 'Say "hello" louder', "increase", "volume", "none"]],
    valid: [["spkC", "Turn on the lights", "activate", "lights", "none"]],
    test: [["spkD", "Bring me my shoes, please", "bring", "shoes", "none"]],
  };
  let n = 0;
  for (const [split, list] of Object.entries(rows)) {
    const csv = [",path,speakerId,transcription,action,object,location"];
    list.forEach(([spk, transcription, action, object, location], i) => {
      const rel = `wavs/speakers/${spk}/${(0x0a3129c0 + n++).toString(16)}-4474-11e9-a9a5-5dbec3b8816a.wav`;
      files[rel] = wav;
      const q = (s: string): string => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
      csv.push([String(i), rel, spk, transcription, action, object, location].map(q).join(","));
    });
    files[`data/${split}_data.csv`] = lines(csv);
  }
  return files;
}

export function voxceleb1Files(): Record<string, Uint8Array> {
  const wav = toneWav16(0.05, 16000);
  const files: Record<string, Uint8Array> = {};
  const iden: string[] = [];
  const speakers = ["id10001", "id10002", "id10003", "id10004", "id10005", "id10006"];
  for (const spk of speakers) {
    for (const [k, utt] of ["1zcIwhmdeo4/00001.wav", "1zcIwhmdeo4/00002.wav", "7gWzIy6yIIk/00001.wav"].entries()) {
      files[`wav/${spk}/${utt}`] = wav;
      iden.push(`${k + 1} ${spk}/${utt}`);
    }
  }
  files["iden_split.txt"] = lines(iden);
  files["veri_test2.txt"] = lines([
    "1 id10005/1zcIwhmdeo4/00001.wav id10005/7gWzIy6yIIk/00001.wav",
    "0 id10005/1zcIwhmdeo4/00001.wav id10006/1zcIwhmdeo4/00002.wav",
    "1 id10006/1zcIwhmdeo4/00001.wav id10006/7gWzIy6yIIk/00001.wav",
    "0 id10006/1zcIwhmdeo4/00002.wav id10005/1zcIwhmdeo4/00002.wav",
  ]);
  return files;
}

export function speechCommandsFiles(): Record<string, Uint8Array> {
  const wav = toneWav16(0.05, 16000);
  const files: Record<string, Uint8Array> = {};
  const validation: string[] = [];
  const testing: string[] = [];
  for (const word of ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "bed"]) {
    for (const name of ["0a7c2a8d_nohash_0.wav", "0a7c2a8d_nohash_1.wav", "1b4c9b89_nohash_0.wav", "2c6d1e72_nohash_0.wav"]) files[`${word}/${name}`] = wav;
    validation.push(`${word}/1b4c9b89_nohash_0.wav`);
    testing.push(`${word}/2c6d1e72_nohash_0.wav`);
  }
  files["_background_noise_/white_noise.wav"] = toneWav16(2.1, 16000, 3000);
  files["validation_list.txt"] = lines(validation);
  files["testing_list.txt"] = lines(testing);
  return files;
}

export const LIBRISPEECH_LEXICON = "lexicon.txt";

export function libriSpeechFiles(): Record<string, Uint8Array> {
  const flac = encodeFlacVerbatim(tone(0.05, 16000), 16000);
  const files: Record<string, Uint8Array> = {};
  const subsets: Record<string, string> = { "train-clean-100": "103-1240", "dev-clean": "1272-128104", "test-clean": "1089-134686" };
  const sentences = ["ALICE WAS BEGINNING", "TO GET VERY TIRED", "OF SITTING BY HER SISTER'S SIDE"];
  for (const [subset, sc] of Object.entries(subsets)) {
    const [spk, chapter] = sc.split("-");
    const trans = sentences.map((s, i) => {
      const id = `${spk}-${chapter}-${String(i).padStart(4, "0")}`;
      files[`${subset}/${spk}/${chapter}/${id}.flac`] = flac;
      return `${id} ${s}`;
    });
    files[`${subset}/${spk}/${chapter}/${spk}-${chapter}.trans.txt`] = lines(trans);
  }
  files[LIBRISPEECH_LEXICON] = lines([
    "ALICE\tAE1 L AH0 S", "WAS\tW AA1 Z", "BEGINNING\tB IH0 G IH1 N IH0 NG", "TO\tT UW1", "GET\tG EH1 T", "VERY\tV EH1 R IY0",
    "TIRED\tT AY1 ER0 D", "OF\tAH1 V", "SITTING\tS IH1 T IH0 NG", "BY\tB AY1", "HER\tHH ER1", "SISTER'S\tS IH1 S T ER0 Z", "SIDE\tS AY1 D",
  ]);
  return files;
}
