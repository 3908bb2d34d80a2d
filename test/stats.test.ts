import { describe, expect, it } from "vitest";
import { equalErrorRate, errorRate, minDcf } from "../src/metrics.js";
import { Rng } from "../src/random.js";
import {
  accuracyDifference,
  binomialLogCdf,
  binomialLogPmf,
  editErrorCounts,
  eerDifference,
  erfc,
  errorRateDifference,
  holmAdjust,
  mapsswe,
  mcnemar,
  mcnemarFromCounts,
  minDcfDifference,
  normalCdf,
  pairedBootstrap,
  seedSpread,
  twoSidedNormalP,
  verdict,
} from "../src/stats/index.js";

const relErr = (got: number, want: number): number => Math.abs(got - want) / Math.abs(want);

/** Exact ln P(X <= k), X ~ Binomial(n, 1/2), by BigInt: ln Σ C(n, i) - n ln 2, an independent check. */
function exactHalfLogCdf(k: number, n: number): number {
  let c = 1n;
  let sum = 0n;
  for (let i = 0; i <= k; i++) {
    sum += c;
    c = (c * BigInt(n - i)) / BigInt(i + 1);
  }
  // Keep the top 64 bits as a double mantissa; the shifted-out bits are below double precision.
  const drop = Math.max(0, sum.toString(2).length - 64);
  return Math.log(Number(sum >> BigInt(drop))) + (drop - n) * Math.LN2;
}

describe("normal distribution", () => {
  it("matches reference values of Φ to the ~1e-7 relative accuracy of erfcc", () => {
    // References: scipy.stats.norm.cdf / mpmath.ncdf (40 digits).
    const cases: [number, number][] = [
      [1.96, 0.9750021048517795],
      [0, 0.5],
      [1, 0.8413447460685429],
      [0.5, 0.6914624612740131],
      [-1.2345, 0.10850832336267019],
      [-3, 0.0013498980316300945],
      [-8, 6.2209605742717841e-16],
    ];
    for (const [x, want] of cases) expect(relErr(normalCdf(x), want)).toBeLessThan(1.2e-7);
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(twoSidedNormalP(1.96)).toBeCloseTo(0.0499957902964409, 7);
    expect(twoSidedNormalP(-1.96)).toBe(twoSidedNormalP(1.96));
  });
});

describe("binomial distribution", () => {
  it("log pmf matches mpmath (40 digits) where lgamma differences would lose digits", () => {
    expect(relErr(binomialLogPmf(499000, 1e6, 0.5), -9.1335462149596644836)).toBeLessThan(1e-12);
    expect(relErr(binomialLogPmf(333, 1000, 0.3), -6.1630812707709254299)).toBeLessThan(1e-12);
    expect(binomialLogPmf(0, 10, 0.5)).toBeCloseTo(10 * Math.log(0.5), 14);
    expect(binomialLogPmf(11, 10, 0.5)).toBe(-Infinity);
  });

  it("log cdf equals the direct sum of pmf terms on both sides of the mean", () => {
    for (const p of [0.5, 0.3, 0.85]) {
      let cum = 0;
      for (let k = 0; k <= 50; k++) {
        cum += Math.exp(binomialLogPmf(k, 50, p));
        const got = Math.exp(binomialLogCdf(k, 50, p));
        expect(Math.abs(got - Math.min(cum, 1))).toBeLessThan(1e-13);
      }
    }
  });

  it("log cdf at p = 1/2 agrees with exact BigInt rational sums (n = 2000)", () => {
    for (const k of [0, 1, 10, 500, 900, 955, 999]) {
      expect(relErr(binomialLogCdf(k, 2000, 0.5), exactHalfLogCdf(k, 2000))).toBeLessThan(1e-13);
    }
  });

  it("log cdf stays finite in tails that underflow a double (n = 1e6)", () => {
    // ln(2 · P(X <= 400000)), X ~ Bin(1e6, 1/2): mpmath, 40 digits, direct summation.
    expect(relErr(binomialLogCdf(400000, 1e6, 0.5) + Math.LN2, -20140.83494711660115)).toBeLessThan(1e-12);
  });
});

