import { describe, expect, it } from "vitest";
import { fftConvolve, zeroBand } from "../src/dsp/fft.js";
import { addNoise, clip, distort, mixAtSnr, NO_DISTORTIONS, PASE_PLUS_DISTORTIONS, reverberate, syntheticImpulseResponse, timeChop } from "../src/pase/distortions.js";
import { Rng } from "../src/random.js";

const tone = (hz: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / 16000));
const power = (x: ArrayLike<number>): number => Array.from(x).reduce((a, v) => a + v * v, 0) / x.length;

describe("PASE+ distortions", () => {
  it("fftConvolve equals the hand convolution [1, 2, 3] * [0, 1, 0.5] = [0, 1, 2.5, 4, 1.5]", () => {
    expect(Array.from(fftConvolve([1, 2, 3], [0, 1, 0.5])).map((v) => Number(v.toFixed(12)))).toEqual([0, 1, 2.5, 4, 1.5]);
  });

  it("zeroBand removes a 3 kHz component and keeps a 500 Hz one (both on FFT bins of 1024 samples)", () => {
    const low = tone(500, 1024);
    const mixed = Float32Array.from(low, (v, i) => v + 0.5 * Math.sin((2 * Math.PI * 3000 * i) / 16000));
    const out = zeroBand(mixed, 16000, 2500, 3500);
    let err = 0;
    for (let i = 0; i < 1024; i++) err = Math.max(err, Math.abs(out[i] - low[i]));
    expect(err).toBeLessThan(1e-6);
  });

  it("mixAtSnr gives exactly the requested SNR; a silent signal stays silent (no NaN)", () => {
    const s = tone(300, 4000);
    const rng = new Rng(1);
    const n = Float32Array.from({ length: 4000 }, () => rng.normal());
    for (const snr of [0, 5, 10]) {
      const m = mixAtSnr(s, n, snr);
      const noise = m.map((v, i) => v - s[i]);
      expect(10 * Math.log10(power(s) / power(noise))).toBeCloseTo(snr, 4);
    }
    expect(Array.from(mixAtSnr(new Float32Array(5), n, 5))).toEqual([0, 0, 0, 0, 0]);
    expect(addNoise(new Float32Array(100), new Rng(2)).every(Number.isFinite)).toBe(true);
  });

  it("clip by hand: factor 0.5 of peak 2 clips at 1", () => {
    expect(Array.from(clip(Float32Array.from([0.5, -1.5, 0.25, 2]), 0.5))).toEqual([0.5, -1, 0.25, 1]);
  });

  it("reverberation keeps the input's RMS and length; the room response starts with the direct path", () => {
    const h = syntheticImpulseResponse(new Rng(3), 0.3);
    expect(h.length).toBe(4800);
    expect(h[0]).toBe(1);
    const x = tone(250, 8000);
    const y = reverberate(x, new Rng(4));
    expect(y.length).toBe(8000);
    expect(power(y)).toBeCloseTo(power(x), 6);
  });

  it("timeChop zeroes whole segments only", () => {
    const x = Float32Array.from({ length: 8000 }, () => 1);
    const y = timeChop(x, new Rng(5));
    expect(y.every((v) => v === 0 || v === 1)).toBe(true);
    expect(y.some((v) => v === 0)).toBe(true);
  });

  it("distort: probabilities 0 apply nothing; 1 applies all five in order; the same seed gives the same output", () => {
    const x = tone(200, 4000);
    const none = distort(x, new Rng(6), NO_DISTORTIONS);
    expect(none.applied).toEqual([]);
    expect(Array.from(none.audio)).toEqual(Array.from(x));
    expect(none.audio).not.toBe(x);
    const all = distort(x, new Rng(6), { reverb: 1, noise: 1, bandDrop: 1, chop: 1, clip: 1 });
    expect(all.applied).toEqual(["reverb", "noise", "bandDrop", "chop", "clip"]);
    const a = distort(x, new Rng(7), PASE_PLUS_DISTORTIONS);
    const b = distort(x, new Rng(7), PASE_PLUS_DISTORTIONS);
    expect(b.applied).toEqual(a.applied);
    expect(Array.from(b.audio)).toEqual(Array.from(a.audio));
  });
});
