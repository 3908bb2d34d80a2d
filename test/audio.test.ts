import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import wavefile from "wavefile";
import { afterAll, describe, expect, it } from "vitest";
import { decodeWav, encodeWav16, loadAudio16k, readWav, writeWav16 } from "../src/audio.js";
import { UserError } from "../src/errors.js";

const { WaveFile } = wavefile;
const dir = mkdtempSync(join(tmpdir(), "superb-audio-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Hand-built WAV bytes so tests control every header field. */
function buildWav(opts: {
  format?: number;
  channels?: number;
  rate?: number;
  bits?: number;
  data: Uint8Array;
  dataSizeOverride?: number;
  blockAlignOverride?: number;
  extensibleSubformat?: number;
}): Uint8Array {
  const channels = opts.channels ?? 1;
  const bits = opts.bits ?? 16;
  const rate = opts.rate ?? 16000;
  const ext = opts.extensibleSubformat !== undefined;
  const fmtSize = ext ? 40 : 16;
  const buf = new Uint8Array(12 + 8 + fmtSize + 8 + opts.data.length);
  const v = new DataView(buf.buffer);
  const str = (o: number, s: string): void => [...s].forEach((c, i) => (buf[o + i] = c.charCodeAt(0)));
  str(0, "RIFF");
  v.setUint32(4, buf.length - 8, true);
  str(8, "WAVE");
  str(12, "fmt ");
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, ext ? 0xfffe : (opts.format ?? 1), true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, (rate * channels * bits) / 8, true);
  v.setUint16(32, opts.blockAlignOverride ?? (channels * bits) / 8, true);
  v.setUint16(34, bits, true);
  if (ext) {
    v.setUint16(36, 22, true);
    v.setUint16(38, bits, true);
    v.setUint32(40, 0, true);
    // SubFormat GUID: first 2 bytes are the format code, then the fixed KSDATAFORMAT suffix
    v.setUint16(44, opts.extensibleSubformat ?? 1, true);
    buf.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46);
  }
  const d = 20 + fmtSize;
  str(d, "data");
  v.setUint32(d + 4, opts.dataSizeOverride ?? opts.data.length, true);
  buf.set(opts.data, d + 8);
  return buf;
}

function f32bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

function fromScratch(name: string, channels: number, rate: number, depth: string, samples: number[] | number[][], options?: object): string {
  const w = new WaveFile();
  w.fromScratch(channels, rate, depth, samples, options);
  return write(name, w.toBuffer());
}

/** Asserts a UserError whose message is one line, names the file and matches `pattern`. */
function expectUserError(fn: () => unknown, path: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(UserError);
  const msg = (caught as UserError).message;
  expect(msg).not.toContain("\n");
  expect(msg.startsWith(`${path}: `)).toBe(true);
  expect(msg).toMatch(pattern);
}

describe("readWav decodes every supported encoding to [-1, 1] mono", () => {
  it("16-bit PCM", () => {
    const p = fromScratch("s16.wav", 1, 16000, "16", [0, 16384, -32768, 32767]);
    const a = readWav(p);
    expect(a.sampleRate).toBe(16000);
    expect(Array.from(a.samples)).toEqual([0, 0.5, -1, 32767 / 32768]);
  });

  it("8-bit unsigned PCM (offset 128)", () => {
    const p = fromScratch("u8.wav", 1, 8000, "8", [128, 192, 0, 255]);
    const a = readWav(p);
    expect(a.sampleRate).toBe(8000);
    expect(Array.from(a.samples)).toEqual([0, 0.5, -1, 127 / 128]);
  });

  it("24-bit and 32-bit PCM", () => {
    expect(Array.from(readWav(fromScratch("s24.wav", 1, 16000, "24", [0, 4194304, -8388608, -1])).samples)).toEqual([0, 0.5, -1, -1 / 8388608]);
    const s32 = readWav(fromScratch("s32.wav", 1, 16000, "32", [0, 1073741824, -2147483648])).samples;
    expect(Array.from(s32)).toEqual([0, 0.5, -1]);
  });

  it("32-bit and 64-bit float, including WAVE_FORMAT_EXTENSIBLE float", () => {
    expect(Array.from(readWav(fromScratch("f32.wav", 1, 16000, "32f", [0.25, -0.5, 1])).samples)).toEqual([0.25, -0.5, 1]);
    expect(Array.from(readWav(fromScratch("f64.wav", 1, 16000, "64", [0.125, -1])).samples)).toEqual([0.125, -1]);
    const ext = write("ext-float.wav", buildWav({ bits: 32, extensibleSubformat: 3, data: f32bytes([0.75, -0.25]) }));
    expect(Array.from(readWav(ext).samples)).toEqual([0.75, -0.25]);
  });

  it("mixes stereo to mono by averaging channels", () => {
    const p = fromScratch("stereo.wav", 2, 16000, "16", [
      [16384, 0, -32768],
      [0, 16384, -32768],
    ]);
    expect(Array.from(readWav(p).samples)).toEqual([0.25, 0.25, -1]);
  });

  it("big-endian RIFX", () => {
    const p = fromScratch("rifx.wav", 1, 16000, "16", [16384, -16384], { container: "RIFX" });
    expect(Array.from(readWav(p).samples)).toEqual([0.5, -0.5]);
  });
});