describe("mcnemar", () => {
  it("hand-computed exact p-values", () => {
    // n01=1, n10=6: 2 · (C(7,0) + C(7,1)) / 2^7 = 2 · 8/128.
    expect(mcnemarFromCounts(1, 6).pValue).toBeCloseTo(0.125, 15);
    // n01=0, n10=5: 2 · 1/32.
    expect(mcnemarFromCounts(0, 5).pValue).toBeCloseTo(0.0625, 15);
    expect(mcnemarFromCounts(6, 1).pValue).toBeCloseTo(0.125, 15);
    // Equal counts: the doubled tail exceeds 1, clamped.
    expect(mcnemarFromCounts(4, 4).pValue).toBe(1);
    expect(mcnemarFromCounts(0, 0)).toEqual({ n01: 0, n10: 0, pValue: 1, midPValue: 1 });
  });

  it("published example: Bentur et al. AHR data in Fagerland, Lydersen & Laake (2013)", () => {
    // BMC Med Res Methodol 13:91, Table 1: discordant pairs 1 and 7; exact conditional p = 0.070,
    // mid-p = 0.039. Exactly: 2 · (1 + 8)/256 = 0.0703125 and 0.0703125 - 8/256 = 0.0390625.
    const r = mcnemarFromCounts(1, 7);
    expect(r.pValue).toBeCloseTo(0.0703125, 14);
    expect(r.midPValue).toBeCloseTo(0.0390625, 14);
    expect(r.pValue.toFixed(3)).toBe("0.070");
    expect(r.midPValue.toFixed(3)).toBe("0.039");
  });

  it("published example: Armitage & Berry (1994, p. 127), two culture media, via StatsDirect", () => {
    // Discordant 12 vs 2; StatsDirect reports exact two-sided P = 0.0129.
    // Exactly 2 · (1 + 14 + 91)/2^14 = 212/16384 = 0.012939453125.
    const r = mcnemarFromCounts(12, 2);
    expect(r.pValue).toBeCloseTo(212 / 16384, 14);
    expect(r.pValue.toFixed(4)).toBe("0.0129");
  });

  it("large n matches high-precision references", () => {
    // mpmath (40 digits): 2 · P(X <= 499000), X ~ Bin(1e6, 1/2).
    expect(relErr(mcnemarFromCounts(499000, 501000).pValue, 0.04560829986538208642)).toBeLessThan(1e-9);
    // scipy.stats.binomtest(4990, 10000).pvalue.
    expect(relErr(mcnemarFromCounts(4990, 5010).pValue, 0.849310326637318)).toBeLessThan(1e-10);
    // scipy: 2 · binom.cdf(59, 180, 0.5).
    expect(relErr(mcnemarFromCounts(121, 59).pValue, 4.4344492637551645e-6)).toBeLessThan(1e-10);
    expect(mcnemarFromCounts(400000, 600000).pValue).toBe(0); // e^-20141 underflows, correctly
  });

  it("counts discordant items from correctness flags", () => {
    const a = [true, true, false, false, true, false];
    const b = [true, false, true, true, true, false];
    const r = mcnemar(a, b);
    expect([r.n01, r.n10]).toEqual([1, 2]);
    expect(r.pValue).toBe(1); // 2 · (1 + 3)/8 = 1
    expect(() => mcnemar([true], [true, false])).toThrow(/flags/);
    expect(() => mcnemarFromCounts(-1, 2)).toThrow(/non-negative/);
  });
});

