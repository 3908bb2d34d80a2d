import { describe, expect, it } from "vitest";
import { PowerSpectrum, nextPowerOfTwo, powerSpectrum } from "../src/dsp/fft.js";
import { windowFunction } from "../src/dsp/window.js";
import { applyMelFilterbank, inverseMelScale, melFilterbank, melFilterbankMatrix, melScale } from "../src/dsp/mel.js";
import { dct2, dctMatrix, lifterCoefficients } from "../src/dsp/dct.js";
import { appendDeltas, deltaScales } from "../src/dsp/deltas.js";

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tol) {
      throw new Error(`index ${i}: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}

describe("power spectrum (fft.js real FFT)", () => {
  it("matches a hand-computed 4-point DFT", () => {
    // X0 = 1+2+3+4 = 10; X1 = 1 - 2i - 3 + 4i = -2+2i -> 8; X2 = 1-2+3-4 = -2 -> 4
    expectClose(powerSpectrum([1, 2, 3, 4], 4), [100, 8, 4]);
  });

  it("zero-pads: an impulse has a flat spectrum, a constant puts everything in bin 0", () => {
    expectClose(powerSpectrum([1], 16), new Array(9).fill(1));
    const dc = powerSpectrum(new Array(8).fill(0.5), 8);
    expectClose(dc, [16, 0, 0, 0, 0], 1e-12);
  });

  it("puts a bin-centred cosine in its bin with power (A N / 2)^2", () => {
    const n = 512;
    const k = 37;
    const x = Float64Array.from({ length: n }, (_, i) => 0.25 * Math.cos((2 * Math.PI * k * i) / n));
    const p = new PowerSpectrum(n).compute(x);
    expect(p.length).toBe(257);
    expect(p[k]).toBeCloseTo((0.25 * n / 2) ** 2, 6);
    let rest = 0;
    p.forEach((v, i) => (rest += i === k ? 0 : v));
    expect(rest).toBeLessThan(1e-12);
  });

  it("satisfies Parseval on random data and reuses its buffers safely", () => {
    const ps = new PowerSpectrum(64);
    for (let trial = 0; trial < 3; trial++) {
      const x = Float64Array.from({ length: 50 }, (_, i) => Math.sin(i * 1.7 + trial) + 0.1 * trial);
      const p = ps.compute(x);
      // full-spectrum energy = 2*sum(half) - p0 - p[N/2]
      const full = 2 * p.reduce((a, b) => a + b, 0) - p[0] - p[32];
      const timeEnergy = x.reduce((a, b) => a + b * b, 0);
      expect(full).toBeCloseTo(64 * timeEnergy, 8);
    }
  });

  it("rejects non-power-of-two sizes; nextPowerOfTwo", () => {
    expect(() => new PowerSpectrum(400)).toThrow(/power of two/);
    expect(nextPowerOfTwo(400)).toBe(512);
    expect(nextPowerOfTwo(512)).toBe(512);
    expect(nextPowerOfTwo(1)).toBe(1);
  });
});

describe("windows (Kaldi symmetric)", () => {
  it("hann, hamming, povey of length 5", () => {
    expectClose(windowFunction("hann", 5), [0, 0.5, 1, 0.5, 0], 1e-15);
    expectClose(windowFunction("hamming", 5), [0.08, 0.54, 1, 0.54, 0.08], 1e-15);
    const p = 0.5 ** 0.85; // 0.554784...
    expectClose(windowFunction("povey", 5), [0, p, 1, p, 0], 1e-15);
    expect(p).toBeCloseTo(0.5547847, 6);
  });

  it("povey of 400 is symmetric, zero at the ends, peak near the middle", () => {
    const w = windowFunction("povey", 400);
    expect(w[0]).toBe(0);
    expect(w[399]).toBeCloseTo(0, 15);
    for (let i = 0; i < 200; i++) expect(w[i]).toBeCloseTo(w[399 - i], 12);
    // (0.5 - 0.5 cos(2 pi 199/399))^0.85, hand-evaluated
    expect(w[199]).toBeCloseTo(Math.pow(0.5 - 0.5 * Math.cos((2 * Math.PI * 199) / 399), 0.85), 15);
    expect(w[199]).toBeGreaterThan(0.99998);
  });
});

describe("mel scale and filterbank", () => {
  it("mel scale values", () => {
    expect(melScale(0)).toBe(0);
    expect(melScale(700)).toBeCloseTo(1127 * Math.LN2, 10); // 781.17687
    expect(melScale(700)).toBeCloseTo(781.17687, 4);
    expect(melScale(1000)).toBeCloseTo(999.99070, 4);
    expect(inverseMelScale(melScale(1234.5))).toBeCloseTo(1234.5, 9);
  });

  it("3-bin bank on an 8-point FFT at 16 kHz matches hand computation", () => {
    // FFT bin centres 0, 2000, 4000, 6000 Hz -> mel 0, 1521.367, 2146.076, 2545.648; high edge
    // mel(8000) = 2840.038, delta = 710.009. Bin 0 spans (0, 1420.02): no FFT bin strictly inside.
    // Bin 1 (710.0, 1420.0, 2130.03): 2000 Hz on the falling edge -> (2130.028-1521.367)/710.009.
    // Bin 2 (1420.0, 2130.0, 2840.04): rising 0.142743, falling 0.977398 and 0.414628.
    const bank = melFilterbank({ numBins: 3, fftSize: 8, sampleRate: 16000, lowFreq: 0 });
    expect(bank.spectrumSize).toBe(5);
    const m = melFilterbankMatrix(bank);
    expectClose(m, [0, 0, 0, 0, 0, 0, 0.857257, 0, 0, 0, 0, 0.142743, 0.977398, 0.414628, 0], 1e-6);
    expectClose(bank.centerFreqs, [1, 2, 3].map((k) => inverseMelScale((k * melScale(8000)) / 4)), 1e-9);
  });

  it("80-bin Kaldi bank: triangles form a partition of unity between the outer centres", () => {
    const bank = melFilterbank({ numBins: 80, fftSize: 512, sampleRate: 16000 });
    const m = melFilterbankMatrix(bank);
    const lo = bank.centerFreqs[0];
    const hi = bank.centerFreqs[79];
    for (let k = 0; k < 257; k++) {
      let col = 0;
      for (let b = 0; b < 80; b++) col += m[b * 257 + k];
      const f = (k * 16000) / 512;
      if (f >= lo && f <= hi) expect(col).toBeCloseTo(1, 9);
      if (f < 20 || k === 256) expect(col).toBe(0); // below low_freq and the Nyquist bin get no weight
    }
    // weights never exceed 1 and each filter is non-empty at this resolution
    for (const f of bank.filters) {
      expect(f.weights.length).toBeGreaterThan(0);
      expect(Math.max(...f.weights)).toBeLessThanOrEqual(1);
    }
  });

  it("applyMelFilterbank is the dense matrix-vector product", () => {
    const bank = melFilterbank({ numBins: 23, fftSize: 512, sampleRate: 16000 });
    const spec = Float64Array.from({ length: 257 }, (_, i) => 1 + Math.sin(i));
    const dense = melFilterbankMatrix(bank);
    const got = applyMelFilterbank(bank, spec);
    for (let b = 0; b < 23; b++) {
      let s = 0;
      for (let k = 0; k < 257; k++) s += dense[b * 257 + k] * spec[k];
      expect(got[b]).toBeCloseTo(s, 10);
    }
  });
});

describe("DCT-II (orthonormal) and lifter", () => {
  it("dct of [1,2,3,4] matches the closed form (scipy norm='ortho' gives the same)", () => {
    // c0 = 10/2 = 5; c1 = sqrt(1/2) sum x_n cos(pi (n+.5)/4) = -2.2304425; c2 = 0; c3 = -0.1585127
    expectClose(dct2([1, 2, 3, 4]), [5, -2.2304425, 0, -0.1585127], 1e-7);
  });

  it("is orthonormal and maps a constant to c0 only", () => {
    const n = 23;
    const m = dctMatrix(n, n);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += m[a * n + k] * m[b * n + k];
        expect(s).toBeCloseTo(a === b ? 1 : 0, 12);
      }
    }
    const c = dct2(new Array(23).fill(2), 13);
    expect(c[0]).toBeCloseTo(2 * Math.sqrt(23), 12);
    for (let k = 1; k < 13; k++) expect(c[k]).toBeCloseTo(0, 12);
  });

  it("lifter Q=22: 1 + 11 sin(pi i / 22)", () => {
    const l = lifterCoefficients(13, 22);
    expect(l[0]).toBe(1);
    expect(l[1]).toBeCloseTo(2.5654632, 7);
    expect(l[11]).toBeCloseTo(12, 12);
    expect(l[12]).toBeCloseTo(l[10], 12);
    expectClose(lifterCoefficients(3, 0), [1, 1, 1]);
  });
});

describe("deltas (Kaldi compute-deltas, window 2)", () => {
  it("scales: [-2..2]/10 and its self-convolution /100", () => {
    const [s0, s1, s2] = deltaScales(2, 2);
    expectClose(s0, [1]);
    expectClose(s1, [-0.2, -0.1, 0, 0.1, 0.2], 1e-15);
    expectClose(s2, [0.04, 0.04, 0.01, -0.04, -0.1, -0.04, 0.01, 0.04, 0.04], 1e-15);
  });

  it("ramp: delta 1 inside, 0.5 at the replicated edges; quadratic: delta-delta 2 inside", () => {
    const T = 12;
    const feats = new Float32Array(T * 2);
    for (let t = 0; t < T; t++) {
      feats[2 * t] = t;
      feats[2 * t + 1] = t * t;
    }
    const out = appendDeltas(feats, T, 2);
    expect(out.length).toBe(T * 6);
    const at = (t: number, j: number): number => out[t * 6 + j];
    // layout per frame: [x, x^2, d(x), d(x^2), dd(x), dd(x^2)]
    expect(at(0, 0)).toBe(0);
    expect(at(5, 1)).toBe(25);
    for (let t = 2; t < T - 2; t++) expect(at(t, 2)).toBeCloseTo(1, 6);
    // t = 0 with replicated frame 0: (-2*0 - 1*0 + 0 + 1*1 + 2*2) / 10 = 0.5
    expect(at(0, 2)).toBeCloseTo(0.5, 6);
    expect(at(T - 1, 2)).toBeCloseTo(0.5, 6);
    // d(t^2)/dt regression = 2t inside
    for (let t = 2; t < T - 2; t++) expect(at(t, 3)).toBeCloseTo(2 * t, 5);
    // second-order taps applied to t^2: sum c_m m^2 = 200/100 = 2; to t: 0
    for (let t = 4; t < T - 4; t++) {
      expect(at(t, 4)).toBeCloseTo(0, 6);
      expect(at(t, 5)).toBeCloseTo(2, 5);
    }
  });

  it("handles 0 and 1 frames", () => {
    expect(appendDeltas(new Float32Array(0), 0, 13).length).toBe(0);
    const one = appendDeltas(Float32Array.of(3, 4), 1, 2);
    expectClose(one, [3, 4, 0, 0, 0, 0], 1e-12);
  });
});
