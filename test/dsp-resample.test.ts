import { describe, expect, it } from "vitest";
import { resample, resampledLength } from "../src/dsp/resample.js";

function tone(freq: number, amp: number, rate: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
}

/** Amplitude and phase-free frequency fit of y against a tone at `freq` (least squares on sin/cos). */
function toneAmplitude(y: Float32Array, freq: number, rate: number, from: number, to: number): number {
  let ss = 0;
  let sc = 0;
  for (let i = from; i < to; i++) {
    ss += y[i] * Math.sin((2 * Math.PI * freq * i) / rate);
    sc += y[i] * Math.cos((2 * Math.PI * freq * i) / rate);
  }
  const n = to - from;
  return (2 / n) * Math.hypot(ss, sc);
}

/** Largest |y[i] - expected[i]| for i in [from, to). */
function maxAbsError(y: Float32Array, expected: Float32Array, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(y[i] - expected[i]));
  return m;
}

function rms(y: Float32Array, from: number, to: number): number {
  let e = 0;
  for (let i = from; i < to; i++) e += y[i] * y[i];
  return Math.sqrt(e / (to - from));
}

describe("resample", () => {
  it("output length is round(N * to / from)", () => {
    expect(resample(new Float32Array(48000), 48000, 16000).length).toBe(16000);
    expect(resample(new Float32Array(44100), 44100, 16000).length).toBe(16000);
    expect(resample(new Float32Array(1000), 44100, 16000).length).toBe(Math.round((1000 * 16000) / 44100)); // 363
    expect(resampledLength(1000, 44100, 16000)).toBe(363);
    expect(resample(new Float32Array(101), 8000, 16000).length).toBe(202);
    expect(resample(new Float32Array(1), 48000, 16000).length).toBe(0);
    expect(resample(new Float32Array(0), 48000, 16000).length).toBe(0);
  });

  it("same rate returns a copy", () => {
    const x = Float32Array.of(1, 2, 3);
    const y = resample(x, 16000, 16000);
    expect(Array.from(y)).toEqual([1, 2, 3]);
    expect(y).not.toBe(x);
  });

  it("48k -> 16k keeps a 1 kHz sine's frequency, amplitude and phase", () => {
    const x = tone(1000, 0.5, 48000, 48000);
    const y = resample(x, 48000, 16000);
    // Away from the zero-padded edges the output is the same sine sampled at 16 kHz.
    const expected = tone(1000, 0.5, 16000, 16000);
    expect(maxAbsError(y, expected, 500, 15500)).toBeLessThan(1e-4);
    expect(toneAmplitude(y, 1000, 16000, 500, 15500)).toBeCloseTo(0.5, 4);
    // energy is all at 1 kHz: the fit explains the signal
    expect(rms(y, 500, 15500)).toBeCloseTo(0.5 / Math.SQRT2, 4);
  });

  it("44.1k -> 16k (ratio 160/441) keeps a 440 Hz and a 5 kHz sine", () => {
    const x = tone(440, 0.3, 44100, 44100).map((v, i) => v + 0.2 * Math.sin((2 * Math.PI * 5000 * i) / 44100));
    const y = resample(x, 44100, 16000);
    expect(y.length).toBe(16000);
    expect(toneAmplitude(y, 440, 16000, 500, 15500)).toBeCloseTo(0.3, 3);
    expect(toneAmplitude(y, 5000, 16000, 500, 15500)).toBeCloseTo(0.2, 3);
  });

  it("anti-aliasing: tones above the new Nyquist are suppressed by > 90 dB", () => {
    for (const f of [8500, 12000, 20000]) {
      const y = resample(tone(f, 1, 48000, 48000), 48000, 16000);
      const level = rms(y, 1000, 15000) / (1 / Math.SQRT2);
      expect(20 * Math.log10(level)).toBeLessThan(-90);
    }
  });

  it("22.05k -> 16k (eSpeak's rate, ratio 320/441) keeps a 1 kHz sine and DC, and removes a 10 kHz tone", () => {
    const y = resample(tone(1000, 1, 22050, 22050), 22050, 16000);
    expect(y.length).toBe(16000);
    const expected = tone(1000, 1, 16000, 16000);
    expect(maxAbsError(y, expected, 200, 15800)).toBeLessThan(1e-4);
    expect(resample(new Float32Array(22050).fill(0.5), 22050, 16000)[8000]).toBeCloseTo(0.5, 5);
    const alias = resample(tone(10000, 1, 22050, 22050), 22050, 16000); // above the new Nyquist
    expect(20 * Math.log10(rms(alias, 200, 15800) / Math.SQRT1_2)).toBeLessThan(-90);
  });

  it("gives the same output on repeated calls (cached phase table) and with other options in between", () => {
    const x = tone(440, 0.5, 22050, 5000);
    const a = resample(x, 22050, 16000);
    resample(x, 22050, 16000, { zeroCrossings: 16 });
    resample(x, 44100, 16000);
    expect(resample(x, 22050, 16000)).toEqual(a);
    expect(resample(x, 22050, 16000, { zeroCrossings: 16 })).not.toEqual(a);
  });

  it("8k -> 16k upsampling interpolates a 1 kHz sine", () => {
    const y = resample(tone(1000, 0.7, 8000, 8000), 8000, 16000);
    const expected = tone(1000, 0.7, 16000, 16000);
    expect(maxAbsError(y, expected, 1000, 15000)).toBeLessThan(1e-4);
  });

  it("odd rates (huge polyphase numerator) use the on-the-fly kernel and still work", () => {
    const y = resample(tone(1000, 0.5, 16001, 16001), 16001, 16000);
    expect(y.length).toBe(16000);
    expect(toneAmplitude(y, 1000, 16000, 1000, 15000)).toBeCloseTo(0.5, 3);
  });

  it("rejects non-integer or non-positive rates", () => {
    expect(() => resample(new Float32Array(4), 0, 16000)).toThrow();
    expect(() => resample(new Float32Array(4), 44100.5, 16000)).toThrow();
  });

  it("rejects rate ratios beyond 256 before allocating the filter or the output", () => {
    // 1 -> 16000 Hz asked for 16000x the input; 2^32 - 1 -> 16000 Hz for a 10^11-entry phase table.
    expect(() => resample(new Float32Array(1000), 1, 16000)).toThrow(/^resample: 1 Hz -> 16000 Hz is a ratio beyond 256$/);
    expect(() => resample(new Float32Array(1000), 0xffffffff, 16000)).toThrow(/^resample: 4294967295 Hz -> 16000 Hz is a ratio beyond 256$/);
    expect(resample(new Float32Array(256), 16000 * 256, 16000).length).toBe(1);
  });

  it("rejects options that make the filter infinite or huge", () => {
    const x = new Float32Array(100);
    expect(() => resample(x, 22050, 16000, { rolloff: 0 })).toThrow(/^resample: rolloff must be in \(0, 1\], got 0$/);
    expect(() => resample(x, 22050, 16000, { zeroCrossings: 1e9 })).toThrow(/^resample: zeroCrossings must be an integer in \[1, 1024\], got 1000000000$/);
    expect(() => resample(x, 22050, 16000, { kaiserBeta: NaN })).toThrow(/^resample: kaiserBeta must be in \[0, 50\], got NaN$/);
  });

  it("a large down ratio with many phases computes the kernel on the fly instead of a gigabyte table", () => {
    // 819001 -> 4095 Hz: 4095 phases x ~27000 taps would be 880 MB of float64; on the fly it is 5 outputs.
    const y = resample(new Float32Array(1000).fill(0.5), 4095 * 200 + 1, 4095);
    expect(y.length).toBe(5);
    expect(Number.isFinite(y[2])).toBe(true);
  }, 2000);
});