describe("pairedBootstrap", () => {
  it("a constant statistic collapses the interval onto that constant", () => {
    const R = 999;
    const r = pairedBootstrap({ numItems: 50, statistic: () => 3.5, resamples: R, seed: 1 });
    expect(r.difference).toBe(3.5);
    expect(r.ci).toEqual([3.5, 3.5]);
    // No resample is <= 0: p = 2 · (0 + 1)/(R + 1).
    expect(r.pValue).toBeCloseTo(2 / (R + 1), 15);
  });

  it("a system compared with itself: difference 0, ci [0, 0], p = 1", () => {
    const rng = new Rng(3);
    const flags = Array.from({ length: 200 }, () => rng.chance(0.7));
    const r = pairedBootstrap({ numItems: 200, statistic: accuracyDifference(flags, flags), resamples: 500, seed: 2 });
    expect(r).toMatchObject({ difference: 0, ci: [0, 0], pValue: 1 });
  });

  it("B right on every item A misses: interval near the Binomial(100, 0.2) quantiles, excludes 0", () => {
    // A wrong on 20 of 100 items, B right everywhere: on a resample, B - A = #(A-wrong items drawn)
    // percentage points ~ Binomial(100, 0.2): mean 20, 2.5 % / 97.5 % quantiles 12 and 28
    // (P(X <= 11) = 0.013, P(X <= 12) = 0.025, P(X <= 27) = 0.966, P(X <= 28) = 0.980).
    const a = Array.from({ length: 100 }, (_, i) => i >= 20);
    const b = a.map(() => true);
    const R = 4000;
    const r = pairedBootstrap({ numItems: 100, statistic: accuracyDifference(a, b), resamples: R, seed: 7 });
    expect(r.difference).toBeCloseTo(20, 12);
    expect(r.ci[0]).toBeGreaterThanOrEqual(11);
    expect(r.ci[0]).toBeLessThanOrEqual(13);
    expect(r.ci[1]).toBeGreaterThanOrEqual(27);
    expect(r.ci[1]).toBeLessThanOrEqual(29);
    // P(no A-wrong item drawn) = 0.8^100 ≈ 2e-10, so every resample is > 0.
    expect(r.pValue).toBeCloseTo(2 / (R + 1), 15);
  });

  it("mean of a 0/1 variable: percentile interval ≈ normal approximation", () => {
    // 300 ones in 1000 items. Normal: 0.3 ± 1.96 · sqrt(0.3 · 0.7 / 1000) = 0.3 ± 0.02840.
    // Tolerance 0.002 (7 % of the half-width) covers: Monte Carlo sd of a 2.5 % quantile with
    // R = 20000, sqrt(q(1-q)/R)/density ≈ 2.7e-4; the 0.001 lattice of the resampled mean; and
    // the skewness of Binomial(1000, 0.3) (Cornish-Fisher shift ≈ 2e-4).
    const x = Uint8Array.from({ length: 1000 }, (_, i) => (i % 10 < 3 ? 1 : 0));
    const mean = (idx: Int32Array): number => {
      let s = 0;
      for (let k = 0; k < idx.length; k++) s += x[idx[k]];
      return s / idx.length;
    };
    const r = pairedBootstrap({ numItems: 1000, statistic: mean, resamples: 20000, seed: 11 });
    const half = 1.959963984540054 * Math.sqrt((0.3 * 0.7) / 1000);
    expect(r.difference).toBeCloseTo(0.3, 12);
    expect(Math.abs(r.ci[0] - (0.3 - half))).toBeLessThan(0.002);
    expect(Math.abs(r.ci[1] - (0.3 + half))).toBeLessThan(0.002);
  });

  it("level is configurable: a 50 % interval is inside the 95 % one", () => {
    const rng = new Rng(5);
    const a = Array.from({ length: 300 }, () => rng.chance(0.6));
    const b = Array.from({ length: 300 }, () => rng.chance(0.65));
    const s = accuracyDifference(a, b);
    const wide = pairedBootstrap({ numItems: 300, statistic: s, resamples: 2000, seed: 9 });
    const narrow = pairedBootstrap({ numItems: 300, statistic: s, resamples: 2000, seed: 9, level: 0.5 });
    expect(narrow.ci[0]).toBeGreaterThan(wide.ci[0]);
    expect(narrow.ci[1]).toBeLessThan(wide.ci[1]);
  });

  it("is deterministic from the seed and keeps samples on request", () => {
    const rng = new Rng(8);
    const a = Array.from({ length: 100 }, () => rng.chance(0.5));
    const b = Array.from({ length: 100 }, () => rng.chance(0.5));
    const opts = { numItems: 100, statistic: accuracyDifference(a, b), resamples: 300, keepSamples: true };
    const r1 = pairedBootstrap({ ...opts, seed: 42 });
    const r2 = pairedBootstrap({ ...opts, seed: 42 });
    const r3 = pairedBootstrap({ ...opts, seed: 43 });
    expect(r1).toEqual(r2);
    expect(r1.samples?.length).toBe(300);
    expect(r3.samples).not.toEqual(r1.samples);
    expect(pairedBootstrap({ ...opts, keepSamples: false, seed: 42 }).samples).toBeUndefined();
  });

  it("one group per item (in item order) draws exactly what plain resampling draws", () => {
    const rng = new Rng(12);
    const a = Array.from({ length: 150 }, () => rng.chance(0.6));
    const b = Array.from({ length: 150 }, () => rng.chance(0.7));
    const opts = { numItems: 150, statistic: accuracyDifference(a, b), resamples: 500, seed: 5, keepSamples: true };
    const plain = pairedBootstrap(opts);
    const grouped = pairedBootstrap({ ...opts, groups: Array.from({ length: 150 }, (_, i) => `spk${i}`) });
    expect(grouped).toEqual(plain);
  });

  it("grouped resampling of within-group-identical data widens the interval by ~√(group size)", () => {
    // 50 groups of 10 items; every item in a group has the same value (groups alternate 0/1).
    // Ungrouped sd = sqrt(0.25/500), grouped sd = sqrt(0.25/50): ratio √10 ≈ 3.16. Assert > 2.5
    // and < 4 (Monte Carlo error of a 95 % interval width at R = 5000 is a few percent).
    const groups = Array.from({ length: 500 }, (_, i) => Math.floor(i / 10));
    const x = Uint8Array.from(groups, (g) => g % 2);
    const mean = (idx: Int32Array): number => {
      let s = 0;
      for (let k = 0; k < idx.length; k++) s += x[idx[k]];
      return s / idx.length;
    };
    const base = { numItems: 500, statistic: mean, resamples: 5000, seed: 21 };
    const plain = pairedBootstrap(base);
    const clustered = pairedBootstrap({ ...base, groups });
    const wPlain = plain.ci[1] - plain.ci[0];
    const wClustered = clustered.ci[1] - clustered.ci[0];
    expect(wClustered).toBeGreaterThan(2.5 * wPlain);
    expect(wClustered).toBeLessThan(4 * wPlain);
  });

  it("grouped resampling handles unequal group sizes", () => {
    // Groups of sizes 1 and 5; the statistic sees variable-length resamples.
    const lengths: number[] = [];
    pairedBootstrap({
      numItems: 6,
      statistic: (idx) => (lengths.push(idx.length), 0),
      resamples: 200,
      seed: 3,
      groups: ["a", "b", "b", "b", "b", "b"],
    });
    expect(lengths[0]).toBe(6); // the full set
    expect(new Set(lengths.slice(1))).toEqual(new Set([2, 6, 10]));
  });

  it("rejects bad options and non-finite statistics", () => {
    expect(() => pairedBootstrap({ numItems: 0, statistic: () => 0, resamples: 10, seed: 1 })).toThrow(/numItems/);
    expect(() => pairedBootstrap({ numItems: 3, statistic: () => 0, resamples: 10, seed: 1, groups: [1] })).toThrow(/group ids/);
    expect(() => pairedBootstrap({ numItems: 3, statistic: () => 0, resamples: 10, seed: 1, level: 1 })).toThrow(/level/);
    let calls = 0;
    expect(() => pairedBootstrap({ numItems: 3, statistic: () => (calls++ === 0 ? 0 : NaN), resamples: 10, seed: 1 })).toThrow(/NaN/);
  });
});

