import { describe, expect, it } from "vitest";
import {
  convolveCausal,
  convolveHrfColumns,
  firDelays,
  gammaPdf,
  hrfKernel,
  hrfKernelAtTr,
  hrfValue,
  logGamma,
} from "../src/brain/hrf.js";

describe("logGamma (Lanczos approximation)", () => {
  it("matches scipy.special.gammaln", () => {
    // Reference values: python3 -c "from scipy.special import gammaln; print(gammaln(x))" (scipy 1.17).
    const cases: [number, number][] = [
      [0.1, 2.252712651734206],
      [0.5, 0.5723649429247],
      [1.5, -0.12078223763524526],
      [6.666666666666667, 5.9636691242825925],
      [13.333333333333334, 20.8336159864266],
      [16, 27.899271383840894],
      [100.5, 361.43554046777757],
    ];
    for (const [x, expected] of cases) expect(logGamma(x)).toBeCloseTo(expected, 11);
  });

  it("gives ln((n-1)!) at integers", () => {
    expect(Math.exp(logGamma(6))).toBeCloseTo(120, 9);
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(2)).toBeCloseTo(0, 13);
  });

  it("gammaPdf integrates to 1", () => {
    let sum = 0;
    const dt = 0.001;
    for (let t = dt / 2; t < 60; t += dt) sum += gammaPdf(t, 6 / 0.9, 0.9) * dt;
    expect(sum).toBeCloseTo(1, 6);
  });
});

describe("hrfValue", () => {
  it("SPM at t = 5 s equals the hand-computed gamma difference", () => {
    // 5^5 e^-5 / 5! - (1/6-ish 0.167) * 5^15 e^-5 / 15!
    const peak = (5 ** 5 * Math.exp(-5)) / 120;
    const under = (5 ** 15 * Math.exp(-5)) / 1307674368000;
    expect(hrfValue(5, "spm")).toBeCloseTo(peak - 0.167 * under, 14);
  });

  it("matches scipy's gamma.pdf difference for SPM and Glover", () => {
    // Reference: gamma.pdf(t, d/di, scale=di) - r*gamma.pdf(t, u/ud, scale=ud) with nilearn's parameters.
    const cases: [number, number, number][] = [
      [1, 0.003065662009715039, 0.001708094025216675],
      [5, 0.17544110978031907, 0.18046548189203396],
      [6, 0.16047430136910185, 0.1607294315891238],
      [10, 0.032035357173746525, -0.02040266299801436],
      [15, -0.015171001611051544, -0.030997146386014765],
      [20, -0.008570394443205249, -0.004322428802948592],
    ];
    for (const [t, spm, glover] of cases) {
      expect(hrfValue(t, "spm")).toBeCloseTo(spm, 12);
      expect(hrfValue(t, "glover")).toBeCloseTo(glover, 12);
    }
  });

  it("is zero at and before the impulse", () => {
    expect(hrfValue(0)).toBe(0);
    expect(hrfValue(-3, "glover")).toBe(0);
  });
});

describe("hrfKernel (nilearn spm_hrf / glover_hrf)", () => {
  it("reproduces nilearn's kernel at TR 2, oversampling 50", () => {
    // Reference: nilearn's _gamma_difference_hrf re-typed in numpy/scipy (linspace grid, loc=dt).
    const k = hrfKernel(2);
    expect(k.length).toBe(800);
    expect(k[0]).toBe(0);
    expect(k[100]).toBeCloseTo(0.0074464883778278135, 13);
    expect(k[125]).toBeCloseTo(0.008433076873649687, 13);
    expect(k[375]).toBeCloseTo(-0.0007279755526142583, 13);
    const g = hrfKernel(2, { model: "glover" });
    expect(g[100]).toBeCloseTo(0.011938955100607529, 13);
    expect(g[375]).toBeCloseTo(-0.0024010026197521465, 13);
    const o = hrfKernel(1.5, { oversampling: 10, onset: 1 });
    expect(o.length).toBe(213);
    expect(o[50]).toBeCloseTo(0.026903183958639273, 13);
  });

  it("sums to 1, peaks near 5 s and undershoots near 15 s", () => {
    for (const model of ["spm", "glover"] as const) {
      const k = hrfKernel(2, { model });
      const step = 32 / (k.length - 1);
      expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      let argmax = 0;
      for (let i = 1; i < k.length; i++) if (k[i] > k[argmax]) argmax = i;
      expect(argmax * step).toBeGreaterThan(4.5);
      expect(argmax * step).toBeLessThan(5.5);
      expect(k[Math.round(15 / step)]).toBeLessThan(0);
    }
  });

  it("hrfKernelAtTr samples the HRF at k*TR and sums to 1", () => {
    const k = hrfKernelAtTr(2);
    expect(k.length).toBe(16);
    const raw = Array.from({ length: 16 }, (_, i) => hrfValue(2 * i));
    const total = raw.reduce((a, b) => a + b, 0);
    for (let i = 0; i < 16; i++) expect(k[i]).toBeCloseTo(raw[i] / total, 14);
  });
});

describe("convolution and FIR", () => {
  it("convolveCausal matches a hand-worked example", () => {
    expect(Array.from(convolveCausal([1, 2, 3, 4], [1, 0.5]))).toEqual([1, 2.5, 4, 5.5]);
    expect(Array.from(convolveCausal([0, 1, 0, 0, 0], [3, 2, 1]))).toEqual([0, 3, 2, 1, 0]);
  });

  it("convolveHrfColumns convolves each column independently", () => {
    const rows = 30;
    const x = new Float64Array(rows * 2);
    x[5 * 2 + 0] = 1; // impulse at row 5 in column 0
    for (let i = 0; i < rows; i++) x[i * 2 + 1] = 2; // constant column 1
    const y = convolveHrfColumns(x, rows, 2, 2);
    const k = hrfKernelAtTr(2);
    for (let i = 0; i < rows; i++) {
      expect(y[i * 2]).toBeCloseTo(i >= 5 && i - 5 < k.length ? k[i - 5] : 0, 14);
    }
    // After the kernel has filled up (16 TRs), a constant stays a constant because the kernel sums to 1.
    expect(y[20 * 2 + 1]).toBeCloseTo(2, 12);
  });

  it("firDelays shifts each block down with zeros on top", () => {
    // x = [[1,2],[3,4],[5,6]]
    const x = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const y = firDelays(x, 3, 2, [0, 1, 2]);
    expect(Array.from(y)).toEqual([1, 2, 0, 0, 0, 0, 3, 4, 1, 2, 0, 0, 5, 6, 3, 4, 1, 2]);
    expect(() => firDelays(x, 3, 2, [-1])).toThrow(/non-negative/);
  });
});
