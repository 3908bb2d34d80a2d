import { loadItemAudio } from "../../audio-file.js";
import type { FuzzFormat } from "../format.js";
import { encodeWavFloat32, tone, toneWav16 } from "../seed-audio.js";

/** WAV as every task reads it: decoded, mixed to mono and resampled to 16 kHz. */
export const format: FuzzFormat = {
  name: "wav",
  description: "RIFF/WAVE audio (PCM 16-bit and float 32-bit, 8-48 kHz, mono and stereo)",
  textual: false,
  async seeds() {
    return [
      { name: "pcm16-mono-16k", files: { "a.wav": toneWav16(0.25, 16000) }, target: "a.wav" },
      { name: "pcm16-mono-44k1", files: { "a.wav": toneWav16(0.1, 44100) }, target: "a.wav" },
      { name: "float32-stereo-8k", files: { "a.wav": encodeWavFloat32([tone(0.25, 8000), tone(0.25, 8000, 220)], 8000) }, target: "a.wav" },
    ];
  },
  async read(dir) {
    await loadItemAudio({ path: `${dir}/a.wav` });
  },
};