describe("bootstrap statistics", () => {
  it("error-rate difference pools errors over the resample like metrics.ts errorRate", () => {
    const refs = ["the cat sat", "on the mat", "a b c d e", "hello"];
    const hypsA = ["the cat sit", "on mat", "a b x d e f", "yellow"];
    const hypsB = ["the cat sat", "on the mat", "a b c d", "hello"];
    const w = (t: string): string[] => t.split(" ");
    const ca = editErrorCounts(refs.map(w), hypsA.map(w));
    const cb = editErrorCounts(refs.map(w), hypsB.map(w));
    expect(Array.from(ca.errors)).toEqual([1, 1, 2, 1]);
    expect(Array.from(cb.errors)).toEqual([0, 0, 1, 0]);
    const s = errorRateDifference({ errorsA: ca.errors, errorsB: cb.errors, lengths: ca.lengths });
    const full = errorRate(refs.map(w), hypsB.map(w)) - errorRate(refs.map(w), hypsA.map(w));
    expect(s(Int32Array.from([0, 1, 2, 3]))).toBeCloseTo(full, 12); // 100 · (1 - 5)/12
    expect(full).toBeCloseTo(-100 / 3, 12);
    // Hand: items [2, 2, 3]: A errors 2+2+1 = 5, B errors 1+1+0 = 2, length 5+5+1 = 11.
    expect(s(Int32Array.from([2, 2, 3]))).toBeCloseTo((100 * (2 - 5)) / 11, 12);
  });

  it("EER / minDCF differences use metrics.ts on the resampled trials", () => {
    const rng = new Rng(31);
    const n = 400;
    const labels = Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1 : 0) as 0 | 1);
    // A: weakly separated; B: better separated, same trials.
    const scoresA = labels.map((l) => rng.normal(l * 1.0, 1));
    const scoresB = labels.map((l) => rng.normal(l * 3.0, 1));
    const trials = { scoresA, scoresB, labels };
    const eer = eerDifference(trials);
    const all = Int32Array.from({ length: n }, (_, i) => i);
    expect(eer(all)).toBeCloseTo(equalErrorRate(scoresB, labels).eer - equalErrorRate(scoresA, labels).eer, 12);
    const dcf = minDcfDifference(trials, { pTarget: 0.05 });
    expect(dcf(all)).toBeCloseTo(minDcf(scoresB, labels, { pTarget: 0.05 }).minDcf - minDcf(scoresA, labels, { pTarget: 0.05 }).minDcf, 12);

    // B is much better (EER ~7 % vs ~31 %): the interval lies below 0; group trials into "speakers".
    const groups = Array.from({ length: n }, (_, i) => Math.floor(i / 8));
    const r = pairedBootstrap({ numItems: n, statistic: eer, resamples: 300, seed: 4, groups });
    expect(r.ci[1]).toBeLessThan(0);
    expect(r.pValue).toBeCloseTo(2 / 301, 12);
    const self = pairedBootstrap({ numItems: n, statistic: eerDifference({ scoresA, scoresB: scoresA, labels }), resamples: 50, seed: 4 });
    expect(self).toMatchObject({ difference: 0, ci: [0, 0], pValue: 1 });
  });
});

