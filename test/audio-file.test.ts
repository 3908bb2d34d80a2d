import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import wavefile from "wavefile";
import { afterAll, describe, expect, it } from "vitest";
import { writeWav16 } from "../src/audio.js";
import { decodeFlacFile, loadItemAudio, readAudioHeader } from "../src/audio-file.js";
import { resample } from "../src/dsp/resample.js";
import { encodeFlacVerbatim } from "../src/fuzz/seed-audio.js";
import { realFlacs } from "./fixtures/librispeech.js";
import { expectUserError } from "./helpers/errors.js";
import { sharedDataset } from "./helpers/shared-data.js";

const { WaveFile } = wavefile;
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

  it("a folder where an audio file should be is a UserError naming it (fuzz finding: a CSV path of \"../\")", async () => {
    const dir = path.join(tmp, "folder.wav");
    mkdirSync(dir, { recursive: true });
    await expectUserError(() => readAudioHeader(dir), `${dir}: is a folder, not an audio file`);
  });

  it("a missing file is a UserError naming it", async () => {
    const file = path.join(tmp, "absent.flac");
    await expectUserError(() => readAudioHeader(file), `${file}: audio file not found`);
    await expectUserError(() => decodeFlacFile(file), `${file}: file not found`);
  });
});

/** A WAV header (fmt + data chunks) with every field given, followed by `dataBytes` zero bytes. */
function wavBytes(f: { format?: number; channels?: number; rate?: number; blockAlign?: number; bits?: number; dataBytes?: number }): Uint8Array {
  const { format = 1, channels = 1, rate = 16000, bits = 16, dataBytes = 8 } = f;
  const b = new Uint8Array(44 + dataBytes);
  const v = new DataView(b.buffer);
  b.set(Buffer.from("RIFF"), 0);
  v.setUint32(4, 36 + dataBytes, true);
  b.set(Buffer.from("WAVEfmt "), 8);
  v.setUint32(16, 16, true);
  v.setUint16(20, format, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, f.blockAlign ?? (channels * bits) / 8, true);
  v.setUint16(34, bits, true);
  b.set(Buffer.from("data"), 36);
  v.setUint32(40, dataBytes, true);
  return b;
}

/** "fLaC" and a STREAMINFO block with the given fields (no audio frames follow). */
function flacBytes(f: { rate: number; channels?: number; bits?: number; frames?: number; blockLength?: number }): Uint8Array {
  const { rate, channels = 1, bits = 16, frames = 16000, blockLength = 34 } = f;
  const b = new Uint8Array(8 + 34);
  b.set(Buffer.from("fLaC"), 0);
  b[4] = 0x80; // last metadata block, type 0 (STREAMINFO)
  b[5] = blockLength >> 16;
  b[6] = (blockLength >> 8) & 0xff;
  b[7] = blockLength & 0xff;
  const s = 8;
  new DataView(b.buffer).setUint16(s, 4096);
  new DataView(b.buffer).setUint16(s + 2, 4096);
  b[s + 10] = (rate >> 12) & 0xff;
  b[s + 11] = (rate >> 4) & 0xff;
  b[s + 12] = ((rate & 0xf) << 4) | ((channels - 1) << 1) | ((bits - 1) >> 4);
  b[s + 13] = (((bits - 1) & 0xf) << 4) | (Math.floor(frames / 2 ** 32) & 0xf);
  new DataView(b.buffer).setUint32(s + 14, frames >>> 0);
  return b;
}

