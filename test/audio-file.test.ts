import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeWav16 } from "../src/audio.js";
import { decodeFlacFile, loadItemAudio, readAudioHeader } from "../src/audio-file.js";
import { resample } from "../src/dsp/resample.js";
import { realFlacs } from "./fixtures/librispeech.js";
import { expectUserError } from "./helpers/errors.js";
import { sharedDataset } from "./helpers/shared-data.js";

const tmp = mkdtempSync(path.join(tmpdir(), "superb-audio-file-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** k/32768 values: exact in 16-bit PCM, so a WAV round trip returns them bit for bit. */
function pcmRamp(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (((i * 37) % 2001) - 1000) / 32768);
}

describe("WAV through readAudioHeader and loadItemAudio", () => {
  it("a 16-bit WAV written by writeWav16 gives its exact frame count and samples", async () => {
    const file = path.join(tmp, "ramp.wav");
    const audio = pcmRamp(12345);
    writeWav16(file, audio, 16000);
    expect(readAudioHeader(file)).toEqual({ sampleRate: 16000, channels: 1, frames: 12345, durationSec: 12345 / 16000 });
    const notices: string[] = [];
    const loaded = await loadItemAudio({ path: file }, { onNotice: (m) => notices.push(m) });
    expect(loaded).toEqual(audio);
    expect(notices).toEqual([]);
  });

  it("an 8 kHz WAV is resampled to 16 kHz with a notice", async () => {
    const file = path.join(tmp, "eight.wav");
    const audio = Float32Array.from({ length: 4000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)) / 32768);
    writeWav16(file, audio, 8000);
    expect(readAudioHeader(file)).toEqual({ sampleRate: 8000, channels: 1, frames: 4000, durationSec: 0.5 });
    const notices: string[] = [];
    const loaded = await loadItemAudio({ path: file }, { onNotice: (m) => notices.push(m) });
    expect(notices).toEqual([`${file}: resampled 8000 Hz -> 16000 Hz`]);
    expect(loaded.length).toBe(8000);
    expect(loaded).toEqual(resample(audio, 8000, 16000));
  });

  it("a WAV segment is cropped exactly; one past the end is a UserError", async () => {
    const file = path.join(tmp, "seg.wav");
    const audio = pcmRamp(16000);
    writeWav16(file, audio, 16000);
    const seg = await loadItemAudio({ path: file, segment: { startSec: 0.25, durationSec: 0.5 } });
    expect(seg).toEqual(audio.slice(4000, 12000));
    await expectUserError(() => loadItemAudio({ path: file, segment: { startSec: 0.75, durationSec: 0.5 } }), file, "past the end of the file (1.00 s)");
  });

  it("a file of random bytes named .flac is a UserError (not a FLAC file)", async () => {
    const file = path.join(tmp, "random.flac");
    let x = 12345;
    writeFileSync(file, Uint8Array.from({ length: 4096 }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24) & 0xff));
    await expectUserError(() => decodeFlacFile(file), `${file}: not a FLAC file`);
    await expectUserError(() => loadItemAudio({ path: file }), `${file}: not a FLAC file`);
    await expectUserError(() => readAudioHeader(file), `${file}: not a WAV or FLAC file`);
  });

  it("a missing file is a UserError naming it", async () => {
    const file = path.join(tmp, "absent.flac");
    await expectUserError(() => readAudioHeader(file), `${file}: audio file not found`);
    await expectUserError(() => decodeFlacFile(file), `${file}: file not found`);
  });
});

const samples = sharedDataset("librispeech-train-clean-100-samples", "FLAC tests on real LibriSpeech files");

describe.skipIf(!samples)("FLAC on real LibriSpeech files", () => {
  const flacs = samples ? realFlacs(samples) : [];
  const file = flacs[0];

  it("the header's frames equal the decoded length; 16 kHz mono", async () => {
    for (const f of flacs.slice(0, 3)) {
      const h = readAudioHeader(f);
      const d = await decodeFlacFile(f);
      expect(h.sampleRate).toBe(16000);
      expect(h.channels).toBe(1);
      expect(d.sampleRate).toBe(16000);
      expect(h.frames).toBe(d.samples.length);
      expect(h.durationSec).toBe(d.samples.length / 16000);
      expect(h.frames).toBeGreaterThan(16000); // LibriSpeech utterances last seconds
    }
  });

  // libFLAC's wasm build scales 16-bit PCM by 1/32767; decodeFlacFile rescales to decodeWav's
  // (and torchaudio's) 1/32768, so the same audio as FLAC and as WAV gives the same samples.
  it("decodes to 16-bit values over 32768, as decodeWav does", async () => {
    const { samples: s } = await decodeFlacFile(file);
    let max = 0;
    let off32767 = 0;
    let off32768 = 0;
    // float32 keeps 24 bits, so k/32768 comes back within ~0.002 of k; 32767 misses by k/32768.
    const off = (v: number) => Math.abs(v - Math.round(v)) > 0.01;
    for (let i = 0; i < s.length; i++) {
      max = Math.max(max, Math.abs(s[i]));
      if (off(s[i] * 32767)) off32767++;
      if (off(s[i] * 32768)) off32768++;
    }
    expect(off32768).toBe(0);
    expect(off32767).toBeGreaterThan(1000);
    expect(max).toBeGreaterThan(0);
    expect(max).toBeLessThanOrEqual(1);
  });

  it("a segment crop returns exactly the samples of the full decode", async () => {
    const full = await loadItemAudio({ path: file });
    const seg = await loadItemAudio({ path: file, segment: { startSec: 0.5, durationSec: 0.25 } });
    expect(seg.length).toBe(4000);
    expect(seg).toEqual(full.slice(8000, 12000));
  });

  it("a truncated FLAC (first half of the bytes) is a UserError naming the file and the samples decoded", async () => {
    const bytes = readFileSync(file);
    const cut = path.join(tmp, "truncated.flac");
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const total = readAudioHeader(file).frames;
    // The header alone still reads (durations come from it), only decoding finds the cut.
    expect(readAudioHeader(cut).frames).toBe(total);
    const msg = await expectUserError(() => decodeFlacFile(cut), `${cut}: truncated FLAC (`, ` of ${total} samples decoded)`);
    const decoded = Number(/\((\d+) of/.exec(msg)?.[1]);
    expect(decoded).toBeGreaterThan(0);
    expect(decoded).toBeLessThan(total);
    await expectUserError(() => loadItemAudio({ path: cut }), `${cut}: truncated FLAC`);
  });

  it("a FLAC cut inside its header is a UserError", async () => {
    const cut = path.join(tmp, "header-cut.flac");
    writeFileSync(cut, readFileSync(file).subarray(0, 30));
    await expectUserError(() => readAudioHeader(cut), `${cut}: corrupt FLAC (no STREAMINFO block)`);
    await expectUserError(() => decodeFlacFile(cut), `${cut}: corrupt FLAC`);
  });
});