describe("readWav rejects bad files with a one-line UserError naming the file", () => {
  const good = buildWav({ data: new Uint8Array(new Int16Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer) });

  it("missing file and directory", () => {
    const missing = join(dir, "nope.wav");
    expectUserError(() => readWav(missing), missing, /file not found/);
    const sub = join(dir, "adir.wav");
    mkdirSync(sub);
    expectUserError(() => readWav(sub), sub, /is a directory/);
  });

  it("0-byte file and random bytes", () => {
    const empty = write("zero.wav", new Uint8Array(0));
    expectUserError(() => readWav(empty), empty, /empty file/);
    let s = 42;
    const rnd = Uint8Array.from({ length: 1000 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
    const random = write("random.wav", rnd);
    expectUserError(() => readWav(random), random, /not a RIFF\/WAVE file/);
    const text = write("text.wav", new TextEncoder().encode("hello, this is not audio at all"));
    expectUserError(() => readWav(text), text, /not a RIFF\/WAVE file/);
  });

  it("truncated header and truncated data", () => {
    const shortHeader = write("trunc-header.wav", good.slice(0, 30));
    expectUserError(() => readWav(shortHeader), shortHeader, /truncated WAV file/);
    const tinyHeader = write("trunc-8.wav", good.slice(0, 8));
    expectUserError(() => readWav(tinyHeader), tinyHeader, /not a RIFF\/WAVE file/);
    const cutData = write("trunc-data.wav", good.slice(0, good.length - 6));
    expectUserError(() => readWav(cutData), cutData, /truncated WAV file \(data chunk declares 16 bytes, only 10 present\)/);
  });

  it("empty data chunk", () => {
    const p = write("empty-data.wav", buildWav({ data: new Uint8Array(0) }));
    expectUserError(() => readWav(p), p, /no audio samples \(empty data chunk\)/);
  });

  it("compressed and odd encodings", () => {
    const alaw = write("alaw.wav", buildWav({ format: 6, bits: 8, data: new Uint8Array(10) }));
    expectUserError(() => readWav(alaw), alaw, /unsupported WAV encoding A-law.*ffmpeg/);
    const adpcm = write("adpcm.wav", buildWav({ format: 0x11, bits: 4, data: new Uint8Array(10) }));
    expectUserError(() => readWav(adpcm), adpcm, /unsupported WAV encoding IMA ADPCM/);
    const weird = write("weird.wav", buildWav({ format: 0x1234, data: new Uint8Array(10) }));
    expectUserError(() => readWav(weird), weird, /format tag 0x1234/);
    const s12 = write("s12.wav", buildWav({ bits: 12, data: new Uint8Array(10) }));
    expectUserError(() => readWav(s12), s12, /unsupported PCM bit depth 12/);
  });

  it("NaN and infinite samples", () => {
    const nan = write("nan.wav", buildWav({ format: 3, bits: 32, data: f32bytes([0, 0.1, NaN, 0]) }));
    expectUserError(() => readWav(nan), nan, /NaN or infinite samples \(first at sample 2/);
    const inf = write("inf.wav", buildWav({ format: 3, bits: 32, data: f32bytes([Infinity]) }));
    expectUserError(() => readWav(inf), inf, /NaN or infinite/);
  });
});

describe("readWav bounds the header before decoding or resampling", () => {
  const pcm = new Uint8Array(new Int16Array([1, 2, 3, 4]).buffer);

  it.each([0, 1, 999, 384_001, 16_777_216, 0xffffffff])("sample rate %i Hz is a UserError, also through loadAudio16k", (rate) => {
    const p = write(`rate-${rate}.wav`, buildWav({ rate, data: pcm }));
    const problem = new RegExp(`: implausible sample rate ${rate} Hz \\(supported: 1000-384000 Hz\\); corrupt header\\?$`);
    expectUserError(() => readWav(p), p, problem);
    // Before the bound, rate 1 asked the resampler for 16000x the samples and 2^32 - 1 for a gigabyte filter.
    expectUserError(() => loadAudio16k(p), p, problem);
  });

  it("the bounds themselves are accepted and resampled", () => {
    for (const rate of [1000, 384_000]) {
      const p = write(`edge-${rate}.wav`, buildWav({ rate, data: new Uint8Array(rate * 2 * 0.01) }));
      expect(readWav(p).sampleRate).toBe(rate);
      expect(loadAudio16k(p).length).toBe(160);
    }
  });

  it("channel counts outside 1-256 and an inconsistent block align are UserErrors", () => {
    const none = write("ch0.wav", buildWav({ channels: 0, data: pcm }));
    expectUserError(() => readWav(none), none, /: implausible channel count 0 \(supported: 1-256\); corrupt header\?$/);
    const many = write("ch300.wav", buildWav({ channels: 300, data: new Uint8Array(600) }));
    expectUserError(() => readWav(many), many, /: implausible channel count 300 /);
    const align = write("align.wav", buildWav({ channels: 2, blockAlignOverride: 3, data: pcm }));
    expectUserError(() => readWav(align), align, /: corrupt WAV file \(block align 3, expected 4\)$/);
  });
});

describe("loadAudio16k sample-rate policy", () => {
  it("passes 16 kHz through without notice", () => {
    const p = fromScratch("ok16k.wav", 1, 16000, "16", [100, 200]);
    const notices: string[] = [];
    expect(loadAudio16k(p, { onNotice: (m) => notices.push(m) }).length).toBe(2);
    expect(notices).toEqual([]);
  });

  it("resamples 44.1 kHz and reports it", () => {
    const x = Array.from({ length: 4410 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 441 * i) / 44100)));
    const p = fromScratch("cd.wav", 1, 44100, "16", x);
    const notices: string[] = [];
    const y = loadAudio16k(p, { onNotice: (m) => notices.push(m) });
    expect(y.length).toBe(1600);
    expect(notices).toEqual([`${p}: resampled 44100 Hz -> 16000 Hz`]);
    // amplitude 8000/32768 preserved in the middle
    let peak = 0;
    for (let i = 200; i < 1400; i++) peak = Math.max(peak, Math.abs(y[i]));
    expect(peak).toBeCloseTo(8000 / 32768, 3);
  });

  it("with resample: false a wrong rate is a UserError naming the file", () => {
    const p = fromScratch("wrong-rate.wav", 1, 44100, "16", [1, 2, 3]);
    expectUserError(() => loadAudio16k(p, { resample: false }), p, /^.*: sample rate 44100 Hz, expected 16000 Hz$/);
  });
});

describe("writeWav16", () => {
  it("round-trips k/32768 exactly, clips out-of-range values, leaves no temp file", () => {
    const p = join(dir, "out.wav");
    const audio = Float32Array.of(0, 0.5, -1, 1, 2, -3, 1 / 32768);
    writeWav16(p, audio, 16000);
    const back = readWav(p);
    expect(back.sampleRate).toBe(16000);
    expect(Array.from(back.samples)).toEqual([0, 0.5, -1, 32767 / 32768, 32767 / 32768, -1, 1 / 32768]);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
    // overwriting replaces the file atomically
    writeWav16(p, Float32Array.of(0.25), 8000);
    expect(readWav(p)).toEqual({ samples: Float32Array.of(0.25), sampleRate: 8000 });
  });

  it("fails cleanly into a missing directory", () => {
    const p = join(dir, "no-such-dir", "x.wav");
    expect(() => writeWav16(p, Float32Array.of(0), 16000)).toThrow();
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });
});

describe("encodeWav16 / decodeWav (bytes)", () => {
  it("round-trips 16-bit mono WAV with a 44-byte header", () => {
    const x = new Float32Array([0, 0.5, -0.5, 0.999, -1]);
    const bytes = encodeWav16(x, 16000);
    expect(bytes.length).toBe(44 + 10);
    const { sampleRate, samples } = decodeWav(bytes, "mem");
    expect(sampleRate).toBe(16000);
    for (let i = 0; i < x.length; i++) expect(samples[i]).toBeCloseTo(x[i], 4);
  });

  it("writes the same bytes as wavefile's 16-bit PCM writer", () => {
    const x = Float32Array.from({ length: 1001 }, (_, i) => 1.3 * Math.sin(i * 0.1) - 0.1);
    const pcm = Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
    const w = new WaveFile();
    w.fromScratch(1, 22050, "16", pcm);
    expect(Buffer.from(encodeWav16(x, 22050)).equals(Buffer.from(w.toBuffer()))).toBe(true);
  });

  it("decodes a subarray view and names the source in errors", () => {
    const bytes = encodeWav16(Float32Array.of(0.25, -0.5), 8000);
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    expect(decodeWav(padded.subarray(3), "view")).toEqual({ samples: Float32Array.of(0.25, -0.5), sampleRate: 8000 });
    expectUserError(() => decodeWav(new Uint8Array(0), "eSpeak output"), "eSpeak output", /empty file/);
    expectUserError(() => decodeWav(new Uint8Array(20), "eSpeak output"), "eSpeak output", /not a RIFF\/WAVE file/);
  });

  it("rejects NaN and invalid sample rates", () => {
    expect(() => encodeWav16(Float32Array.of(0, NaN), 16000)).toThrow(/encodeWav16: NaN at sample 1/);
    expect(() => encodeWav16(Float32Array.of(0), 0)).toThrow(/invalid sample rate/);
    const p = join(dir, "nan.wav");
    expect(() => writeWav16(p, Float32Array.of(NaN), 16000)).toThrow(`writeWav16(${p}): NaN at sample 0`);
  });
});