describe("mapsswe", () => {
  it("hand-computed small case", () => {
    // z = eA - eB = [1, 2, 0, 3]: mean 1.5, sd = sqrt(5/3) = 1.290994, W = 1.5/(sd/2) = 2.323790;
    // p = 2(1 - Φ(2.32379)) = 0.0201367515503 (scipy.stats.norm.sf).
    const r = mapsswe([3, 5, 2, 4], [2, 3, 2, 1]);
    expect(r.meanDifference).toBe(1.5);
    expect(r.sd).toBeCloseTo(Math.sqrt(5 / 3), 14);
    expect(r.w).toBeCloseTo(2.32379000772445, 12);
    expect(relErr(r.pValue, 0.02013675155034634)).toBeLessThan(2e-7);
  });

  it("degenerate spreads", () => {
    expect(mapsswe([1, 2, 3], [1, 2, 3])).toMatchObject({ w: 0, pValue: 1 });
    expect(mapsswe([2, 3, 4], [1, 2, 3])).toMatchObject({ w: Infinity, pValue: 0 });
    expect(() => mapsswe([1], [1])).toThrow(/at least 2/);
  });
});

describe("holmAdjust", () => {
  it("hand-computed case", () => {
    // Sorted 0.005, 0.01, 0.03, 0.04 -> ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.06.
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    const want = [0.03, 0.06, 0.06, 0.02];
    adj.forEach((p, i) => expect(p).toBeCloseTo(want[i], 15));
  });

  it("caps at 1, keeps ties and empty input", () => {
    expect(holmAdjust([0.5, 0.5, 0.9])).toEqual([1, 1, 1]);
    expect(holmAdjust([0.02, 0.02])).toEqual([0.04, 0.04]);
    expect(holmAdjust([])).toEqual([]);
    expect(() => holmAdjust([0.1, 1.2])).toThrow(/\[0, 1\]/);
  });
});

