import { loadCorpus } from "../../corpus/generate.js";
import { CHAR_SET, INTENT_SLOTS, KS_CLASSES } from "../../corpus/text.js";
import { PHONE_SET } from "../../corpus/synth.js";
import type { FuzzFormat } from "../format.js";
import { toneWav16 } from "../seed-audio.js";

function files(): Record<string, Uint8Array> {
  const speaker = (id: string, seen: boolean) => ({ id, seen, accent: "en-us", variant: "m3", pitch: 50, pitchRange: 50, rate: 170, channel: { lowCutHz: 80, highCutHz: 7000, tiltDb: -2 } });
  const utt = (id: string, spk: string, split: string, extra: Record<string, unknown>) => ({ id, path: `wav/${id}.wav`, speaker: spk, split, durationSec: 0.05, snrDb: 20, ...extra });
  const utterances = [
    utt("u0", "spk00", "train", { text: "TURN ON THE LIGHTS", phonemes: ["t", "3:", "n"], intent: { action: INTENT_SLOTS.action[0], object: INTENT_SLOTS.object[0], location: INTENT_SLOTS.location[0] }, keyword: null }),
    utt("u1", "spk00", "dev", { text: "YES", phonemes: ["j", "E", "s"], intent: null, keyword: "yes" }),
    utt("u2", "spk01", "test", { text: "", phonemes: [], intent: null, keyword: "_silence_" }),
    utt("u3", "spk01", "test", { text: "MARVIN", phonemes: ["m", "A:", "v"], intent: null, keyword: "_unknown_" }),
  ];
  const manifest = {
    name: "fuzz-corpus", profile: "tiny", seed: 1, generatorVersion: 3, sampleRate: 16000,
    phoneSet: [...PHONE_SET], charSet: [...CHAR_SET], intentSlots: INTENT_SLOTS, ksClasses: [...KS_CLASSES],
    speakers: [speaker("spk00", true), speaker("spk01", false)],
    utterances,
    asvTrials: [{ enroll: "u2", test: "u3", label: 1 }],
    totalDurationSec: 0.2,
  };
  const out: Record<string, Uint8Array> = { "manifest.json": new TextEncoder().encode(JSON.stringify(manifest, null, 1)) };
  const wav = toneWav16(0.05, 16000);
  for (const u of utterances) out[u.path] = wav;
  return out;
}

/** The embedded corpus's manifest.json (in the cache folder, or a user's `--corpus-dir`). */
export const format: FuzzFormat = {
  name: "corpus-manifest",
  description: "embedded synthetic corpus manifest.json",
  textual: true,
  async seeds() {
    return [{ name: "manifest.json", files: files(), target: "manifest.json" }];
  },
  async read(dir) {
    await loadCorpus(dir);
  },
};