describe("readAudioHeader and loadItemAudio bound header values before decoding", () => {
  const write = (name: string, bytes: Uint8Array): string => {
    const file = path.join(tmp, name);
    writeFileSync(file, bytes);
    return file;
  };

  it.each([0, 1, 999, 0xffffffff, 16_777_216])("a WAV with sample rate %i Hz", async (rate) => {
    const file = write(`hdr-rate-${rate}.wav`, wavBytes({ rate }));
    const problem = new RegExp(`^.*hdr-rate-${rate}\\.wav: implausible sample rate ${rate} Hz \\(supported: 1000-384000 Hz\\)`);
    await expectUserError(() => readAudioHeader(file), `${file}: `, problem);
    await expectUserError(() => loadItemAudio({ path: file }), `${file}: `, problem);
  });

  it("a WAV header with 0 channels, a wrong block align or an unsupported encoding", async () => {
    const none = write("hdr-ch0.wav", wavBytes({ channels: 0 }));
    await expectUserError(() => readAudioHeader(none), `${none}: implausible channel count 0 (supported: 1-256)`);
    const align = write("hdr-align.wav", wavBytes({ channels: 2, blockAlign: 1 }));
    await expectUserError(() => readAudioHeader(align), `${align}: corrupt WAV file (block align 1, expected 4)`);
    const alaw = write("hdr-alaw.wav", wavBytes({ format: 6, bits: 8 }));
    await expectUserError(() => readAudioHeader(alaw), `${alaw}: unsupported WAV encoding A-law`);
    const bits = write("hdr-bits.wav", wavBytes({ bits: 12, blockAlign: 2 }));
    await expectUserError(() => readAudioHeader(bits), `${bits}: unsupported PCM bit depth 12`);
  });

  it("a big-endian RIFX WAV gives the same header as decodeWav reads", () => {
    const w = new WaveFile();
    w.fromScratch(2, 22050, "16", [[1, 2, 3], [4, 5, 6]], { container: "RIFX" });
    const file = write("rifx.wav", w.toBuffer());
    expect(readAudioHeader(file)).toEqual({ sampleRate: 22050, channels: 2, frames: 3, durationSec: 3 / 22050 });
  });

  it.each([0, 1, 999, 384_001, 1_048_575])("a FLAC whose STREAMINFO says %i Hz, before any decoding", async (rate) => {
    const file = write(`hdr-rate-${rate}.flac`, flacBytes({ rate }));
    const problem = `${file}: implausible sample rate ${rate} Hz (supported: 1000-384000 Hz)`;
    await expectUserError(() => readAudioHeader(file), problem);
    await expectUserError(() => decodeFlacFile(file), problem);
    await expectUserError(() => loadItemAudio({ path: file }), problem);
  });

  it("a FLAC whose first block is not a 34-byte STREAMINFO", async () => {
    const file = write("hdr-blocklen.flac", flacBytes({ rate: 16000, blockLength: 1000 }));
    await expectUserError(() => readAudioHeader(file), `${file}: corrupt FLAC (no STREAMINFO block)`);
    await expectUserError(() => decodeFlacFile(file), `${file}: corrupt FLAC (no STREAMINFO block)`);
    expect(readAudioHeader(write("hdr-ok.flac", flacBytes({ rate: 44100, channels: 2 })))).toEqual({ sampleRate: 44100, channels: 2, frames: 16000, durationSec: 16000 / 44100 });
  });
});

describe("FLAC whose last frame is a short CONSTANT frame of silence", () => {
  it("decodes every sample, the silent tail included (found on LibriSpeech 3235-11599-0000.flac: codec-parser held back the last 13-byte frame)", async () => {
    const body = pcmRamp(3072); // whole 1024-sample blocks: only the last frame of a fixed-blocksize stream may be short
    const file = path.join(tmp, "silent-tail.flac");
    writeFileSync(file, encodeFlacVerbatim(body, 16000, { silentTail: 640 }));
    expect(readAudioHeader(file).frames).toBe(3712);
    const { samples: decoded } = await decodeFlacFile(file);
    expect(decoded.length).toBe(3712);
    expect(Array.from(decoded.subarray(0, 3072))).toEqual(Array.from(body));
    expect(decoded.subarray(3072).every((v) => v === 0)).toBe(true);
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
