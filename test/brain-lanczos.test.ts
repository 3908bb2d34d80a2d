import { describe, expect, it } from "vitest";
import { lanczosKernel, lanczosResample } from "../src/brain/lanczos.js";

describe("lanczosResample (Huth lab lanczosinterp2D)", () => {
  it("matches the Huth-lab formula re-typed in numpy", () => {
    // Reference: lanczosfun/lanczosinterp2D from HuthLab ridge_utils/interpdata.py re-typed in numpy,
    // old = arange(40)*0.25, data = [sin(0.7 t) + 0.1 t, cos(1.3 t)^2], new = [1, 2.5, 4, 5.5, 7].
    const rows = 40;
    const old = Float64Array.from({ length: rows }, (_, j) => j * 0.25);
    const data = new Float64Array(rows * 2);
    for (let j = 0; j < rows; j++) {
      data[j * 2] = Math.sin(old[j] * 0.7) + 0.1 * old[j];
      data[j * 2 + 1] = Math.cos(old[j] * 1.3) ** 2;
    }
    const newTimes = [1, 2.5, 4, 5.5, 7];
    const expected = [
      [4.20309063, 2.49978812],
      [7.49965785, 3.39620007],
      [4.41473417, 2.76987991],
      [-0.63524816, 2.92807354],
      [-1.92711765, 3.27954831],
    ];
    const out = lanczosResample(data, rows, 2, old, newTimes);
    expected.forEach((row, i) => row.forEach((v, c) => expect(out[i * 2 + c]).toBeCloseTo(v, 7)));
    const expected2 = [
      [5.30552463, 3.36304695],
      [9.06925344, 3.98639866],
      [5.48821219, 3.72791279],
      [-0.61027627, 3.76971645],
      [-1.79035672, 3.91842378],
    ];
    const out2 = lanczosResample(data, rows, 2, old, newTimes, { window: 2, cutoffMult: 0.8 });
    expected2.forEach((row, i) => row.forEach((v, c) => expect(out2[i * 2 + c]).toBeCloseTo(v, 7)));
  });

  it("kernel: 1 at 0, zero at multiples of 1/cutoff, zero beyond the window", () => {
    expect(lanczosKernel(0, 0.5)).toBe(1);
    expect(lanczosKernel(2, 0.5)).toBeCloseTo(0, 14);
    expect(lanczosKernel(4, 0.5)).toBeCloseTo(0, 14);
    expect(lanczosKernel(6.01, 0.5)).toBe(0);
    // Hand value: t*c = 0.5 -> 3 sin(pi/2) sin(pi/6) / (pi/2)^2 = 1.5 / (pi^2/4) = 6/pi^2
    expect(lanczosKernel(1, 0.5)).toBeCloseTo(6 / Math.PI ** 2, 14);
  });

  it("recovers a slow sine resampled from 50 Hz to a 0.5 Hz grid", () => {
    const rate = 50;
    const seconds = 200;
    const rows = rate * seconds;
    const old = Float64Array.from({ length: rows }, (_, j) => j / rate);
    const f = 0.05; // Hz, well below the new grid's Nyquist of 0.25 Hz
    const data = Float64Array.from(old, (t) => Math.sin(2 * Math.PI * f * t));
    const newTimes = Float64Array.from({ length: 100 }, (_, k) => k * 2);
    const out = lanczosResample(data, rows, 1, old, newTimes, { normalise: true });
    // Away from the edges (3 TRs) the normalised resampling is the sine itself, up to the passband
    // attenuation of the windowed sinc at 0.05 Hz (under 1%).
    for (let k = 4; k < 96; k++) expect(Math.abs(out[k] - Math.sin(2 * Math.PI * f * newTimes[k]))).toBeLessThan(0.02);
  });

  it("maps a constant to new spacing / old spacing times it (un-normalised) or to itself (normalised)", () => {
    const rate = 50;
    const rows = rate * 60;
    const old = Float64Array.from({ length: rows }, (_, j) => j / rate);
    const data = new Float32Array(rows).fill(3);
    const newTimes = Float64Array.from({ length: 30 }, (_, k) => k * 2);
    const raw = lanczosResample(data, rows, 1, old, newTimes);
    const norm = lanczosResample(data, rows, 1, old, newTimes, { normalise: true });
    for (let k = 4; k < 26; k++) {
      expect(raw[k] / 3).toBeGreaterThan(100 * 0.99);
      expect(raw[k] / 3).toBeLessThan(100 * 1.01);
    }
    for (let k = 0; k < 30; k++) expect(norm[k]).toBeCloseTo(3, 10);
  });
});