describe("verdict", () => {
  const base = { pAdjusted: 0.001, margin: 0 };
  it("better, on either metric direction", () => {
    expect(verdict({ ...base, difference: 2, ci: [0.5, 3.5], higherIsBetter: true })).toBe("better");
    expect(verdict({ ...base, difference: -1, ci: [-2, -0.2], higherIsBetter: false })).toBe("better");
  });

  it("worse only beyond the margin", () => {
    expect(verdict({ ...base, difference: -2, ci: [-3, -1], higherIsBetter: true, margin: 0.5 })).toBe("worse");
    expect(verdict({ ...base, difference: 1.5, ci: [1, 2], higherIsBetter: false, margin: 0.5 })).toBe("worse");
    // Significant regression but inside the tolerated margin (strictly beyond is required).
    expect(verdict({ ...base, difference: -0.4, ci: [-0.6, -0.2], higherIsBetter: true, margin: 0.5 })).toBe("inconclusive");
    expect(verdict({ ...base, difference: -2, ci: [-3, -1], higherIsBetter: true, margin: 1 })).toBe("inconclusive");
  });

  it("inconclusive without significance or with an interval crossing 0", () => {
    expect(verdict({ ...base, difference: 2, ci: [0.5, 3.5], higherIsBetter: true, pAdjusted: 0.2 })).toBe("inconclusive");
    expect(verdict({ ...base, difference: 2, ci: [-0.5, 3.5], higherIsBetter: true })).toBe("inconclusive");
    expect(verdict({ ...base, difference: 2, ci: [0.5, 3.5], higherIsBetter: true, pAdjusted: 0.03, alpha: 0.01 })).toBe("inconclusive");
    expect(verdict({ ...base, difference: 2, ci: [0.5, 3.5], higherIsBetter: true, pAdjusted: 0.05 })).toBe("inconclusive");
  });

  it("rejects a negative margin or an inverted interval", () => {
    expect(() => verdict({ ...base, difference: 1, ci: [0, 2], higherIsBetter: true, margin: -1 })).toThrow(/margin/);
    expect(() => verdict({ ...base, difference: 1, ci: [2, 0], higherIsBetter: true })).toThrow(/low <= high/);
  });
});

describe("seedSpread", () => {
  it("mean, sample sd, range", () => {
    // Deviations ±1.5, ±0.5: Σ² = 5, sd = sqrt(5/3).
    const s = seedSpread([1, 4, 2, 3]);
    expect(s).toMatchObject({ mean: 2.5, min: 1, max: 4, n: 4 });
    expect(s.sd).toBeCloseTo(1.2909944487358056, 15);
    expect(seedSpread([7]).sd).toBeNaN();
    expect(() => seedSpread([])).toThrow(/no values/);
  });
});
