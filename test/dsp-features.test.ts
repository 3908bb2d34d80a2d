import { describe, expect, it } from "vitest";
import { Fbank, computeFbank } from "../src/dsp/fbank.js";
import { FLT_EPSILON, numFrames } from "../src/dsp/frames.js";
import { computeMfcc, mfccWithDeltas } from "../src/dsp/mfcc.js";

const SR = 16000;
const LOG_EPS = Math.log(FLT_EPSILON); // -15.942385

function sine(freq: number, amp: number, n: number, phase = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / SR + phase));
}

/** Same deterministic test signal as the NumPy reference (see the fixture below). */
function refSignal(n: number): Float32Array {
  return Float32Array.from(
    { length: n },
    (_, i) =>
      0.3 * Math.sin((2 * Math.PI * 440 * i) / SR) +
      0.2 * Math.sin((2 * Math.PI * 3000 * i) / SR + 0.5) +
      0.05 * (((i * 7919) % 1000) / 1000 - 0.5),
  );
}

function noise(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296 - 0.5) * 0.2;
  });
}

describe("frame count (snip_edges=true)", () => {
  it("1 + floor((N - 400) / 160), 0 below one window", () => {
    expect(numFrames(0, 400, 160)).toBe(0);
    expect(numFrames(399, 400, 160)).toBe(0);
    expect(numFrames(400, 400, 160)).toBe(1);
    expect(numFrames(559, 400, 160)).toBe(1);
    expect(numFrames(560, 400, 160)).toBe(2);
    expect(numFrames(16000, 400, 160)).toBe(98);
    expect(computeFbank(new Float32Array(16000)).numFrames).toBe(98);
  });

  it("short input gives 0 frames and empty data", () => {
    for (const n of [0, 1, 399]) {
      const f = computeFbank(new Float32Array(n).fill(0.1));
      expect(f).toMatchObject({ numFrames: 0, numBins: 80 });
      expect(f.data.length).toBe(0);
      expect(computeMfcc(new Float32Array(n)).numFrames).toBe(0);
    }
  });
});

describe("computeFbank", () => {
  it("matches an independent NumPy port of torchaudio.compliance.kaldi.fbank", () => {
    // Reference values come from a separate vectorised NumPy (float64) port of torchaudio's fbank:
    // strided frames, mean removal, replicate-pad pre-emphasis, hann^0.85, np.fft.rfft over 512,
    // mel matrix with a zero Nyquist column, log(max(e, eps)); same float32 signal scaled by 32768.
    // On a 3 s signal the two agree to 1e-6 (float32 rounding).
    const f = computeFbank(refSignal(1600));
    expect(f.numFrames).toBe(8);
    const cols = [0, 1, 5, 10, 20, 40, 60, 79];
    const ref0 = [8.900538, 7.837144, 10.633478, 15.217975, 12.556861, 12.718834, 19.421009, 20.103113];
    const ref7 = [9.155205, 10.808238, 10.903507, 15.264524, 12.752137, 14.948601, 19.227859, 20.134064];
    cols.forEach((c, j) => {
      expect(f.data[c]).toBeCloseTo(ref0[j], 4);
      expect(f.data[7 * 80 + c]).toBeCloseTo(ref7[j], 4);
    });
    const sum = f.data.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(10290.28201, 1);
  });

  it("a 1 kHz sine peaks in the mel bin centred nearest 1 kHz, in every frame", () => {
    const fb = new Fbank();
    const f = fb.compute(sine(1000, 0.5, SR));
    const centres = Array.from(fb.melBank.centerFreqs);
    const nearest = centres.reduce((best, c, i) => (Math.abs(c - 1000) < Math.abs(centres[best] - 1000) ? i : best), 0);
    for (let t = 0; t < f.numFrames; t++) {
      const row = Array.from(f.data.subarray(t * 80, (t + 1) * 80));
      const arg = row.indexOf(Math.max(...row));
      expect(Math.abs(arg - nearest)).toBeLessThanOrEqual(1);
      expect(Math.abs(centres[arg] - 1000)).toBeLessThan(60);
      // the top bin is far below the peak (about 28 nats): the povey window leaks little
      expect(row[arg] - row[79]).toBeGreaterThan(20);
    }
  });

  it("a DC signal vanishes after per-frame DC removal: every value is log(FLT_EPSILON)", () => {
    const f = computeFbank(new Float32Array(2000).fill(0.3));
    expect(LOG_EPS).toBeCloseTo(-15.942385, 6);
    for (const v of f.data) expect(v).toBeCloseTo(LOG_EPS, 5);
  });

  it("scaling the waveform by 2 adds ln 4 to every log energy", () => {
    const x = noise(8000);
    const a = computeFbank(x);
    const b = computeFbank(x.map((v) => 2 * v));
    for (let i = 0; i < a.data.length; i++) expect(b.data[i] - a.data[i]).toBeCloseTo(Math.log(4), 4);
  });

  it("waveformScale 32768 is exactly a log offset of ln(2^30) versus scale 1", () => {
    const x = noise(4000, 7);
    const a = computeFbank(x);
    const b = computeFbank(x, { waveformScale: 1 });
    for (let i = 0; i < a.data.length; i++) expect(a.data[i] - b.data[i]).toBeCloseTo(30 * Math.LN2, 3);
  });

  it("frames only see their own samples: dropping the first 160 samples drops the first frame", () => {
    const x = noise(5000, 3);
    const a = computeFbank(x);
    const b = computeFbank(x.subarray(160));
    expect(b.numFrames).toBe(a.numFrames - 1);
    for (let i = 0; i < b.data.length; i++) expect(b.data[i]).toBeCloseTo(a.data[i + 80], 5);
  });

  it("custom bin counts are cached separately", () => {
    const x = noise(1000);
    expect(computeFbank(x, { numMelBins: 40 }).numBins).toBe(40);
    expect(computeFbank(x).numBins).toBe(80);
  });
});

