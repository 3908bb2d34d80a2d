import { describe, expect, it } from "vitest";
import { erb, featureStats, gammatoneWeights, interpolateUnvoiced, logPowerSpectrum, mfcc, prosody, withDeltas, applyStats } from "../src/pase/targets.js";

const tone = (hz: number, n: number, amp = 0.5): Float32Array => Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / 16000));

describe("PASE+ worker targets", () => {
  it("frame t is centred at sample 160 t + 80: an impulse at sample 800 reaches only frames 4 and 5 of a 400-sample window", () => {
    const x = new Float32Array(1600);
    x[800] = 1;
    const lps = logPowerSpectrum(x, 10, { win: 400, nfft: 512 });
    const frameMax = (t: number) => Math.max(...lps.subarray(t * 257, (t + 1) * 257));
    for (const t of [0, 1, 2, 3, 6, 7, 8, 9]) expect(frameMax(t)).toBe(Math.fround(Math.log(1e-6)));
    for (const t of [4, 5]) expect(frameMax(t)).toBeGreaterThan(Math.log(1e-3));
  });

  it("a 1 kHz tone peaks in FFT bin 1000 * 512 / 16000 = 32", () => {
    const lps = logPowerSpectrum(tone(1000, 8000), 50, { win: 400, nfft: 512 });
    const row = Array.from(lps.subarray(25 * 257, 26 * 257));
    expect(row.indexOf(Math.max(...row))).toBe(32);
  });

  it("gammatone centres run 100 Hz .. 7.6 kHz on the ERB-rate scale, each filter sums to 1, and ERB(1 kHz) = 132.639 Hz", () => {
    expect(erb(1000)).toBeCloseTo(24.7 * 5.37, 9);
    const { centres, weights } = gammatoneWeights(40, 512);
    expect(centres[0]).toBeCloseTo(100, 6);
    expect(centres[39]).toBeCloseTo(7600, 6);
    for (let b = 0; b < 40; b++) expect(weights.subarray(b * 257, (b + 1) * 257).reduce((a, v) => a + v, 0)).toBeCloseTo(1, 9);
    // The filter's peak is the FFT bin nearest its centre.
    const b = 20;
    const row = Array.from(weights.subarray(b * 257, (b + 1) * 257));
    expect(row.indexOf(Math.max(...row))).toBe(Math.round((centres[b] * 512) / 16000));
  });

  it("MFCC 0 is the sum of log mel energies times the DCT's first row; order is honoured", () => {
    const m = mfcc(tone(440, 4000), 25, { win: 400, nfft: 512, mels: 40, order: 13 });
    expect(m.length).toBe(25 * 13);
    expect(() => mfcc(tone(440, 400), 3, { win: 400, nfft: 512, mels: 40, order: 41 })).toThrow("mfcc: order must be an integer in [1, mels], got 41");
  });

  it("prosody recovers the F0 of a 200 Hz tone (lag 80) as log 200, voiced; silence is unvoiced with log F0 0", () => {
    const p = prosody(tone(200, 8000), 50);
    for (const t of [10, 25, 40]) {
      expect(p[t * 4]).toBeCloseTo(Math.log(200), 6);
      expect(p[t * 4 + 1]).toBe(1);
      // A sine crosses zero twice per period: 2 * 200 / 16000 per sample.
      expect(p[t * 4 + 2]).toBeCloseTo((2 * 200) / 16000, 2);
    }
    const s = prosody(new Float32Array(1600), 10);
    for (let t = 0; t < 10; t++) expect([s[t * 4], s[t * 4 + 1], s[t * 4 + 3]]).toEqual([0, 0, Math.fround(Math.log(1e-6))]);
  });

  it("unvoiced frames are interpolated between voiced ones and held at the ends", () => {
    const v = Float64Array.from([0, 2, 0, 0, 8, 0]);
    interpolateUnvoiced(v, Uint8Array.from([0, 1, 0, 0, 1, 0]));
    expect(Array.from(v)).toEqual([2, 2, 4, 6, 8, 8]);
  });

  it("deltas triple the width; statistics and standardisation by hand", () => {
    expect(withDeltas(new Float32Array(12), 4, 3).length).toBe(36);
    const s = featureStats([{ data: Float32Array.from([1, 10, 3, 30]), dim: 2 }]);
    expect(Array.from(s.mean)).toEqual([2, 20]);
    expect(Array.from(s.std)).toEqual([1, 10]);
    const d = Float32Array.from([1, 10, 3, 30]);
    applyStats(d, 2, s);
    expect(Array.from(d)).toEqual([-1, -1, 1, 1]);
  });

  it("bad options name the function and the value", () => {
    expect(() => logPowerSpectrum(new Float32Array(10), 1, { win: 400, nfft: 300 })).toThrow("logPowerSpectrum: nfft must be a power of two >= win, got 300");
  });
});
