import { loadItemAudio } from "../../audio-file.js";
import type { FuzzFormat } from "../format.js";
import { encodeFlacVerbatim, tone } from "../seed-audio.js";

/** FLAC (LibriSpeech's format) as every task reads it: decoded and resampled to 16 kHz. */
export const format: FuzzFormat = {
  name: "flac",
  description: "FLAC audio (16-bit mono, 16 and 22.05 kHz)",
  textual: false,
  async seeds() {
    return [
      { name: "mono-16k", files: { "a.flac": encodeFlacVerbatim(tone(0.2, 16000), 16000) }, target: "a.flac" },
      { name: "mono-22k05", files: { "a.flac": encodeFlacVerbatim(tone(0.1, 22050), 22050) }, target: "a.flac" },
    ];
  },
  async read(dir) {
    await loadItemAudio({ path: `${dir}/a.flac` });
  },
};