describe("computeMfcc", () => {
  it("matches the NumPy reference (Kaldi MFCC: scipy ortho DCT-II, lifter 22, c0 = raw log energy)", () => {
    const m = computeMfcc(refSignal(1600));
    expect(m).toMatchObject({ numFrames: 8, numBins: 13 });
    const ref0 = [24.051794, -22.209296, -10.610697, 10.590442, -41.488334, -65.272227, -15.026256, -83.028427, -94.227944, 36.078285, 41.537832, 7.741078, 35.173106];
    const ref4 = [24.05783, -21.920436, -10.18917, 10.964869, -40.992057, -64.673433, -14.510091, -82.23594, -93.187884, 36.999602, 42.632645, 8.893027, 35.954429];
    ref0.forEach((v, c) => expect(m.data[c]).toBeCloseTo(v, 3));
    ref4.forEach((v, c) => expect(m.data[4 * 13 + c]).toBeCloseTo(v, 3));
  });

  it("c0 is the raw log energy of the DC-removed frame (before pre-emphasis and window)", () => {
    const x = sine(500, 0.25, 800);
    const m = computeMfcc(x);
    let mean = 0;
    for (let i = 0; i < 400; i++) mean += x[i] * 32768;
    mean /= 400;
    let e = 0;
    for (let i = 0; i < 400; i++) e += (x[i] * 32768 - mean) ** 2;
    expect(m.data[0]).toBeCloseTo(Math.log(e), 5);
  });

  it("DC input: c0 = log(eps) and all cepstra 0 (flat floored log-mel spectrum)", () => {
    const m = computeMfcc(new Float32Array(800).fill(-0.2));
    expect(m.data[0]).toBeCloseTo(LOG_EPS, 5);
    for (let c = 1; c < 13; c++) expect(m.data[c]).toBeCloseTo(0, 5);
  });

  it("gain changes only c0: scaling by 2 adds ln 4 to c0 and leaves c1..c12", () => {
    const x = noise(4000, 11);
    const a = computeMfcc(x);
    const b = computeMfcc(x.map((v) => 2 * v));
    for (let t = 0; t < a.numFrames; t++) {
      expect(b.data[t * 13] - a.data[t * 13]).toBeCloseTo(Math.log(4), 4);
      for (let c = 1; c < 13; c++) expect(b.data[t * 13 + c]).toBeCloseTo(a.data[t * 13 + c], 3);
    }
  });

  it("with deltas: 39 dims matching the NumPy reference", () => {
    const m = mfccWithDeltas(refSignal(1600));
    expect(m).toMatchObject({ numFrames: 8, numBins: 39 });
    const cols = [0, 13, 14, 26, 27, 38];
    const ref0 = [24.051794, 0.000638, 0.262711, 0.000397, 0.019917, 0.057393];
    const ref7 = [24.059347, 0.000086, 0.150934, -0.000123, -0.034613, -0.062063];
    cols.forEach((c, j) => {
      expect(m.data[c]).toBeCloseTo(ref0[j], 3);
      expect(m.data[7 * 39 + c]).toBeCloseTo(ref7[j], 3);
    });
  });

  it("energyFloor clamps c0 in the log domain", () => {
    const m = computeMfcc(new Float32Array(800).fill(0.1), { energyFloor: 1 });
    expect(m.data[0]).toBe(0);
  });
});
